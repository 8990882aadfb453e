import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { RewarddError } from '../../src/core/errors.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { autoSpinUs, TickScheduler } from '../../src/daemon/tick-scheduler.js';

// Behaviour only: how well the timing holds on this machine is measured by `npm run bench -- pipeline`.
describe('tick scheduler', () => {
  it('auto busy-waits whole periods of 2 ms or less and spins the last 300 µs of longer ones', () => {
    expect(autoSpinUs(1000)).toBe(1000);
    expect(autoSpinUs(500)).toBe(2000);
    expect(autoSpinUs(499)).toBe(300);
    expect(autoSpinUs(100)).toBe(300);
    const s = new TickScheduler({ hz: 1000, clock: systemClock }, () => {});
    expect(s.stats().spinUs).toBe(1000);
    expect(new TickScheduler({ hz: 100, clock: systemClock, spinUs: 50 }, () => {}).stats().spinUs).toBe(50);
  });

  it('never ticks before a deadline, and deadlines do not drift with the work done in a tick', async () => {
    const periodNs = 2_000_000n;
    const ticks: bigint[] = [];
    const s = new TickScheduler({ hz: 500, clock: systemClock, spinUs: 300 }, (now) => {
      ticks.push(now);
      // Work of a varying length inside the tick must not push later deadlines back.
      const until = systemClock.nowNs() + BigInt((ticks.length % 3) * 200_000);
      while (systemClock.nowNs() < until);
      if (ticks.length === 100) s.stop();
    });
    const started = systemClock.nowNs();
    await s.run();
    expect(ticks).toHaveLength(100);
    // run() sets the first deadline one period after it starts, so tick k is due no earlier than
    // started + (k + 1) periods.
    const lateNs = ticks.map((t, k) => t - (started + BigInt(k + 1) * periodNs));
    for (const l of lateNs) expect(l).toBeGreaterThanOrEqual(0n);
    // A scheduler that waited a period after each tick's work would be ~20 ms late by the end;
    // the median catches that and is immune to a few preempted ticks on a noisy machine.
    const median = [...lateNs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[50]!;
    expect(median).toBeLessThan(1_000_000n);
    expect(s.stats().ticks).toBe(100);
  });

  it('drops the ticks it missed after a long stall instead of bursting to catch up', async () => {
    const periodNs = 1_000_000n;
    const ticks: bigint[] = [];
    const s = new TickScheduler({ hz: 1000, clock: systemClock, maxLagPeriods: 5 }, (now) => {
      ticks.push(now);
      if (ticks.length === 10) {
        const until = systemClock.nowNs() + 30n * periodNs; // a 30 ms stall, as a blocked thread would
        while (systemClock.nowNs() < until);
      }
      if (ticks.length === 20) s.stop();
    });
    await s.run();
    const st = s.stats();
    expect(st.skipped).toBeGreaterThanOrEqual(25);
    // After the stall the next ticks come a period apart again, not back to back.
    const after = ticks.slice(11);
    for (let k = 1; k < after.length; k++) expect(after[k]! - after[k - 1]!).toBeGreaterThan(periodNs / 2n);
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
