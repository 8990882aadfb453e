/**
 * Frames between the control thread and a live reward host, over two FIFOs
 * (requests one way, replies the other). Little-endian; every frame is
 *
 *   u32 length of the rest · u8 kind · payload
 *
 * Requests (control thread → host):
 *   STEP  u32 id · f64 sent at (CLOCK_MONOTONIC, ms: the same clock in every process) · f64 dt ·
 *         f64 × (nObs + nAct [+ nObs raw, only for programs that read meta.raw])
 *   BEGIN u32 id · i32 episode index · utf8 episode id
 * Replies (host → control thread):
 *   HELLO  u32 pid (first frame once the host has opened its end)
 *   RESULT u32 id · u8 status · u8 flags (1 success, 2 done) · f64 total · f64 × nTerms · utf8 reason
 *   DEATH  u8 status (memory, timeout or crashed) · utf8 detail (written by the host's guard
 *          just before it kills its own process)
 *
 * A frame stays under PIPE_BUF (4096 bytes) for robots of up to ~240 observation values and
 * programs of up to ~380 terms, so a write is atomic and the two writers of the reply FIFO (the
 * host and its guard) never interleave bytes. Reason text is cut to MAX_REASON_BYTES.
 */
export const FrameKind = { STEP: 1, BEGIN: 2, HELLO: 3, RESULT: 4, DEATH: 5 } as const;

export const MAX_REASON_BYTES = 1024;
/** Largest frame either side accepts; a longer length field means the stream is corrupt. */
export const MAX_FRAME_BYTES = 64 * 1024;
const HEADER = 5;

export interface StepLayout {
  nObs: number;
  nAct: number;
  /** True when the program reads meta.raw: the raw observation row follows the action. */
  withRaw: boolean;
  nTerms: number;
}

export const stepFrameBytes = (l: StepLayout): number => HEADER + 4 + 8 + 8 * (1 + l.nObs + l.nAct + (l.withRaw ? l.nObs : 0));

/** Milliseconds on CLOCK_MONOTONIC: unlike performance.now(), the same clock in every process and thread. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
export const resultFrameBytes = (l: StepLayout): number => HEADER + 4 + 1 + 1 + 8 + 8 * l.nTerms + MAX_REASON_BYTES;

function header(buf: Buffer, kind: number, length: number): void {
  buf.writeUInt32LE(length - 4, 0);
  buf.writeUInt8(kind, 4);
}

/** Writes a STEP frame into buf (sized by stepFrameBytes); returns its length. sentAtMs: monotonicMs() as it is written. */
export function encodeStep(buf: Buffer, l: StepLayout, id: number, sentAtMs: number, dt: number, obs: ArrayLike<number>, action: ArrayLike<number>, raw: ArrayLike<number> | null): number {
  const n = stepFrameBytes(l);
  header(buf, FrameKind.STEP, n);
  buf.writeUInt32LE(id >>> 0, HEADER);
  buf.writeDoubleLE(sentAtMs, HEADER + 4);
  let o = HEADER + 12;
  buf.writeDoubleLE(dt, o);
  o += 8;
  for (let i = 0; i < l.nObs; i++, o += 8) buf.writeDoubleLE(obs[i] as number, o);
  for (let i = 0; i < l.nAct; i++, o += 8) buf.writeDoubleLE(action[i] as number, o);
  if (l.withRaw) for (let i = 0; i < l.nObs; i++, o += 8) buf.writeDoubleLE(raw ? (raw[i] as number) : NaN, o);
  return n;
}

export function encodeBegin(id: number, index: number, episode: string): Buffer {
  const text = Buffer.from(episode.slice(0, 256), 'utf8');
  const buf = Buffer.alloc(HEADER + 8 + text.length);
  header(buf, FrameKind.BEGIN, buf.length);
  buf.writeUInt32LE(id >>> 0, HEADER);
  buf.writeInt32LE(index | 0, HEADER + 4);
  text.copy(buf, HEADER + 8);
  return buf;
}

export function encodeHello(pid: number): Buffer {
  const buf = Buffer.alloc(HEADER + 4);
  header(buf, FrameKind.HELLO, buf.length);
  buf.writeUInt32LE(pid >>> 0, HEADER);
  return buf;
}

export interface StepResult {
  status: number;
  total: number;
  terms: Float64Array;
  success: boolean;
  done: boolean;
  reason: string;
}

/** Writes a RESULT frame into buf (sized by resultFrameBytes); returns its length. */
export function encodeResult(buf: Buffer, l: StepLayout, id: number, r: StepResult): number {
  let o = HEADER;
  buf.writeUInt32LE(id >>> 0, o);
  buf.writeUInt8(r.status & 0xff, o + 4);
  buf.writeUInt8((r.success ? 1 : 0) | (r.done ? 2 : 0), o + 5);
  buf.writeDoubleLE(r.total, o + 6);
  o += 14;
  for (let t = 0; t < l.nTerms; t++, o += 8) buf.writeDoubleLE(r.terms[t] ?? NaN, o);
  if (r.reason.length > 0) o += utf8Cut(buf, o, r.reason, MAX_REASON_BYTES);
  header(buf, FrameKind.RESULT, o);
  return o;
}

export function encodeDeath(status: number, detail: string): Buffer {
  const buf = Buffer.alloc(HEADER + 1 + MAX_REASON_BYTES);
  buf.writeUInt8(status & 0xff, HEADER);
  const n = HEADER + 1 + utf8Cut(buf, HEADER + 1, detail, MAX_REASON_BYTES);
  header(buf, FrameKind.DEATH, n);
  return buf.subarray(0, n);
}

/** Copies at most `max` bytes of text's UTF-8 into buf at o, never splitting a character. */
function utf8Cut(buf: Buffer, o: number, text: string, max: number): number {
  const full = Buffer.from(text, 'utf8');
  if (full.length <= max) return full.copy(buf, o);
  let end = max;
  while (end > 0 && ((full[end] as number) & 0xc0) === 0x80) end--;
  return full.copy(buf, o, 0, end);
}

export type Frame =
  /** values: dt, then the observation, the action and the raw row. */
  | { kind: typeof FrameKind.STEP; id: number; sentAtMs: number; values: Float64Array }
  | { kind: typeof FrameKind.BEGIN; id: number; index: number; episode: string }
  | { kind: typeof FrameKind.HELLO; pid: number }
  | { kind: typeof FrameKind.RESULT; id: number; status: number; flags: number; total: number; terms: Float64Array; reason: string }
  | { kind: typeof FrameKind.DEATH; status: number; detail: string };

/**
 * Reassembles frames from a byte stream that may split or join them. Bound:
 * one partial frame of at most MAX_FRAME_BYTES is held; a longer length field
 * throws (the peer is not speaking this protocol).
 */
export class FrameReader {
  private buf = Buffer.alloc(8192);
  private len = 0;

  constructor(private readonly layout: StepLayout) {}

  /** Appends bytes read from the stream. */
  push(chunk: Buffer, n = chunk.length): void {
    if (this.len + n > this.buf.length) {
      const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.len, 0, n);
    this.len += n;
  }

  /** The next whole frame, or null until more bytes arrive. */
  next(): Frame | null {
    if (this.len < 4) return null;
    const size = this.buf.readUInt32LE(0);
    if (size < 1 || size > MAX_FRAME_BYTES) throw new Error(`reward host stream: expected a frame of 1..${MAX_FRAME_BYTES} bytes, found a length of ${size}`);
    if (this.len < 4 + size) return null;
    const f = this.decode(this.buf.subarray(0, 4 + size));
    this.buf.copy(this.buf, 0, 4 + size, this.len);
    this.len -= 4 + size;
    return f;
  }

  private decode(b: Buffer): Frame {
    const kind = b.readUInt8(4);
    switch (kind) {
      case FrameKind.STEP: {
        const n = (b.length - HEADER - 12) / 8;
        const values = new Float64Array(n);
        for (let i = 0; i < n; i++) values[i] = b.readDoubleLE(HEADER + 12 + 8 * i);
        return { kind, id: b.readUInt32LE(HEADER), sentAtMs: b.readDoubleLE(HEADER + 4), values };
      }
      case FrameKind.BEGIN:
        return { kind, id: b.readUInt32LE(HEADER), index: b.readInt32LE(HEADER + 4), episode: b.toString('utf8', HEADER + 8) };
      case FrameKind.HELLO:
        return { kind, pid: b.readUInt32LE(HEADER) };
      case FrameKind.RESULT: {
        const nT = this.layout.nTerms;
        const terms = new Float64Array(nT);
        for (let t = 0; t < nT; t++) terms[t] = b.readDoubleLE(HEADER + 14 + 8 * t);
        return { kind, id: b.readUInt32LE(HEADER), status: b.readUInt8(HEADER + 4), flags: b.readUInt8(HEADER + 5), total: b.readDoubleLE(HEADER + 6), terms, reason: b.toString('utf8', HEADER + 14 + 8 * nT) };
      }
      case FrameKind.DEATH:
        return { kind, status: b.readUInt8(HEADER), detail: b.toString('utf8', HEADER + 1) };
      default:
        throw new Error(`reward host stream: expected a frame kind 1-5, found ${kind}`);
    }
  }
}
