import { closeSync, mkdirSync, openSync, unlinkSync, writevSync } from 'node:fs';
import { dirname } from 'node:path';
import { RewarddError } from '../core/errors.js';
import type { RelabelResult } from './relabel-episode.js';
import { replaceFile } from './replace-file.js';

/**
 * A relabel result on disk (`rewardd.relabel/1`), laid out like a step batch
 * (docs/records.md) so the same few lines of numpy read it:
 *
 *   "RWR1" | u32 LE header length H | H bytes UTF-8 JSON header | zero pad to 8
 *   | status u8[count] | success u8[count] | done u8[count]      (each padded to 8)
 *   | seq u32[count] | total f64[count] | terms f64[count × nTerms]
 *
 * Header: {schema, episode, rewardVersion, termNames, count, reasons: [[row, text]]}.
 * The file holds only what the reward produced; observations and actions stay
 * in the original episode file, which is never rewritten.
 */
export const RELABEL_SCHEMA = 'rewardd.relabel/1';
const MAGIC = [0x52, 0x57, 0x52, 0x31]; // "RWR1"
const align8 = (n: number): number => (n + 7) & ~7;
const te = new TextEncoder();
const td = new TextDecoder();

interface Header {
  schema: typeof RELABEL_SCHEMA;
  episode: string;
  rewardVersion: string;
  termNames: string[];
  count: number;
  reasons: Array<[number, string]>;
}

export function encodeRelabelResult(r: RelabelResult, seq: Uint32Array): Uint8Array {
  const h: Header = { schema: RELABEL_SCHEMA, episode: r.episode, rewardVersion: r.rewardVersion, termNames: r.termNames, count: r.count, reasons: [...r.reasons] };
  const hb = te.encode(JSON.stringify(h));
  const n = r.count;
  const cols: ArrayBufferView[] = [r.status.subarray(0, n), r.success.subarray(0, n), r.done.subarray(0, n), seq.subarray(0, n), r.total.subarray(0, n), r.terms.subarray(0, n * r.termNames.length)];
  let size = align8(8 + hb.length);
  for (const c of cols) size += align8(c.byteLength);
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, hb.length, true);
  out.set(hb, 8);
  let at = align8(8 + hb.length);
  for (const c of cols) {
    out.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += align8(c.byteLength);
  }
  return out;
}

/**
 * Writes the same bytes as encodeRelabelResult straight from the columns (one
 * writev, no copy into one big buffer), under a temporary name, then renamed
 * over the old result (replaceFile).
 * Not fsynced: a result is derived data, a lost or torn one is computed again
 * (decodeRelabelResult and RelabelStore.load check its size).
 */
export function writeRelabelResultFile(path: string, r: RelabelResult, seq: Uint32Array): number {
  const h: Header = { schema: RELABEL_SCHEMA, episode: r.episode, rewardVersion: r.rewardVersion, termNames: r.termNames, count: r.count, reasons: [...r.reasons] };
  const hb = te.encode(JSON.stringify(h));
  const n = r.count;
  const head = new Uint8Array(align8(8 + hb.length));
  head.set(MAGIC, 0);
  new DataView(head.buffer).setUint32(4, hb.length, true);
  head.set(hb, 8);
  const parts: Uint8Array[] = [head];
  const pad = new Uint8Array(8);
  for (const c of [r.status.subarray(0, n), r.success.subarray(0, n), r.done.subarray(0, n), seq.subarray(0, n), r.total.subarray(0, n), r.terms.subarray(0, n * r.termNames.length)]) {
    parts.push(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    if (align8(c.byteLength) > c.byteLength) parts.push(pad.subarray(0, align8(c.byteLength) - c.byteLength));
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let size = 0;
  try {
    // IOV_MAX is 1024 on Linux: a few hundred parts per call at most.
    for (let i = 0; i < parts.length; i += 512) {
      const batch = parts.slice(i, i + 512);
      const want = batch.reduce((a, p) => a + p.length, 0);
      const wrote = writevSync(fd, batch, size);
      if (wrote !== want) throw new RewarddError('E_STORE', `${tmp}: expected to write ${want} bytes, wrote ${wrote}`);
      size += wrote;
    }
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  // A re-run of the same version replaces the file: the old one is freed off this thread (replace-file.ts).
  replaceFile(tmp, path);
  return size;
}

export function decodeRelabelResult(bytes: Uint8Array): { result: RelabelResult; seq: Uint32Array } {
  const fail = (m: string): never => {
    throw new RewarddError('E_STORE', `relabel result: ${m}`);
  };
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) fail('expected magic "RWR1"');
  const hl = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + hl > bytes.length) fail(`header length ${hl} exceeds the ${bytes.length}-byte file`);
  const h = JSON.parse(td.decode(bytes.subarray(8, 8 + hl))) as Header;
  if (h.schema !== RELABEL_SCHEMA) fail(`expected schema ${RELABEL_SCHEMA}, found ${String(h.schema)}`);
  const n = h.count;
  const nt = h.termNames.length;
  const start = align8(8 + hl);
  const body = new Uint8Array(bytes.length - start);
  body.set(bytes.subarray(start)); // aligned copy: typed views need aligned offsets
  let at = 0;
  const take = <T>(len: number, make: (b: ArrayBuffer, o: number, l: number) => T, width: number): T => {
    if (at + len * width > body.length) fail(`expected ${len * width} bytes at ${start + at}, file has ${bytes.length}`);
    const v = make(body.buffer, at, len);
    at += align8(len * width);
    return v;
  };
  const status = take(n, (b, o, l) => new Uint8Array(b, o, l), 1);
  const success = take(n, (b, o, l) => new Uint8Array(b, o, l), 1);
  const done = take(n, (b, o, l) => new Uint8Array(b, o, l), 1);
  const seq = take(n, (b, o, l) => new Uint32Array(b, o, l), 4);
  const total = take(n, (b, o, l) => new Float64Array(b, o, l), 8);
  const terms = take(n * nt, (b, o, l) => new Float64Array(b, o, l), 8);
  if (start + at !== bytes.length) fail(`expected ${start + at} bytes for ${n} steps, found ${bytes.length}`);
  return { result: { episode: h.episode, rewardVersion: h.rewardVersion, termNames: h.termNames, count: n, status, total, terms, success, done, reasons: new Map(h.reasons) }, seq };
}
