/** Fills SafetyOptions from SAFETY_DEFAULTS and the robot, and rejects bad values before the first tick. */
import { RewarddError, describeValue } from '../core/errors.js';
import type { RobotDescription } from '../core/robot.js';
import { SAFETY_DEFAULTS, type SafetyOptions } from './defaults.js';

export interface ResolvedSafety {
  limits: { min: number; max: number }[];
  maxDelta: Float64Array;
  decel: Float64Array;
  stopValue: Float64Array;
  nonFinite: 'hold' | 'zero';
  policyPeriodNs: bigint;
  staleAfterPeriods: number;
  stopAfterPeriods: number;
  latchFile: string | null;
  armed: boolean;
}

const bad = (field: string, expected: string, found: unknown): never => {
  throw new RewarddError('E_CONFIG', `safety.${field}: expected ${expected}, found ${describeValue(found)}`);
};

function perActuator(field: string, v: number | number[], n: number): Float64Array {
  const arr = typeof v === 'number' ? new Array<number>(n).fill(v) : v;
  if (!Array.isArray(arr) || arr.length !== n) bad(field, `a number or an array of ${n}`, v);
  arr.forEach((x, i) => (typeof x === 'number' && x > 0 && Number.isFinite(x) ? 0 : bad(`${field}[${i}]`, 'a finite number > 0', x)));
  return Float64Array.from(arr);
}

export function normaliseSafetyOptions(robot: RobotDescription, opts: Partial<SafetyOptions>): ResolvedSafety {
  const n = robot.actions.length;
  const o = { ...SAFETY_DEFAULTS, ...opts };
  const limits = opts.limits ?? robot.actions.map((a) => ({ min: a.min, max: a.max }));
  if (limits.length !== n) bad('limits', `${n} entries (robot actions)`, limits);
  limits.forEach((l, i) => {
    const r = robot.actions[i]!;
    if (!(Number.isFinite(l.min) && Number.isFinite(l.max) && l.min <= l.max)) bad(`limits[${i}]`, 'finite min <= max', `${l.min}..${l.max}`);
    // Never wider than the robot description: limits only narrow.
    if (l.min < r.min || l.max > r.max) bad(`limits[${i}]`, `within the robot's [${r.min}, ${r.max}] for ${r.name}`, `[${l.min}, ${l.max}]`);
  });
  if (o.nonFinite !== 'hold' && o.nonFinite !== 'zero') bad('nonFinite', '"hold" or "zero"', o.nonFinite);
  if (typeof o.policyPeriodNs !== 'bigint' || o.policyPeriodNs <= 0n) bad('policyPeriodNs', 'a bigint > 0', o.policyPeriodNs);
  if (!(o.staleAfterPeriods > 0)) bad('staleAfterPeriods', 'a number > 0', o.staleAfterPeriods);
  if (!(o.stopAfterPeriods >= o.staleAfterPeriods)) bad('stopAfterPeriods', `a number >= staleAfterPeriods (${o.staleAfterPeriods})`, o.stopAfterPeriods);
  const stop = o.stopValue ?? limits.map((l) => Math.min(l.max, Math.max(l.min, 0)));
  if (stop.length !== n) bad('stopValue', `${n} entries`, stop);
  stop.forEach((v, i) => (v >= limits[i]!.min && v <= limits[i]!.max ? 0 : bad(`stopValue[${i}]`, `within limits[${i}]`, v)));
  return {
    limits: limits.map((l) => ({ min: l.min, max: l.max })),
    maxDelta: perActuator('maxDeltaPerTick', o.maxDeltaPerTick, n),
    decel: perActuator('decelPerTick', o.decelPerTick, n),
    stopValue: Float64Array.from(stop),
    nonFinite: o.nonFinite,
    policyPeriodNs: o.policyPeriodNs,
    staleAfterPeriods: o.staleAfterPeriods,
    stopAfterPeriods: o.stopAfterPeriods,
    latchFile: o.latchFile,
    armed: o.armed,
  };
}
