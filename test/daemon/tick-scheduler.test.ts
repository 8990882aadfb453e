import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.js';
import { RewarddError } from '../../src/core/errors.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { autoSpinUs, TickScheduler } from '../../src/daemon/tick-scheduler.js';

// Behaviour only: how well the timing holds on this machine is measured by `npm run bench -- pipeline`.
describe('tick scheduler', () => {
  it('auto busy-waits whole periods of 2 ms or less (given a second core) and spins the last 300 µs of longer ones', () => {
    expect(autoSpinUs(1000, 2)).toBe(1000);
    expect(autoSpinUs(500, 4)).toBe(2000);
    expect(autoSpinUs(499, 2)).toBe(300);
    expect(autoSpinUs(100, 2)).toBe(300);
    expect(autoSpinUs(1000, 1)).toBe(300); // one core: never hold it
    const s = new TickScheduler({ hz: 1000, clock: systemClock }, () => {});
    expect(s.stats().spinUs).toBe(autoSpinUs(1000));
    expect(new TickScheduler({ hz: 100, clock: systemClock, spinUs: 50 }, () => {}).stats().spinUs).toBe(50);
  });

  /**
   * Time that moves 1 µs per reading, plus whatever a tick's "work" adds: the scheduler's
   * decisions become deterministic (busy-wait margin = the period, so it never sleeps in real
   * time), and the test does not depend on how loaded the machine running it is.
   */
  class VirtualClock implements Clock {
    t = 1_000_000_000n;
    nowNs(): bigint {
      this.t += 1_000n;
      return this.t;
    }
    wallMs(): number {
      return Number(this.t / 1_000_000n);
    }
    work(ns: bigint): void {
      this.t += ns;
    }
  }

  it('never ticks before a deadline, and deadlines do not drift with the work done in a tick', async () => {
    const clock = new VirtualClock();
    const periodNs = 2_000_000n;
    const ticks: bigint[] = [];
    const s = new TickScheduler({ hz: 500, clock, spinUs: 2000 }, (now) => {
      ticks.push(now);
      clock.work(BigInt(ticks.length % 3) * 400_000n); // 0, 0.4 or 0.8 ms of work in the tick
      if (ticks.length === 100) s.stop();
    });
    const started = clock.t;
    await s.run();
    expect(ticks).toHaveLength(100);
    // Tick k is due one period after run() started plus k periods, whatever the work before it.
    ticks.forEach((t, k) => {
      const lateNs = t - (started + BigInt(k + 1) * periodNs);
      expect(lateNs).toBeGreaterThanOrEqual(0n);
      expect(lateNs).toBeLessThan(20_000n); // a few clock readings, not an accumulated 0.4-0.8 ms
    });
    const st = s.stats();
    expect(st.ticks).toBe(100);
    expect(st.skipped).toBe(0);
    expect(st.p99ErrorUs).toBeLessThan(20);
    // The periods behind the percentiles, in tick order (benchmarks pool them across runs).
    const errs = s.periodErrorsUs();
    expect(errs).toHaveLength(99);
    errs.forEach((e, k) => expect(e, `period ${k + 1}`).toBeCloseTo(Math.abs(Number(ticks[k + 1]! - ticks[k]! - periodNs) / 1000), 6));
  });

  it('keeps the last `window` period errors, oldest first, once the ring has wrapped', async () => {
    // 0.7 µs a reading: ticks land at different fractions of a µs past their deadlines, so the
    // periods differ and a ring read out in the wrong order would not match.
    const clock = new VirtualClock();
    clock.nowNs = function (this: VirtualClock): bigint {
      this.t += 700n;
      return this.t;
    };
    let n = 0;
    const ticks: bigint[] = [];
    const s = new TickScheduler({ hz: 500, clock, spinUs: 2000, window: 8 }, (now) => {
      ticks.push(now);
      clock.work(BigInt((n * 37) % 11) * 1_300n);
      if (++n === 20) s.stop();
    });
    await s.run();
    const want = ticks.slice(1).map((t, k) => Math.abs(Number(t - ticks[k]! - 2_000_000n) / 1000)).slice(-8);
    expect(new Set(want.map((x) => x.toFixed(3))).size).toBeGreaterThan(3); // distinct enough to tell the order
    expect([...s.periodErrorsUs()].map((x) => x.toFixed(3))).toEqual(want.map((x) => x.toFixed(3)));
  });

  it('drops the ticks it missed after a long stall instead of bursting to catch up', async () => {
    const clock = new VirtualClock();
    const periodNs = 1_000_000n;
    const ticks: bigint[] = [];
    const s = new TickScheduler({ hz: 1000, clock, spinUs: 1000, maxLagPeriods: 5 }, (now) => {
      ticks.push(now);
      if (ticks.length === 10) clock.work(30n * periodNs); // a 30 ms stall, as a blocked thread would
      if (ticks.length === 30) s.stop();
    });
    await s.run();
    expect(s.stats().skipped).toBe(29);
    // At most one tick runs late right after the stall; from then on they are a period apart again.
    const gaps = ticks.slice(11).map((t, k, a) => (k === 0 ? 0n : t - a[k - 1]!)).slice(1);
    for (const g of gaps) expect(g >= periodNs && g < periodNs + 20_000n).toBe(true);
    expect(ticks[10]! - ticks[9]!).toBeGreaterThan(30n * periodNs);
  });

  it('rejects rates it cannot hold', () => {
    expect(() => new TickScheduler({ hz: 0, clock: systemClock }, () => {})).toThrow(/tick rate must be in \(0, 5000\] Hz, got 0/);
  });
});

describe('--tick-spin', () => {
  it('defaults to auto and takes a number of µs', () => {
    expect(normaliseRunConfig({}).tickSpinUs).toBe('auto');
    expect(normaliseRunConfig({ tickSpinUs: '250' }).tickSpinUs).toBe(250);
    expect(normaliseRunConfig({ tickSpinUs: 'auto' }).tickSpinUs).toBe('auto');
  });

  it('refuses anything else with what it expected', () => {
    const err = (v: unknown): RewarddError => {
      try {
        normaliseRunConfig({ tickSpinUs: v });
      } catch (e) {
        return e as RewarddError;
      }
      throw new Error(`--tick-spin ${String(v)} was accepted`);
    };
    expect(err('fast').message).toBe('E_CONFIG: --tick-spin: expected "auto" or a number, found "fast"');
    expect(err('-5').message).toBe('E_CONFIG: --tick-spin: expected "auto" or µs in [0, 1000000], found -5');
    expect(err('-5').code).toBe('E_CONFIG');
  });
});
