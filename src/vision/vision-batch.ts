/**
 * A vision batch: the embedding records (and the prompt sets they reference)
 * of one episode, published on <prefix>/<robot>/episodes/<episode>/vision
 * (QoS 1, through the outbox like steps) and written to the episode's MCAP.
 *
 *   "RWV1" | u32 LE header length H | H bytes of UTF-8 JSON header | zero pad to 8
 *   | embeddings: count × embeddingSize float32 LE | JPEG bytes, concatenated
 *
 * Header: { schema, episode, robot, index, embeddingSize, kinds, prompts: PromptSetRecord[],
 *           records: [{ seq, frameSeq, tNs, encodeMs, prompts, values, jpegBytes }] }
 */
import { RewarddError } from '../core/errors.js';
import type { PromptSetRecord } from './prompt-set.js';

export const VISION_BATCH_SCHEMA = 'rewardd.vision-batch/1';
const MAGIC = [0x52, 0x57, 0x56, 0x31]; // "RWV1"

export interface LoggedRecord {
  seq: number;
  frameSeq: number;
  tNs: bigint;
  encodeMs: number;
  /** Id of the prompt set that scored it. */
  prompts: string;
  /** Score fields as the tick received them (float32-exact). */
  values: number[];
  embedding: Float32Array;
  jpeg: Uint8Array | null;
}

export interface VisionBatch {
  episode: string;
  robot: string;
  /** Index of this batch in its episode (0, 1, ...): the recorder's key. */
  index: number;
  embeddingSize: number;
  kinds: string[];
  prompts: PromptSetRecord[];
  records: LoggedRecord[];
}

const align8 = (n: number): number => (n + 7) & ~7;

export function encodeVisionBatch(b: VisionBatch): Uint8Array {
  const header = {
    schema: VISION_BATCH_SCHEMA,
    episode: b.episode,
    robot: b.robot,
    index: b.index,
    embeddingSize: b.embeddingSize,
    kinds: b.kinds,
    prompts: b.prompts,
    records: b.records.map((r) => ({ seq: r.seq, frameSeq: r.frameSeq, tNs: r.tNs.toString(), encodeMs: r.encodeMs, prompts: r.prompts, values: r.values, jpegBytes: r.jpeg?.length ?? 0 })),
  };
  const h = new TextEncoder().encode(JSON.stringify(header));
  const E = b.embeddingSize;
  const embAt = align8(8 + h.length);
  const jpegs = b.records.reduce((n, r) => n + (r.jpeg?.length ?? 0), 0);
  const out = new Uint8Array(embAt + b.records.length * E * 4 + jpegs);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, h.length, true);
  out.set(h, 8);
  const emb = new Float32Array(out.buffer, embAt, b.records.length * E);
  b.records.forEach((r, i) => emb.set(r.embedding.subarray(0, E), i * E));
  let o = embAt + b.records.length * E * 4;
  for (const r of b.records) {
    if (!r.jpeg) continue;
    out.set(r.jpeg, o);
    o += r.jpeg.length;
  }
  return out;
}

export function decodeVisionBatch(bytes: Uint8Array): VisionBatch {
  const bad = (m: string): never => {
    throw new RewarddError('E_BATCH', `vision batch: ${m}`);
  };
  if (bytes.length < 8 || MAGIC.some((v, i) => bytes[i] !== v)) bad('expected a batch starting with "RWV1"');
  const hl = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + hl > bytes.length) bad(`header length ${hl} exceeds the ${bytes.length}-byte batch`);
  let h: { schema: string; episode: string; robot: string; index: number; embeddingSize: number; kinds: string[]; prompts: PromptSetRecord[]; records: { seq: number; frameSeq: number; tNs: string; encodeMs: number; prompts: string; values: number[]; jpegBytes: number }[] };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hl))) as typeof h;
  } catch (e) {
    return bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (h.schema !== VISION_BATCH_SCHEMA) bad(`expected schema ${VISION_BATCH_SCHEMA}, found ${String(h.schema)}`);
  if (typeof h.episode !== 'string' || !Number.isSafeInteger(h.index) || h.index < 0 || !Number.isSafeInteger(h.embeddingSize) || h.embeddingSize < 1 || !Array.isArray(h.records)) bad('expected episode, index, embeddingSize and records in the header');
  const E = h.embeddingSize;
  const embAt = align8(8 + hl);
  const jpegTotal = h.records.reduce((n, r) => n + (r.jpegBytes ?? 0), 0);
  if (bytes.length !== embAt + h.records.length * E * 4 + jpegTotal) bad(`expected ${embAt + h.records.length * E * 4 + jpegTotal} bytes for ${h.records.length} records, found ${bytes.length}`);
  const buf = new Uint8Array(bytes.length - embAt); // an aligned copy for the Float32Array views (a Buffer's slice is a view)
  buf.set(bytes.subarray(embAt));
  let o = h.records.length * E * 4;
  const records = h.records.map((r, i): LoggedRecord => {
    const jpeg = r.jpegBytes > 0 ? buf.slice(o, o + r.jpegBytes) : null;
    o += r.jpegBytes;
    return { seq: r.seq, frameSeq: r.frameSeq, tNs: BigInt(r.tNs), encodeMs: r.encodeMs, prompts: r.prompts, values: r.values, embedding: new Float32Array(buf.buffer, buf.byteOffset + i * E * 4, E), jpeg };
  });
  return { episode: h.episode, robot: h.robot, index: h.index, embeddingSize: E, kinds: h.kinds, prompts: h.prompts, records };
}

/** Recorder side: the batch key without decoding embeddings. */
export function peekVisionBatch(bytes: Uint8Array): { episode: string; index: number } {
  const b = decodeVisionBatch(bytes);
  return { episode: b.episode, index: b.index };
}
