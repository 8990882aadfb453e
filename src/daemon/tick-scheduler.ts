import { availableParallelism } from 'node:os';
import type { Clock } from '../core/clock.js';

export interface TickStats {
  /** Ticks per second achieved over the last window. */
  hz: number;
  /** p50 / p99 / max of |actual period − nominal period| over the last window, µs. */
  p50ErrorUs: number;
  p99ErrorUs: number;
  maxErrorUs: number;
  /** p99 of how late each tick started after its deadline (cyclictest's latency), µs. */
  p99LateUs: number;
  /** The spin margin in force, µs. */
  spinUs: number;
  /** Ticks skipped because the loop fell more than `maxLagPeriods` behind. */
  skipped: number;
  ticks: number;
}

export interface TickSchedulerOptions {
  hz: number;
  clock: Clock;
  /**
   * Spin (busy-wait) for the last part of each period, µs, or 'auto' (the default): see
   * autoSpinUs. A value at least the period never sleeps.
   */
  spinUs?: number | 'auto';
  /** Falling further behind than this many periods drops the missed ticks instead of bursting. */
  maxLagPeriods?: number;
  /** Size of the ring of period errors used for the percentiles (the bound on its memory). */
  window?: number;
}

/** Periods this short or shorter are busy-waited whole under 'auto'. */
export const AUTO_BUSY_WAIT_PERIOD_US = 2000;
/** The spin margin 'auto' uses for longer periods. */
export const AUTO_SPIN_MARGIN_US = 300;

/**
 * The spin margin 'auto' picks for a rate. Waking from Atomics.wait is what
 * makes the timing tail, not the work: on the VM measured (bench/pipeline.ts)
 * the wait oversleeps ~120 µs at p50 with a tail of 0.3–2 ms (an idle vCPU is
 * slow to resume), while a loop that never sleeps holds p99 within a few µs
 * to ~90 µs. At a period of 2 ms or less that tail is a whole period, so the
 * thread busy-waits the period (one core at 100%, as a dedicated real-time
 * core would be); at longer periods, or on a single-core computer, it sleeps
 * and spins the last 300 µs (a late tick there is a small fraction of the
 * period, and the core is saved).
 */
export function autoSpinUs(hz: number, cores: number = availableParallelism()): number {
  const periodUs = 1e6 / hz;
  // With one core, a busy-waiting tick thread would starve the I/O and policy threads.
  return periodUs <= AUTO_BUSY_WAIT_PERIOD_US && cores >= 2 ? periodUs : AUTO_SPIN_MARGIN_US;
}

/**
 * Holds a fixed tick rate up to 1 kHz on a thread of its own: sleeps with
 * Atomics.wait until `spinUs` before the deadline, then spins, then ticks
 * (at 500 Hz and above, by default, it only spins: see autoSpinUs).
 * setTimeout cannot do this (its 1 ms granularity gives ~860 Hz, see
 * REFERENCE.md), and a pure setImmediate spin burns a whole core.
 *
 * Between ticks it yields to the event loop once (setImmediate), so a link's
 * I/O callbacks and control messages still run on this thread. Deadlines
 * advance by whole periods from the start, so errors do not accumulate.
 */
export class TickScheduler {
  private readonly periodNs: bigint;
  private readonly spinNs: bigint;
  private readonly late: Float64Array;
  private readonly maxLagNs: bigint;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private readonly errors: Float64Array;
  private errCount = 0;
  private running = false;
  private next = 0n;
  private lastTick = 0n;
  private skipped = 0;
  private ticks = 0;
  private windowStartNs = 0n;
  private windowTicks = 0;
  private lastHz = 0;
  private doneResolve: (() => void) | null = null;

  constructor(
    private readonly o: TickSchedulerOptions,
    private readonly onTick: (nowNs: bigint) => void,
  ) {
    if (!(o.hz > 0 && o.hz <= 5000)) throw new RangeError(`tick rate must be in (0, 5000] Hz, got ${o.hz}`);
    this.periodNs = BigInt(Math.round(1e9 / o.hz));
    const spinUs = o.spinUs === undefined || o.spinUs === 'auto' ? autoSpinUs(o.hz) : o.spinUs;
    this.spinNs = BigInt(Math.round(spinUs * 1000));
    this.maxLagNs = this.periodNs * BigInt(o.maxLagPeriods ?? 5);
    this.errors = new Float64Array(o.window ?? 4096);
    this.late = new Float64Array(o.window ?? 4096);
  }

  /** Runs until stop(); resolves when the loop has exited. */
  run(): Promise<void> {
    this.running = true;
    const now = this.o.clock.nowNs();
    this.next = now + this.periodNs;
    this.windowStartNs = now;
    return new Promise((resolve) => {
      this.doneResolve = resolve;
      setImmediate(this.loop);
    });
  }

  stop(): void {
    this.running = false;
  }

  private readonly loop = (): void => {
    if (!this.running) {
      this.doneResolve?.();
      return;
    }
    const clock = this.o.clock;
    let now = clock.nowNs();
    const wakeAt = this.next - this.spinNs;
    if (wakeAt > now) Atomics.wait(this.sleeper, 0, 0, Number(wakeAt - now) / 1e6);
    while ((now = clock.nowNs()) < this.next) {
      /* spin: the last few hundred µs, for a tight period */
    }
    if (this.lastTick !== 0n) this.record(Number(now - this.lastTick - this.periodNs) / 1000, Number(now - this.next) / 1000);
    this.lastTick = now;
    this.onTick(now);
    this.ticks++;
    this.windowTicks++;
    this.next += this.periodNs;
    const after = clock.nowNs();
    if (after - this.next > this.maxLagNs) {
      const behind = (after - this.next) / this.periodNs;
      this.skipped += Number(behind);
      this.next += behind * this.periodNs;
    }
    setImmediate(this.loop);
  };

  private record(errUs: number, lateUs: number): void {
    const i = this.errCount % this.errors.length;
    this.errors[i] = Math.abs(errUs);
    this.late[i] = lateUs;
    this.errCount++;
  }

  /** |period error| of the last `window` periods, µs, oldest first (benchmarks pool them across runs). */
  periodErrorsUs(): Float64Array {
    const n = Math.min(this.errCount, this.errors.length);
    if (this.errCount <= this.errors.length) return this.errors.slice(0, n);
    const at = this.errCount % this.errors.length;
    const out = new Float64Array(n);
    out.set(this.errors.subarray(at), 0);
    out.set(this.errors.subarray(0, at), n - at);
    return out;
  }

  /** Percentiles over the last `window` periods; the rate over the time since the previous call. */
  stats(): TickStats {
    const now = this.o.clock.nowNs();
    const spanS = Number(now - this.windowStartNs) / 1e9;
    if (spanS > 0.2) {
      this.lastHz = this.windowTicks / spanS;
      this.windowTicks = 0;
      this.windowStartNs = now;
    }
    const n = Math.min(this.errCount, this.errors.length);
    const sorted = Float64Array.from(this.errors.subarray(0, n)).sort();
    const pct = (p: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]!);
    const lateSorted = Float64Array.from(this.late.subarray(0, n)).sort();
    return {
      hz: this.lastHz,
      p50ErrorUs: pct(0.5),
      p99ErrorUs: pct(0.99),
      maxErrorUs: n ? sorted[n - 1]! : 0,
      p99LateUs: n ? lateSorted[Math.min(n - 1, Math.floor(0.99 * n))]! : 0,
      spinUs: Number(this.spinNs) / 1000,
      skipped: this.skipped,
      ticks: this.ticks,
    };
  }
}
