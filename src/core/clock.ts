/**
 * Time sources. Every timeout and period in rewardd is measured on a monotonic
 * clock (process.hrtime.bigint), never on wall time, so NTP steps on the robot
 * cannot stretch or shrink a watchdog. Wall time is only ever *recorded*.
 *
 * Stages take a Clock so tests can drive time without sleeping.
 */
export interface Clock {
  /** Monotonic nanoseconds since an arbitrary origin. */
  nowNs(): bigint;
  /** Wall-clock milliseconds since the Unix epoch, for records only. */
  wallMs(): number;
}

export const systemClock: Clock = {
  nowNs: () => process.hrtime.bigint(),
  wallMs: () => Date.now(),
};

/** A clock that only moves when told to: for tests of timeouts and watchdogs. */
export class ManualClock implements Clock {
  constructor(private ns: bigint = 0n, private wallOriginMs = 1_700_000_000_000) {}
  nowNs(): bigint {
    return this.ns;
  }
  wallMs(): number {
    return this.wallOriginMs + Number(this.ns / 1_000_000n);
  }
  advanceNs(delta: bigint): void {
    if (delta < 0n) throw new RangeError('ManualClock cannot go backwards');
    this.ns += delta;
  }
  advanceMs(ms: number): void {
    this.advanceNs(BigInt(Math.round(ms * 1e6)));
  }
}

export const NS_PER_S = 1_000_000_000n;
export const nsFromHz = (hz: number): bigint => BigInt(Math.round(1e9 / hz));
