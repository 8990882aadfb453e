/**
 * Every safety-filter default, in one place; docs/safety.md lists the same
 * values with the reasons. Times are in control ticks or policy periods,
 * so the defaults mean the same thing at 100 Hz and at 1 kHz.
 */
export type NonFiniteAction = 'hold' | 'zero';

export interface SafetyOptions {
  /** Per actuator, robot action order. Default: the robot description's action ranges. */
  limits: { min: number; max: number }[];
  /** Largest change of an applied action per tick, per actuator (units of the action). On by default. */
  maxDeltaPerTick: number | number[];
  /** What replaces a NaN/±Inf command: the last applied value ('hold') or the stop value ('zero'). */
  nonFinite: NonFiniteAction;
  /** The policy's period, ns (1e9 / rate_hz): staleness is measured in these. */
  policyPeriodNs: bigint;
  /** Action older than this many policy periods (from the observation it used): decelerate. */
  staleAfterPeriods: number;
  /** Older than this many periods: stop (apply the stop value outright). */
  stopAfterPeriods: number;
  /** Deceleration toward the stop value while stale, per tick, per actuator. */
  decelPerTick: number | number[];
  /** The actuator values meaning "stopped". Default: 0 clamped into each actuator's range. */
  stopValue: number[] | null;
  /** File that keeps an e-stop latched across daemon restarts; null = in memory only (tests). */
  latchFile: string | null;
  /** Armed at start? A disarmed filter applies the stop value and flags `disarmed`. */
  armed: boolean;
}

export const SAFETY_DEFAULTS = {
  maxDeltaPerTick: 0.1,
  nonFinite: 'hold',
  policyPeriodNs: 50_000_000n,
  staleAfterPeriods: 3,
  stopAfterPeriods: 6,
  decelPerTick: 0.05,
  stopValue: null,
  latchFile: null,
  armed: true,
} as const satisfies Omit<SafetyOptions, 'limits'>;
