import type { EpisodeStart } from '../core/records.js';

/**
 * The columnar copy of a finished episode (`<episode>.columns` beside its
 * `<episode>.mcap`): the same steps as the MCAP file, laid out so that a
 * relabel reads each column it needs with one positional read per block into
 * its own typed array, with no per-message decoding (docs/relabel.md says why
 * this and not Arrow or Parquet).
 *
 *   "RWC1" | u32 LE 0 (reserved)
 *   blocks: for each block of up to `rowsPerBlock` rows, one chunk per column,
 *           each chunk starting at a multiple of 64 bytes
 *   footer: UTF-8 JSON (ColumnFileFooter)
 *   tail:   u32 LE footer length | u32 LE CRC-32 of the footer | u32 LE 0 | "RWC1"
 *
 * Every chunk's CRC-32 is in the footer and is checked when the chunk is read;
 * the footer's own CRC is in the tail. The file names the MCAP file it was made
 * from (size and mtime), so a rewritten MCAP file makes it stale.
 */
export const COLUMN_FILE_SCHEMA = 'rewardd.columns/1';
export const COLUMN_FILE_EXT = '.columns';
export const COLUMN_FILE_MAGIC = 'RWC1';
export const HEAD_BYTES = 8;
export const TAIL_BYTES = 16;
/** Chunk alignment: typed-array and numpy views need 8, SIMD loops like 64. */
export const CHUNK_ALIGN = 64;

export type NpyType = '<u4' | '<i8' | '<f8' | '|u1' | '<u2' | '<f4';
export const TYPE_BYTES: Record<NpyType, 1 | 2 | 4 | 8> = { '<u4': 4, '<i8': 8, '<f8': 8, '|u1': 1, '<u2': 2, '<f4': 4 };

/**
 * The columns, in file order. Width: values per row ('terms' is the row's own
 * reward segment's term count, so that column's chunk is Σ of those). `reasons`
 * is not numeric: its chunk is the JSON text of [row, reason] pairs of the block.
 */
export const COLUMN_SPECS = [
  { name: 'seq', type: '<u4', width: 'one' },
  { name: 'tNs', type: '<i8', width: 'one' },
  { name: 'obsTNs', type: '<i8', width: 'one' },
  { name: 'wallMs', type: '<f8', width: 'one' },
  { name: 'flags', type: '|u1', width: 'one' },
  { name: 'safety', type: '<u2', width: 'one' },
  { name: 'obs', type: '<f4', width: 'obs' },
  { name: 'obsRaw', type: '<f4', width: 'obs' },
  { name: 'actionCommanded', type: '<f4', width: 'actions' },
  { name: 'actionApplied', type: '<f4', width: 'actions' },
  { name: 'rewardStatus', type: '|u1', width: 'one' },
  { name: 'rewardTotal', type: '<f8', width: 'one' },
  { name: 'rewardTerms', type: '<f8', width: 'terms' },
] as const;

export type NumericColumn = (typeof COLUMN_SPECS)[number]['name'];
export type ColumnName = NumericColumn | 'reasons';

export interface ColumnFileSegment {
  /** The reward version these rows were logged under. */
  version: string;
  termNames: string[];
  /** Rows [from, to). */
  from: number;
  to: number;
}

export interface ColumnFileBlock {
  rows: number;
  /** Column name → [offset, bytes, crc32] of its chunk in this block. */
  chunks: Partial<Record<ColumnName, [number, number, number]>>;
}

export interface ColumnFileFooter {
  schema: typeof COLUMN_FILE_SCHEMA;
  episode: string;
  robot: string;
  count: number;
  observationNames: string[];
  actionNames: string[];
  /** Whether obsRaw is present (episodes logged as rewardd.steps/2 and later). */
  raw: boolean;
  start: EpisodeStart | null;
  /** The MCAP file this copy was made from: its base name, size and mtime (ns, as a decimal string). */
  source: { file: string; size: number; mtimeNs: string } | null;
  segments: ColumnFileSegment[];
  blocks: ColumnFileBlock[];
}

/** Why a columns file cannot be used (the caller reads the MCAP file instead and says so). */
export class ColumnFileUnusable extends Error {
  constructor(
    readonly kind: 'missing' | 'damaged' | 'stale',
    message: string,
  ) {
    super(message);
  }
}

export const alignUp = (n: number, a = CHUNK_ALIGN): number => Math.ceil(n / a) * a;

/** The columns file path for an episode file: same folder, same name, `.columns`. */
export const columnFileFor = (mcapFile: string): string => mcapFile.replace(/\.mcap$/i, '') + COLUMN_FILE_EXT;

export function columnWidth(width: 'one' | 'obs' | 'actions' | 'terms', shape: { obs: number; actions: number }): number {
  return width === 'one' ? 1 : width === 'obs' ? shape.obs : width === 'actions' ? shape.actions : NaN;
}
