/**
 * Embedding records from the encoder worker to the main thread (which logs
 * them with the episode), through a ring of fixed-size slots over a
 * SharedArrayBuffer: the worker never waits and the tick never touches it.
 * Bound: RING_SLOTS records; a record not read before the writer comes round
 * again is lost (counted by the reader: `lost`). The main thread reads on every
 * step batch (≤ 4 per second at the default batch age), far inside the bound.
 *
 * Slot: i32 [seq, frameSeq, promptsN, jpegLen] | f64 [tNs, encodeMs, values…] | f32 embedding | u8 jpeg.
 * The writer stores seq = -1, writes, then stores the seq (Atomics); a reader
 * copies and re-reads seq, so a torn slot is detected and counted as lost.
 */
export const RING_SLOTS = 64;

export interface RingShape {
  fields: number;
  embedding: number;
  /** Largest logged JPEG, bytes (a bigger one is not logged: counted as framesTooBig). */
  maxJpeg: number;
}

export interface VisionRecord {
  seq: number;
  frameSeq: number;
  promptsN: number;
  tNs: bigint;
  encodeMs: number;
  /** Score fields in the robot's vision-field order (goal_baseline, goal_cosine…), float64 before the tick rounds them. */
  values: Float64Array;
  embedding: Float32Array;
  jpeg: Uint8Array | null;
}

const align8 = (n: number): number => (n + 7) & ~7;
const slotBytes = (s: RingShape): number => align8(16 + 8 * (2 + s.fields) + 4 * s.embedding + s.maxJpeg);

export function createRingBuffer(s: RingShape): SharedArrayBuffer {
  return new SharedArrayBuffer(8 + RING_SLOTS * slotBytes(s));
}

export class RecordRing {
  private readonly head: Int32Array;
  private readonly size: number;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  /** Next seq the reader wants. */
  private next = 1;
  lost = 0;

  constructor(readonly sab: SharedArrayBuffer, readonly shape: RingShape) {
    this.head = new Int32Array(sab, 0, 2);
    this.size = slotBytes(shape);
    this.view = new DataView(sab);
    this.bytes = new Uint8Array(sab);
  }

  private slot(seq: number): { i32: Int32Array; base: number } {
    const base = 8 + (seq % RING_SLOTS) * this.size;
    return { i32: new Int32Array(this.sab, base, 4), base };
  }

  write(r: VisionRecord): void {
    const { i32, base } = this.slot(r.seq);
    const s = this.shape;
    Atomics.store(i32, 0, -1);
    i32[1] = r.frameSeq;
    i32[2] = r.promptsN;
    const jl = r.jpeg && r.jpeg.length <= s.maxJpeg ? r.jpeg.length : 0;
    i32[3] = jl;
    let o = base + 16;
    this.view.setFloat64(o, Number(r.tNs), true);
    this.view.setFloat64(o + 8, r.encodeMs, true);
    o += 16;
    for (let i = 0; i < s.fields; i++) this.view.setFloat64(o + 8 * i, r.values[i] ?? NaN, true);
    o += 8 * s.fields;
    new Float32Array(this.sab, o, s.embedding).set(r.embedding.subarray(0, s.embedding));
    o += 4 * s.embedding;
    if (jl > 0) this.bytes.set(r.jpeg!.subarray(0, jl), o);
    Atomics.store(i32, 0, r.seq);
    Atomics.store(this.head, 0, r.seq);
  }

  /** Every record written since the last read, oldest first. */
  drain(): VisionRecord[] {
    const newest = Atomics.load(this.head, 0);
    const out: VisionRecord[] = [];
    if (newest - this.next >= RING_SLOTS) {
      this.lost += newest - RING_SLOTS + 1 - this.next;
      this.next = newest - RING_SLOTS + 1;
    }
    const s = this.shape;
    for (; this.next <= newest; this.next++) {
      const seq = this.next;
      const { i32, base } = this.slot(seq);
      if (Atomics.load(i32, 0) !== seq) {
        this.lost++;
        continue;
      }
      const jl = i32[3]!;
      let o = base + 16;
      const tNs = BigInt(Math.round(this.view.getFloat64(o, true)));
      const encodeMs = this.view.getFloat64(o + 8, true);
      o += 16;
      const values = new Float64Array(s.fields);
      for (let i = 0; i < s.fields; i++) values[i] = this.view.getFloat64(o + 8 * i, true);
      o += 8 * s.fields;
      const embedding = new Float32Array(s.embedding);
      embedding.set(new Float32Array(this.sab, o, s.embedding));
      o += 4 * s.embedding;
      const jpeg = jl > 0 ? this.bytes.slice(o, o + jl) : null;
      const rec: VisionRecord = { seq, frameSeq: i32[1]!, promptsN: i32[2]!, tNs, encodeMs, values, embedding, jpeg };
      if (Atomics.load(i32, 0) !== seq) {
        this.lost++;
        continue;
      }
      out.push(rec);
    }
    return out;
  }
}
