import { RewarddError } from '../core/errors.js';
import type { StepRecord } from '../core/records.js';
import { BATCH_SCHEMA, BATCH_SCHEMA_V1, BYTES, COLUMNS, COLUMNS_V1, columnsOf, rowWidth, type ColumnType, type StepBatch } from './batch.js';

/**
 * Wire format of a step batch (docs/records.md has the byte layout):
 *
 *   "RWS1" | u32 LE header length H | H bytes of UTF-8 JSON header | zero pad to 8
 *   | columns, each little-endian, each starting 8-aligned, in COLUMNS order
 *
 * Columns of raw typed arrays keep encode+decode in microseconds and the size
 * near the information content (~28 kB for 100 steps of 48 floats), and any
 * language reads them with a JSON parser and a frombuffer. The JSON header
 * makes every batch self-describing, so a recorder that joins mid-episode can
 * still decode it.
 *
 * Versions: `rewardd.steps/2` added the obsRaw column after obs. `/1` batches
 * still decode, with obsRaw absent; a batch without obsRaw (one decoded from
 * `/1`) encodes as `/1` again, so re-encoding never invents raw values.
 */
const MAGIC = [0x52, 0x57, 0x53, 0x31]; // "RWS1"
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('rewardd step batches assume a little-endian host');
}

interface BatchHeader {
  schema: typeof BATCH_SCHEMA | typeof BATCH_SCHEMA_V1;
  episode: string;
  robot: string;
  seq0: number;
  count: number;
  rewardVersion: string;
  termNames: string[];
  observationNames: string[];
  actionNames: string[];
  rewardReasons: Array<[number, string]>;
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeStepBatch(b: StepBatch): Uint8Array {
  const columns = b.obsRaw ? COLUMNS : COLUMNS_V1;
  const header: BatchHeader = {
    schema: b.obsRaw ? BATCH_SCHEMA : BATCH_SCHEMA_V1,
    episode: b.episode,
    robot: b.robot,
    seq0: b.seq0,
    count: b.count,
    rewardVersion: b.rewardVersion,
    termNames: b.termNames,
    observationNames: b.observationNames,
    actionNames: b.actionNames,
    rewardReasons: b.rewardReasons,
  };
  const headerBytes = textEncoder.encode(JSON.stringify(header));
  const shape = { obs: b.observationNames.length, actions: b.actionNames.length, terms: b.termNames.length };
  let size = align8(8 + headerBytes.length);
  for (const [, type, width] of columns) size += align8(b.count * rowWidth(width, shape) * BYTES[type]);
  // Uninitialised memory, every byte of which is written below (padding explicitly zeroed): a
  // zero-filled 54 KiB buffer cost ~12 µs here against ~2 µs, half of a batch's encode time.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, headerBytes.length, true);
  out.set(headerBytes, 8);
  let at = align8(8 + headerBytes.length);
  out.fill(0, 8 + headerBytes.length, at);
  for (const [name, type, width] of columns) {
    const n = b.count * rowWidth(width, shape);
    const col = b[name] as NonNullable<StepBatch[typeof name]>;
    if (col.length < n) throw new RewarddError('E_BATCH', `column ${name}: expected at least ${n} values, found ${col.length}`);
    out.set(new Uint8Array(col.buffer, col.byteOffset, n * BYTES[type]), at);
    const end = at + n * BYTES[type];
    at = align8(end);
    out.fill(0, end, at);
  }
  return out;
}

function column(type: ColumnType, buf: ArrayBuffer, offset: number, n: number) {
  switch (type) {
    case 'i64':
      return new BigInt64Array(buf, offset, n);
    case 'f64':
      return new Float64Array(buf, offset, n);
    case 'f32':
      return new Float32Array(buf, offset, n);
    case 'u16':
      return new Uint16Array(buf, offset, n);
    case 'u8':
      return new Uint8Array(buf, offset, n);
  }
}

function fail(msg: string): never {
  throw new RewarddError('E_BATCH', msg);
}

/** Decodes a batch. The columns are copied once into one aligned buffer, so the input may be any byte view. */
export function decodeStepBatch(bytes: Uint8Array): StepBatch {
  if (bytes.length < 8) fail(`expected at least 8 bytes, found ${bytes.length}`);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC[i]) fail(`expected magic "RWS1", found bytes ${Array.from(bytes.subarray(0, 4)).join(',')}`);
  }
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + hlen > bytes.length) fail(`header length ${hlen} exceeds the ${bytes.length}-byte batch`);
  let h: BatchHeader;
  try {
    h = JSON.parse(textDecoder.decode(bytes.subarray(8, 8 + hlen))) as BatchHeader;
  } catch (e) {
    fail(`header is not JSON: ${(e as Error).message}`);
  }
  const columns = columnsOf(h.schema) ?? fail(`expected schema ${BATCH_SCHEMA} (or ${BATCH_SCHEMA_V1}), found ${String(h.schema)}`);
  if (!Number.isInteger(h.count) || h.count < 0) fail(`expected a non-negative integer count, found ${String(h.count)}`);
  const start = align8(8 + hlen);
  // One aligned copy of the column area: a view into an MQTT packet is rarely 8-aligned.
  // (Not bytes.slice: on a Node Buffer that is a view, not a copy.)
  const body = new Uint8Array(bytes.length - start);
  body.set(bytes.subarray(start));
  const shape = { obs: h.observationNames.length, actions: h.actionNames.length, terms: h.termNames.length };
  const cols: Record<string, unknown> = {};
  let at = 0;
  for (const [name, type, width] of columns) {
    const n = h.count * rowWidth(width, shape);
    if (at + n * BYTES[type] > body.length) fail(`column ${name}: expected ${n * BYTES[type]} bytes at ${start + at}, batch has ${bytes.length}`);
    cols[name] = column(type, body.buffer, at, n);
    at += align8(n * BYTES[type]);
  }
  return { ...h, ...(cols as Pick<StepBatch, (typeof COLUMNS)[number][0]>) };
}

/** Iterates a batch as plain step records (allocates per row: for tools, not for the hot path). */
export function* batchSteps(b: StepBatch): Generator<StepRecord> {
  const no = b.observationNames.length;
  const na = b.actionNames.length;
  const nt = b.termNames.length;
  const reasons = new Map(b.rewardReasons);
  for (let i = 0; i < b.count; i++) {
    const terms: Record<string, number> = {};
    for (let k = 0; k < nt; k++) terms[b.termNames[k]!] = b.rewardTerms[i * nt + k]!;
    const reason = reasons.get(i);
    yield {
      episode: b.episode,
      seq: b.seq0 + i,
      tNs: b.tNs[i]!,
      wallMs: b.wallMs[i]!,
      obsTNs: b.obsTNs[i]!,
      obs: b.obs.slice(i * no, (i + 1) * no),
      ...(b.obsRaw ? { obsRaw: b.obsRaw.slice(i * no, (i + 1) * no) } : {}),
      actionCommanded: b.actionCommanded.slice(i * na, (i + 1) * na),
      actionApplied: b.actionApplied.slice(i * na, (i + 1) * na),
      safety: b.safety[i]!,
      flags: b.flags[i]!,
      rewardVersion: b.rewardVersion,
      rewardStatus: b.rewardStatus[i]!,
      rewardTotal: b.rewardTotal[i]!,
      rewardTerms: terms,
      ...(reason !== undefined ? { rewardReason: reason } : {}),
    };
  }
}
