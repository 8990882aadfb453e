import type { StepBatch } from '../episode/batch.js';

/**
 * Message layouts of an episode's MCAP file. They use the ros1msg encoding
 * because it is a packed little-endian layout Foxglove decodes natively: each
 * observation and action field becomes a named, plottable field, and encoding
 * a row is a handful of DataView writes. Channel metadata keeps the original
 * names (schema field names are sanitised to identifiers).
 *
 *   /observation  uint32 seq, int64 t_ns, int64 obs_t_ns, float64 wall_ms, uint8 flags, float32 <obs>...,
 *                 float32 raw_<obs>... (the raw, uncalibrated values; absent in files of
 *                 episodes logged as rewardd.steps/1; channel metadata raw = "true" when present)
 *   /action       uint32 seq, uint16 safety, float32 commanded_<a>..., float32 applied_<a>...
 *   /reward       uint32 seq, uint8 status, float64 total, float64 <term>..., string reason
 *                 (one channel per reward version; metadata: version, terms)
 */
export const OBS_TOPIC = '/observation';
export const ACTION_TOPIC = '/action';
export const REWARD_TOPIC = '/reward';
export const ENCODING = 'ros1';
export const SCHEMA_ENCODING = 'ros1msg';

const ident = (name: string): string => {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(s) ? s : `f_${s}`;
};

/**
 * withRaw appends one `raw_<name>` field per observation after the calibrated ones,
 * in the same message (no second message per step, and Foxglove plots
 * /observation.range_front beside /observation.raw_range_front). Readers decode
 * by position, so they do not depend on the field names.
 */
export const observationSchema = (names: readonly string[], withRaw = false): string =>
  ['uint32 seq', 'int64 t_ns', 'int64 obs_t_ns', 'float64 wall_ms', 'uint8 flags', ...names.map((n) => `float32 ${ident(n)}`), ...(withRaw ? names.map((n) => `float32 raw_${ident(n)}`) : [])].join('\n');

export const actionSchema = (names: readonly string[]): string =>
  ['uint32 seq', 'uint16 safety', ...names.map((n) => `float32 commanded_${ident(n)}`), ...names.map((n) => `float32 applied_${ident(n)}`)].join('\n');

export const rewardSchema = (terms: readonly string[]): string =>
  ['uint32 seq', 'uint8 status', 'float64 total', ...terms.map((n) => `float64 ${ident(n)}`), 'string reason'].join('\n');

const OBS_FIXED = 4 + 8 + 8 + 8 + 1;
const ACT_FIXED = 4 + 2;
const REW_FIXED = 4 + 1 + 8;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * Encodes rows of one batch shape into reused scratch buffers: McapWriter copies
 * a message's bytes synchronously, so one buffer per channel serves every step
 * (no per-step allocation, which was most of the recorder's write time).
 */
export class RowEncoder {
  private obsBuf = new Uint8Array(0);
  private obsView = new DataView(this.obsBuf.buffer);
  private actBuf = new Uint8Array(0);
  private actView = new DataView(this.actBuf.buffer);
  private rewBuf = new Uint8Array(0);
  private rewView = new DataView(this.rewBuf.buffer);

  /** withRaw: the file's observation schema has raw fields (a batch without obsRaw then writes NaN there). */
  observation(b: StepBatch, row: number, withRaw = false): Uint8Array {
    const no = b.observationNames.length;
    const size = OBS_FIXED + 4 * no * (withRaw ? 2 : 1);
    if (this.obsBuf.length !== size) {
      this.obsBuf = new Uint8Array(size);
      this.obsView = new DataView(this.obsBuf.buffer);
    }
    const v = this.obsView;
    v.setUint32(0, b.seq0 + row, true);
    v.setBigInt64(4, b.tNs[row]!, true);
    v.setBigInt64(12, b.obsTNs[row]!, true);
    v.setFloat64(20, b.wallMs[row]!, true);
    v.setUint8(28, b.flags[row]!);
    this.obsBuf.set(new Uint8Array(b.obs.buffer, b.obs.byteOffset + row * no * 4, no * 4), OBS_FIXED);
    if (withRaw) {
      const r = b.obsRaw;
      if (r) this.obsBuf.set(new Uint8Array(r.buffer, r.byteOffset + row * no * 4, no * 4), OBS_FIXED + 4 * no);
      else for (let i = 0; i < no; i++) v.setFloat32(OBS_FIXED + 4 * (no + i), NaN, true);
    }
    return this.obsBuf;
  }

  action(b: StepBatch, row: number): Uint8Array {
    const na = b.actionNames.length;
    if (this.actBuf.length !== ACT_FIXED + 8 * na) {
      this.actBuf = new Uint8Array(ACT_FIXED + 8 * na);
      this.actView = new DataView(this.actBuf.buffer);
    }
    this.actView.setUint32(0, b.seq0 + row, true);
    this.actView.setUint16(4, b.safety[row]!, true);
    this.actBuf.set(new Uint8Array(b.actionCommanded.buffer, b.actionCommanded.byteOffset + row * na * 4, na * 4), ACT_FIXED);
    this.actBuf.set(new Uint8Array(b.actionApplied.buffer, b.actionApplied.byteOffset + row * na * 4, na * 4), ACT_FIXED + na * 4);
    return this.actBuf;
  }

  reward(b: StepBatch, row: number, reason: string | undefined): Uint8Array {
    const nt = b.termNames.length;
    const r = reason === undefined ? undefined : textEncoder.encode(reason);
    const size = REW_FIXED + 8 * nt + 4 + (r?.length ?? 0);
    if (this.rewBuf.length !== size) {
      this.rewBuf = new Uint8Array(size);
      this.rewView = new DataView(this.rewBuf.buffer);
    }
    const v = this.rewView;
    v.setUint32(0, b.seq0 + row, true);
    v.setUint8(4, b.rewardStatus[row]!);
    v.setFloat64(5, b.rewardTotal[row]!, true);
    for (let k = 0; k < nt; k++) v.setFloat64(REW_FIXED + 8 * k, b.rewardTerms[row * nt + k]!, true);
    v.setUint32(REW_FIXED + 8 * nt, r?.length ?? 0, true);
    if (r) this.rewBuf.set(r, REW_FIXED + 8 * nt + 4);
    return this.rewBuf;
  }
}

export interface DecodedObservation {
  seq: number;
  tNs: bigint;
  obsTNs: bigint;
  wallMs: number;
  flags: number;
  obs: Float32Array;
  /** Present when the message carries raw fields (files written since rewardd.steps/2). */
  obsRaw?: Float32Array;
}

export function decodeObservation(d: Uint8Array, n: number): DecodedObservation {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const obs = new Float32Array(n);
  for (let i = 0; i < n; i++) obs[i] = v.getFloat32(OBS_FIXED + 4 * i, true);
  const out: DecodedObservation = { seq: v.getUint32(0, true), tNs: v.getBigInt64(4, true), obsTNs: v.getBigInt64(12, true), wallMs: v.getFloat64(20, true), flags: v.getUint8(28), obs };
  if (d.byteLength >= OBS_FIXED + 8 * n) {
    const raw = new Float32Array(n);
    for (let i = 0; i < n; i++) raw[i] = v.getFloat32(OBS_FIXED + 4 * (n + i), true);
    out.obsRaw = raw;
  }
  return out;
}

export function decodeAction(d: Uint8Array, n: number): { seq: number; safety: number; commanded: Float32Array; applied: Float32Array } {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const commanded = new Float32Array(n);
  const applied = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    commanded[i] = v.getFloat32(ACT_FIXED + 4 * i, true);
    applied[i] = v.getFloat32(ACT_FIXED + 4 * (n + i), true);
  }
  return { seq: v.getUint32(0, true), safety: v.getUint16(4, true), commanded, applied };
}

export function decodeReward(d: Uint8Array, terms: readonly string[]): { seq: number; status: number; total: number; terms: Record<string, number>; reason?: string } {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const out: Record<string, number> = {};
  terms.forEach((t, k) => (out[t] = v.getFloat64(REW_FIXED + 8 * k, true)));
  const at = REW_FIXED + 8 * terms.length;
  const len = v.getUint32(at, true);
  const reason = len > 0 ? textDecoder.decode(d.subarray(at + 4, at + 4 + len)) : undefined;
  return { seq: v.getUint32(0, true), status: v.getUint8(4), total: v.getFloat64(5, true), terms: out, ...(reason !== undefined ? { reason } : {}) };
}
