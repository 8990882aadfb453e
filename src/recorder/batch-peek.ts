import { RewarddError } from '../core/errors.js';
import { BATCH_SCHEMA, BYTES, columnsOf, rowWidth } from '../episode/batch.js';

/**
 * What the recorder needs from a batch at ingest (episode, seq0, count) and a
 * check that its column area has the size the header promises, without the
 * aligned copy of every column that decodeStepBatch makes: the full decode
 * happens once, when the episode's file is written. Layout: docs/records.md
 * ("RWS1" | u32 LE header length | JSON header | columns, 8-aligned).
 */
export interface BatchHeaderPeek {
  episode: string;
  robot: string;
  seq0: number;
  count: number;
}

const align8 = (n: number): number => (n + 7) & ~7;
const td = new TextDecoder();

export function peekStepBatch(bytes: Uint8Array): BatchHeaderPeek {
  const bad = (m: string): never => {
    throw new RewarddError('E_BATCH', m);
  };
  if (bytes.length < 8 || bytes[0] !== 0x52 || bytes[1] !== 0x57 || bytes[2] !== 0x53 || bytes[3] !== 0x31) bad('expected a batch starting with "RWS1"');
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + hlen > bytes.length) bad(`header length ${hlen} exceeds the ${bytes.length}-byte batch`);
  let h: { schema?: unknown; episode?: unknown; robot?: unknown; seq0?: unknown; count?: unknown; observationNames?: unknown[]; actionNames?: unknown[]; termNames?: unknown[] };
  try {
    h = JSON.parse(td.decode(bytes.subarray(8, 8 + hlen))) as typeof h;
  } catch (e) {
    return bad(`header is not JSON: ${(e as Error).message}`);
  }
  // Batches of the previous schema (e.g. replayed from an old robot's outbox) are still stored.
  const columns = columnsOf(h.schema) ?? bad(`expected schema ${BATCH_SCHEMA} (or rewardd.steps/1), found ${String(h.schema)}`);
  if (typeof h.episode !== 'string' || typeof h.robot !== 'string') bad('expected episode and robot strings in the header');
  if (!Number.isSafeInteger(h.seq0) || (h.seq0 as number) < 0 || !Number.isSafeInteger(h.count) || (h.count as number) < 0) bad(`expected non-negative integer seq0 and count, found ${String(h.seq0)}, ${String(h.count)}`);
  if (!Array.isArray(h.observationNames) || !Array.isArray(h.actionNames) || !Array.isArray(h.termNames)) bad('expected name arrays in the header');
  const shape = { obs: h.observationNames!.length, actions: h.actionNames!.length, terms: h.termNames!.length };
  let size = align8(8 + hlen);
  for (const [, type, width] of columns) size += align8((h.count as number) * rowWidth(width, shape) * BYTES[type]);
  // The last column may end unpadded.
  if (bytes.length < size - 7 || bytes.length > size) bad(`expected ${size} bytes for ${String(h.count)} steps, found ${bytes.length}`);
  return { episode: h.episode as string, robot: h.robot as string, seq0: h.seq0 as number, count: h.count as number };
}
