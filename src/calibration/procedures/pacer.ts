import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock, systemClock, type Clock } from '../../core/clock.js';

/**
 * How a procedure's fixed-rate loop waits for its next tick. A real robot is
 * paced by the monotonic system clock; the simulated rover has no time of its
 * own, so tests and `--link sim` run it on a virtual clock that jumps straight
 * to the next tick (a 10 s capture takes milliseconds).
 */
export interface Pacer {
  readonly clock: Clock;
  /** Resolves once clock.nowNs() >= ns. */
  sleepUntil(ns: bigint): Promise<void>;
}

export const realTimePacer: Pacer = {
  clock: systemClock,
  async sleepUntil(ns: bigint): Promise<void> {
    const ms = Number(ns - systemClock.nowNs()) / 1e6;
    if (ms > 0) await sleep(ms);
  },
};

/** A pacer on a ManualClock: sleeping advances the clock, nothing waits. */
export function virtualPacer(startNs = 0n): Pacer & { readonly clock: ManualClock } {
  const clock = new ManualClock(startNs);
  return {
    clock,
    sleepUntil(ns: bigint): Promise<void> {
      const now = clock.nowNs();
      if (ns > now) clock.advanceNs(ns - now);
      return Promise.resolve();
    },
  };
}
