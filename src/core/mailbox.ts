/**
 * A single-slot, latest-value mailbox over a SharedArrayBuffer, for passing
 * the newest observation to the policy worker and the newest action back to
 * the control tick without either ever waiting on the other.
 *
 * Seqlock: the writer bumps the sequence to odd, writes, bumps to even; a
 * reader retries while the sequence is odd or changed under it. One writer per
 * mailbox. Bound: exactly one value (older values are overwritten by design:
 * a policy wants the newest observation, the tick wants the newest action).
 */
const HEADER_I32 = 4; // [seq, count, _, _]
const STAMP_F64 = 2; // [tNs as float64, aux]

export class Mailbox {
  readonly sab: SharedArrayBuffer;
  readonly size: number;
  private readonly ctl: Int32Array;
  private readonly stamp: Float64Array;
  private readonly data: Float64Array;

  static create(size: number): Mailbox {
    const sab = new SharedArrayBuffer(HEADER_I32 * 4 + STAMP_F64 * 8 + size * 8);
    return new Mailbox(sab, size);
  }

  constructor(sab: SharedArrayBuffer, size: number) {
    this.sab = sab;
    this.size = size;
    this.ctl = new Int32Array(sab, 0, HEADER_I32);
    this.stamp = new Float64Array(sab, HEADER_I32 * 4, STAMP_F64);
    this.data = new Float64Array(sab, HEADER_I32 * 4 + STAMP_F64 * 8, size);
  }

  /** Writes a value stamped with the monotonic time (ns) it refers to, and an auxiliary number. */
  write(values: ArrayLike<number>, tNs: bigint, aux = 0): void {
    const s = Atomics.add(this.ctl, 0, 1) + 1; // odd: writing
    for (let i = 0; i < this.size; i++) this.data[i] = values[i] ?? NaN;
    this.stamp[0] = Number(tNs);
    this.stamp[1] = aux;
    Atomics.store(this.ctl, 1, Atomics.load(this.ctl, 1) + 1);
    Atomics.store(this.ctl, 0, s + 1); // even: stable
    Atomics.notify(this.ctl, 0);
  }

  /** Number of writes so far (0 = never written). */
  count(): number {
    return Atomics.load(this.ctl, 1);
  }

  /**
   * Copies the newest value into out. Returns false if nothing was ever
   * written. tNs/aux of the copied value are left in lastTNs / lastAux.
   */
  read(out: { [i: number]: number }): boolean {
    for (;;) {
      const s0 = Atomics.load(this.ctl, 0);
      if ((s0 & 1) === 1) continue;
      if (Atomics.load(this.ctl, 1) === 0) return false;
      for (let i = 0; i < this.size; i++) out[i] = this.data[i]!;
      this.lastTNs = this.stamp[0]!;
      this.lastAux = this.stamp[1]!;
      if (Atomics.load(this.ctl, 0) === s0) return true;
    }
  }
  lastTNs = 0;
  lastAux = 0;

  /** Blocks (worker threads only) until a write newer than `seenCount`, or timeoutMs. */
  waitForNewer(seenCount: number, timeoutMs: number): boolean {
    if (this.count() > seenCount) return true;
    Atomics.wait(this.ctl, 0, Atomics.load(this.ctl, 0), timeoutMs);
    return this.count() > seenCount;
  }
}
