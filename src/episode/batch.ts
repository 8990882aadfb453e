/**
 * A batch of consecutive steps of one episode, stored column by column: the
 * unit that is encoded, written to the outbox and published on
 * `episodes/<episode>/steps`. A batch never spans two reward versions (the
 * batcher flushes on a version change), so its term columns have one shape.
 */
export const BATCH_SCHEMA = 'rewardd.steps/2';
/** The previous schema: the same columns without obsRaw. Still decoded (obsRaw is then absent). */
export const BATCH_SCHEMA_V1 = 'rewardd.steps/1';

export interface StepBatch {
  episode: string;
  robot: string;
  /** Sequence number (step index in the episode) of the first row. */
  seq0: number;
  count: number;
  rewardVersion: string;
  termNames: string[];
  observationNames: string[];
  actionNames: string[];
  tNs: BigInt64Array;
  wallMs: Float64Array;
  obsTNs: BigInt64Array;
  /** count × observationNames.length, row-major. */
  obs: Float32Array;
  /**
   * count × observationNames.length, row-major: the raw (uncalibrated) observation,
   * float32-rounded, what ctx.raw reads. Absent only in batches decoded from
   * `rewardd.steps/1`, which predate it (never NaN-filled: a missing value is not a number).
   */
  obsRaw?: Float32Array;
  /** count × actionNames.length, row-major. */
  actionCommanded: Float32Array;
  actionApplied: Float32Array;
  safety: Uint16Array;
  flags: Uint8Array;
  rewardStatus: Uint8Array;
  rewardTotal: Float64Array;
  /** count × termNames.length, row-major; NaN where the step failed. */
  rewardTerms: Float64Array;
  /** Reasons of failed steps, as [row, reason]. Bounded by count. */
  rewardReasons: Array<[number, string]>;
}

/** Column names, their element types and widths per row; the order is the wire order. */
export const COLUMNS = [
  ['tNs', 'i64', 'one'],
  ['obsTNs', 'i64', 'one'],
  ['wallMs', 'f64', 'one'],
  ['rewardTotal', 'f64', 'one'],
  ['rewardTerms', 'f64', 'terms'],
  ['obs', 'f32', 'obs'],
  ['obsRaw', 'f32', 'obs'],
  ['actionCommanded', 'f32', 'actions'],
  ['actionApplied', 'f32', 'actions'],
  ['safety', 'u16', 'one'],
  ['flags', 'u8', 'one'],
  ['rewardStatus', 'u8', 'one'],
] as const;

/** `rewardd.steps/1` columns: the same, without obsRaw. */
export const COLUMNS_V1 = COLUMNS.filter(([name]) => name !== 'obsRaw');

/** The wire columns of a schema this version can decode; undefined for any other schema. */
export function columnsOf(schema: unknown): ReadonlyArray<(typeof COLUMNS)[number]> | undefined {
  if (schema === BATCH_SCHEMA) return COLUMNS;
  if (schema === BATCH_SCHEMA_V1) return COLUMNS_V1;
  return undefined;
}

export type ColumnName = (typeof COLUMNS)[number][0];
export type ColumnType = (typeof COLUMNS)[number][1];
export type ColumnWidth = (typeof COLUMNS)[number][2];

export const BYTES: Record<ColumnType, number> = { i64: 8, f64: 8, f32: 4, u16: 2, u8: 1 };

export function rowWidth(width: ColumnWidth, shape: { obs: number; actions: number; terms: number }): number {
  return width === 'one' ? 1 : shape[width];
}
