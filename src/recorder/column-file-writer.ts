import { closeSync, fstatSync, openSync, renameSync, unlinkSync, writevSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { EpisodeStart } from '../core/records.js';
import { RewarddError } from '../core/errors.js';
import {
  CHUNK_ALIGN, COLUMN_FILE_MAGIC, COLUMN_FILE_SCHEMA, COLUMN_SPECS, TYPE_BYTES, alignUp,
  type ColumnFileBlock, type ColumnFileFooter, type ColumnFileSegment, type NumericColumn,
} from './column-file.js';

/**
 * Writes a columns file (column-file.ts) from rows that arrive in seq order:
 * the recorder's decoded step batches while it writes the MCAP file, or an
 * episode already read into columns (the lazy copy made by a first relabel).
 * Rows whose seq is below the next expected one are skipped, the rule of the
 * MCAP writer, so both files hold the same steps.
 *
 * Memory bound: one block, BLOCK_BYTES (1 MiB) of fixed-width columns plus
 * its terms and reasons. Writes are synchronous, one writev per block (a
 * millisecond or so); the file is written under a temporary name and renamed.
 */
export const BLOCK_BYTES = 1024 * 1024;

/** A run of rows under one reward version: a StepBatch is one, a logged segment of an episode is another. */
export interface ColumnRows {
  count: number;
  /** Seq of each row (StepBatch: seq0 + row). */
  seqAt: (row: number) => number;
  tNs: BigInt64Array;
  obsTNs: BigInt64Array;
  wallMs: Float64Array;
  flags: Uint8Array;
  safety: Uint16Array;
  obs: Float32Array;
  obsRaw?: Float32Array | undefined;
  actionCommanded: Float32Array;
  actionApplied: Float32Array;
  rewardStatus: Uint8Array;
  rewardTotal: Float64Array;
  rewardVersion: string;
  termNames: readonly string[];
  /** count × termNames.length. */
  rewardTerms: Float64Array;
  /** Reason of a failed row, by row. */
  reasonAt: (row: number) => string | undefined;
}

const zeros = new Uint8Array(CHUNK_ALIGN);
const te = new TextEncoder();
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class ColumnFileWriter {
  private readonly tmp: string;
  private fd: number;
  private pos = 0;
  private nextSeq = -1;
  private count = 0;
  private readonly rowsPerBlock: number;
  private readonly width: Record<NumericColumn, number>;
  private readonly cols = new Map<NumericColumn, Uint8Array>();
  private terms = new Float64Array(0);
  private nTerms = 0;
  private rows = 0;
  private reasons: Array<[number, string]> = [];
  private readonly blocks: ColumnFileBlock[] = [];
  private readonly segments: ColumnFileSegment[] = [];

  constructor(
    readonly path: string,
    private readonly shape: { episode: string; robot: string; observationNames: readonly string[]; actionNames: readonly string[]; raw: boolean },
  ) {
    const no = shape.observationNames.length;
    const na = shape.actionNames.length;
    this.width = Object.fromEntries(COLUMN_SPECS.map((c) => [c.name, c.width === 'one' ? 1 : c.width === 'obs' ? no : c.width === 'actions' ? na : 0])) as Record<NumericColumn, number>;
    if (!shape.raw) this.width.obsRaw = 0;
    let rowBytes = 0;
    for (const c of COLUMN_SPECS) rowBytes += this.width[c.name] * TYPE_BYTES[c.type];
    this.rowsPerBlock = Math.max(64, Math.floor(BLOCK_BYTES / Math.max(1, rowBytes)));
    for (const c of COLUMN_SPECS) if (c.width !== 'terms' && this.width[c.name] > 0) this.cols.set(c.name, new Uint8Array(this.rowsPerBlock * this.width[c.name] * TYPE_BYTES[c.type]));
    this.tmp = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.tmp, 'w');
    const head = new Uint8Array(CHUNK_ALIGN);
    head.set(te.encode(COLUMN_FILE_MAGIC), 0);
    this.write([head]);
  }

  /** Appends rows [from, to) of `r`, skipping rows already written. */
  append(r: ColumnRows, from = 0, to = r.count): void {
    if ((r.obsRaw !== undefined) !== this.shape.raw) throw new RewarddError('E_STORE', `columns file ${this.path}: expected ${this.shape.raw ? '' : 'no '}raw values in every row, found a batch ${r.obsRaw ? 'with' : 'without'}`);
    let row = from;
    while (row < to) {
      if (r.seqAt(row) < this.nextSeq) {
        row++;
        continue;
      }
      // A run of rows with rising seq, cut at the block's end: copied column by column.
      let end = row + 1;
      while (end < to && end - row < this.rowsPerBlock - this.rows && r.seqAt(end) > r.seqAt(end - 1)) end++;
      this.copyRun(r, row, end);
      row = end;
      if (this.rows === this.rowsPerBlock) this.flush();
    }
  }

  private copyRun(r: ColumnRows, from: number, to: number): void {
    const n = to - from;
    const at = this.rows;
    const seq = new Uint32Array(this.cols.get('seq')!.buffer);
    for (let i = 0; i < n; i++) seq[at + i] = r.seqAt(from + i);
    const put = (name: NumericColumn, src: Float32Array | Float64Array | BigInt64Array | Uint8Array | Uint16Array, w: number): void => {
      const dst = this.cols.get(name);
      if (dst && w > 0) dst.set(bytesOf(src.subarray(from * w, to * w)), at * w * src.BYTES_PER_ELEMENT);
    };
    put('tNs', r.tNs, 1);
    put('obsTNs', r.obsTNs, 1);
    put('wallMs', r.wallMs, 1);
    put('flags', r.flags, 1);
    put('safety', r.safety, 1);
    put('obs', r.obs, this.width.obs);
    if (r.obsRaw) put('obsRaw', r.obsRaw, this.width.obsRaw);
    put('actionCommanded', r.actionCommanded, this.width.actionCommanded);
    put('actionApplied', r.actionApplied, this.width.actionApplied);
    put('rewardStatus', r.rewardStatus, 1);
    put('rewardTotal', r.rewardTotal, 1);
    const nt = r.termNames.length;
    if (this.nTerms + n * nt > this.terms.length) {
      const grown = new Float64Array(Math.max(this.terms.length * 2, this.nTerms + n * nt, this.rowsPerBlock * nt));
      grown.set(this.terms.subarray(0, this.nTerms));
      this.terms = grown;
    }
    this.terms.set(r.rewardTerms.subarray(from * nt, to * nt), this.nTerms);
    this.nTerms += n * nt;
    for (let i = from; i < to; i++) {
      const why = r.reasonAt(i);
      if (why !== undefined) this.reasons.push([this.count + (i - from), why]);
    }
    const last = this.segments[this.segments.length - 1];
    if (last && last.version === r.rewardVersion && last.termNames.join('\u0000') === r.termNames.join('\u0000') && last.to === this.count) last.to += n;
    else this.segments.push({ version: r.rewardVersion, termNames: [...r.termNames], from: this.count, to: this.count + n });
    this.rows += n;
    this.count += n;
    this.nextSeq = r.seqAt(to - 1) + 1;
  }

  private flush(): void {
    if (this.rows === 0) return;
    const block: ColumnFileBlock = { rows: this.rows, chunks: {} };
    const parts: Uint8Array[] = [];
    let at = this.pos;
    const chunk = (name: keyof ColumnFileBlock['chunks'], data: Uint8Array): void => {
      block.chunks[name] = [at, data.length, crc32(data) >>> 0];
      const padded = alignUp(data.length);
      parts.push(data);
      if (padded > data.length) parts.push(zeros.subarray(0, padded - data.length));
      at += padded;
    };
    for (const c of COLUMN_SPECS) {
      if (c.name === 'rewardTerms') chunk(c.name, bytesOf(this.terms.subarray(0, this.nTerms)));
      else if (this.width[c.name] > 0) chunk(c.name, this.cols.get(c.name)!.subarray(0, this.rows * this.width[c.name] * TYPE_BYTES[c.type]));
    }
    chunk('reasons', te.encode(JSON.stringify(this.reasons)));
    this.write(parts);
    this.blocks.push(block);
    this.rows = 0;
    this.nTerms = 0;
    this.reasons = [];
  }

  private write(parts: Uint8Array[]): void {
    let left = parts.reduce((a, p) => a + p.length, 0);
    while (left > 0) {
      const n = writevSync(this.fd, parts, this.pos);
      this.pos += n;
      left -= n;
      if (left > 0) parts = dropBytes(parts, n);
    }
  }

  /** Writes the footer and renames the file into place. Returns its size in bytes. */
  finish(start: EpisodeStart | undefined, source: ColumnFileFooter['source']): number {
    this.flush();
    const footer: ColumnFileFooter = {
      schema: COLUMN_FILE_SCHEMA,
      episode: this.shape.episode,
      robot: this.shape.robot,
      count: this.count,
      observationNames: [...this.shape.observationNames],
      actionNames: [...this.shape.actionNames],
      raw: this.shape.raw,
      start: start ?? null,
      source,
      segments: this.segments,
      blocks: this.blocks,
    };
    const body = te.encode(JSON.stringify(footer));
    const tail = new Uint8Array(16);
    const v = new DataView(tail.buffer);
    v.setUint32(0, body.length, true);
    v.setUint32(4, crc32(body) >>> 0, true);
    tail.set(te.encode(COLUMN_FILE_MAGIC), 12);
    this.write([body, tail]);
    const size = fstatSync(this.fd).size;
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
    return size;
  }

  /** Removes the temporary file (a failed write). */
  discard(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.tmp);
    } catch {
      /* already gone */
    }
  }
}

function dropBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (n >= p.length) n -= p.length;
    else {
      out.push(p.subarray(n));
      n = 0;
    }
  }
  return out;
}

