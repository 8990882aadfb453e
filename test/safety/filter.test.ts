import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SafetyFlag, safetyFlagNames } from '../../src/core/records.js';
import { loadRobot } from '../../src/core/robot.js';
import { SafetyFilter } from '../../src/safety/filter.js';

const ROVER = loadRobot(new URL('../../robots/rover.json', import.meta.url).pathname).robot;
const MS = 1_000_000n;

/** Drives a filter from rest to `target` with fresh actions, so later checks start from a known applied value. */
function settle(f: SafetyFilter, target: number[], now: bigint): Float64Array {
  const out = new Float64Array(2);
  for (let i = 0; i < 50; i++) f.apply(target, now, now, out);
  return out;
}

describe('SafetyFilter', () => {
  it('clamps huge actions to the limits, flagged clamped (and rate limited on the way)', () => {
    const f = new SafetyFilter(ROVER, { maxDeltaPerTick: 10 });
    const out = new Float64Array(2);
    expect(f.apply([1e9, -1e9], 0n, 0n, out)).toBe(SafetyFlag.clamped);
    expect(Array.from(out)).toEqual([1, -1]);
    const g = new SafetyFilter(ROVER, { limits: [{ min: -0.5, max: 0.5 }, { min: -1, max: 1 }], maxDeltaPerTick: 10 });
    expect(g.apply([0.7, 0.7], 0n, 0n, out)).toBe(SafetyFlag.clamped);
    expect(Array.from(out)).toEqual([0.5, 0.7]);
  });

  it('limits the change per tick by default (a jumping action ramps)', () => {
    const f = new SafetyFilter(ROVER);
    const out = new Float64Array(2);
    const bits = f.apply([1, -1], 0n, 0n, out);
    expect(safetyFlagNames(bits)).toEqual(['rate_limited']);
    expect(Array.from(out)).toEqual([0.1, -0.1]);
    settle(f, [1, -1], 0n);
    expect(f.apply([-1, 1], 0n, 0n, out)).toBe(SafetyFlag.rate_limited);
    expect(out[0]).toBeCloseTo(0.9);
    expect(out[1]).toBeCloseTo(-0.9);
  });

  it('replaces NaN/Inf by the held value (default) or by zero', () => {
    const hold = new SafetyFilter(ROVER);
    settle(hold, [0.5, 0.5], 0n);
    const out = new Float64Array(2);
    expect(hold.apply([NaN, 0.5], 0n, 0n, out)).toBe(SafetyFlag.non_finite);
    expect(Array.from(out)).toEqual([0.5, 0.5]);
    const zero = new SafetyFilter(ROVER, { nonFinite: 'zero', maxDeltaPerTick: 10 });
    settle(zero, [0.5, 0.5], 0n);
    expect(zero.apply([0.5, Infinity], 0n, 0n, out)).toBe(SafetyFlag.non_finite);
    expect(Array.from(out)).toEqual([0.5, 0]);
    expect(zero.apply([-Infinity, NaN], 0n, 0n, out)).toBe(SafetyFlag.non_finite);
    expect(Array.from(out)).toEqual([0, 0]);
  });

  it('a stalled policy: decelerates after 3 periods, stops after 6 (20 Hz policy, 100 Hz ticks)', () => {
    const f = new SafetyFilter(ROVER, { decelPerTick: 0.25 });
    settle(f, [1, -0.6], 0n); // last action computed at t = 0, then the policy goes silent
    const out = new Float64Array(2);
    expect(f.apply([1, -0.6], 0n, 150n * MS, out)).toBe(0); // exactly 3 periods old: still fresh
    expect(f.apply([1, -0.6], 0n, 160n * MS, out)).toBe(SafetyFlag.stale_decel);
    expect(out[0]).toBeCloseTo(0.75);
    expect(out[1]).toBeCloseTo(-0.35);
    expect(f.apply([1, -0.6], 0n, 170n * MS, out)).toBe(SafetyFlag.stale_decel);
    expect(out[0]).toBeCloseTo(0.5);
    expect(out[1]).toBeCloseTo(-0.1);
    f.apply([1, -0.6], 0n, 180n * MS, out);
    expect(Array.from(out)).toEqual([0.25, 0]);
    expect(f.apply([1, -0.6], 0n, 310n * MS, out)).toBe(SafetyFlag.stale_stop);
    expect(Array.from(out)).toEqual([0, 0]);
    // The policy comes back: motion resumes through the rate limiter, not as a jump.
    expect(f.apply([1, -0.6], 320n * MS, 320n * MS, out)).toBe(SafetyFlag.rate_limited);
    expect(out[0]).toBeCloseTo(0.1);
  });

  it('stops with no_action_yet before the policy has produced anything', () => {
    const f = new SafetyFilter(ROVER);
    const out = new Float64Array([9, 9]);
    expect(f.apply([1, 1], null, 0n, out)).toBe(SafetyFlag.no_action_yet);
    expect(Array.from(out)).toEqual([0, 0]);
  });

  it('disarmed applies the stop value; arm() resumes', () => {
    const f = new SafetyFilter(ROVER, { armed: false });
    const out = new Float64Array(2);
    expect(f.apply([0.05, 0.05], 0n, 0n, out)).toBe(SafetyFlag.disarmed);
    expect(Array.from(out)).toEqual([0, 0]);
    f.arm();
    expect(f.apply([0.05, 0.05], 0n, 0n, out)).toBe(0);
    f.disarm();
    expect(f.state().armed).toBe(false);
  });

  it('every applied action that differs from the commanded one carries a reason bit, and stays within limits', () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 1e300, -1e300, 0, 1, -1));
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: value, b: value, age: fc.integer({ min: 0, max: 400 }), none: fc.boolean(), estop: fc.boolean() }), { minLength: 1, maxLength: 60 }),
        fc.constantFrom<'hold' | 'zero'>('hold', 'zero'),
        (steps, nonFinite) => {
          const f = new SafetyFilter(ROVER, { nonFinite });
          const out = new Float64Array(2);
          let now = 1_000n * MS;
          for (const s of steps) {
            now += 10n * MS;
            if (s.estop && s.age > 390) f.estop('prop');
            const cmd = [s.a, s.b];
            const bits = f.apply(cmd, s.none ? null : now - BigInt(s.age) * MS, now, out);
            for (let i = 0; i < 2; i++) {
              expect(Number.isFinite(out[i]!)).toBe(true);
              expect(Math.abs(out[i]!)).toBeLessThanOrEqual(1);
              if (!Object.is(out[i], cmd[i]) && out[i] !== cmd[i]) expect(bits).not.toBe(0);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects bad options with the field named', () => {
    expect(() => new SafetyFilter(ROVER, { limits: [{ min: -2, max: 1 }, { min: -1, max: 1 }] })).toThrow(
      "E_CONFIG: safety.limits[0]: expected within the robot's [-1, 1] for wheel_left, found \"[-2, 1]\"",
    );
    expect(() => new SafetyFilter(ROVER, { maxDeltaPerTick: 0 })).toThrow('E_CONFIG: safety.maxDeltaPerTick[0]: expected a finite number > 0, found 0');
    expect(() => new SafetyFilter(ROVER, { stopAfterPeriods: 1 })).toThrow('E_CONFIG: safety.stopAfterPeriods: expected a number >= staleAfterPeriods (3), found 1');
  });
});
