/**
 * The last thing between a policy and the motors. Every tick it turns the
 * commanded action into the applied one and returns the SafetyFlag bits of
 * every intervention, so a logged step whose applied action differs from the
 * commanded one always says why.
 *
 * Order of precedence: e-stop > disarmed > no action yet > stale (stop, then
 * decelerate) > non-finite > limits > rate limit. The first four replace the
 * whole action; the last three work per actuator.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { RewarddError } from '../core/errors.js';
import { SafetyFlag } from '../core/records.js';
import type { RobotDescription } from '../core/robot.js';
import { normaliseSafetyOptions, type ResolvedSafety } from './options.js';
import type { SafetyOptions } from './defaults.js';
import { filterWriter, readLatch, writeLatch, type LatchState } from './latch.js';

export interface SafetyState {
  armed: boolean;
  estop: LatchState;
  /** Bits returned by the last apply(). */
  lastFlags: number;
  /** Ticks with at least one intervention since the filter started. */
  interventions: number;
}

export class SafetyFilter {
  readonly options: Readonly<ResolvedSafety>;
  private readonly prev: Float64Array;
  private latch: LatchState;
  private armed: boolean;
  private lastFlags = 0;
  private interventions = 0;
  private readonly staleNs: bigint;
  private readonly stopNs: bigint;

  constructor(robot: RobotDescription, options: Partial<SafetyOptions> = {}, private readonly clock: Clock = systemClock) {
    this.options = normaliseSafetyOptions(robot, options);
    const o = this.options;
    this.prev = Float64Array.from(o.stopValue);
    this.armed = o.armed;
    this.latch = o.latchFile ? readLatch(o.latchFile) : { latched: false, reason: '', wallMs: 0 };
    this.staleNs = BigInt(Math.round(Number(o.policyPeriodNs) * o.staleAfterPeriods));
    this.stopNs = BigInt(Math.round(Number(o.policyPeriodNs) * o.stopAfterPeriods));
  }

  /**
   * commanded: the policy's action (robot order). commandedAtNs: monotonic time of the observation it
   * was computed from, null if the policy has produced nothing yet. out receives the applied action.
   */
  apply(commanded: ArrayLike<number>, commandedAtNs: bigint | null, nowNs: bigint, out: { [i: number]: number }): number {
    const { limits, maxDelta, decel, stopValue, nonFinite } = this.options;
    const n = stopValue.length;
    const prev = this.prev;
    let flags = 0;
    let whole = 0;
    if (this.latch.latched) whole = SafetyFlag.estop;
    else if (!this.armed) whole = SafetyFlag.disarmed;
    else if (commandedAtNs === null) whole = SafetyFlag.no_action_yet;
    else if (nowNs - commandedAtNs > this.stopNs) whole = SafetyFlag.stale_stop;
    if (whole !== 0) {
      for (let i = 0; i < n; i++) out[i] = prev[i] = stopValue[i]!;
      flags = whole;
    } else if (nowNs - commandedAtNs! > this.staleNs) {
      // Decelerate: ease from the last applied value toward the stop value; the command is ignored.
      for (let i = 0; i < n; i++) {
        const d = stopValue[i]! - prev[i]!;
        const step = decel[i]!;
        out[i] = prev[i] = d > step ? prev[i]! + step : d < -step ? prev[i]! - step : stopValue[i]!;
      }
      flags = SafetyFlag.stale_decel;
    } else {
      for (let i = 0; i < n; i++) {
        let v = commanded[i]!;
        if (!Number.isFinite(v)) {
          v = nonFinite === 'hold' ? prev[i]! : stopValue[i]!;
          flags |= SafetyFlag.non_finite;
        }
        const lim = limits[i]!;
        if (v < lim.min) {
          v = lim.min;
          flags |= SafetyFlag.clamped;
        } else if (v > lim.max) {
          v = lim.max;
          flags |= SafetyFlag.clamped;
        }
        const dv = v - prev[i]!;
        const m = maxDelta[i]!;
        if (dv > m) {
          v = prev[i]! + m;
          flags |= SafetyFlag.rate_limited;
        } else if (dv < -m) {
          v = prev[i]! - m;
          flags |= SafetyFlag.rate_limited;
        }
        out[i] = prev[i] = v;
      }
    }
    this.lastFlags = flags;
    if (flags !== 0) this.interventions++;
    return flags;
  }

  /**
   * Latches the e-stop (persisted before returning when a latch file is set) and disarms: a reset
   * clears the latch only, so the robot moves again after an explicit arm (docs/safety.md).
   * Idempotent: keeps the first reason.
   */
  estop(reason: string): void {
    this.armed = false;
    if (this.latch.latched) {
      // Already latched: the file is written again all the same. A local reset written just before
      // this stop (and ignored by the daemon's latch watcher as older than it) must not stay on disk,
      // where `estop status` and the next start would read it as "not latched".
      if (this.options.latchFile) writeLatch(this.options.latchFile, { ...this.latch, writer: filterWriter() });
      return;
    }
    const state = { latched: true, reason: reason || 'unspecified', wallMs: this.clock.wallMs() };
    // Latch in memory first: even if the disk write fails, this process stops the robot.
    this.latch = state;
    if (this.options.latchFile) writeLatch(this.options.latchFile, { ...state, writer: filterWriter() });
  }

  /** Clears the latch (the only way to clear it). The filter stays disarmed if it was. */
  resetEstop(): void {
    const state = { latched: false, reason: '', wallMs: this.clock.wallMs() };
    if (this.options.latchFile) writeLatch(this.options.latchFile, { ...state, writer: filterWriter() });
    this.latch = state;
  }

  /** Arming does not clear an e-stop: that needs resetEstop(). */
  arm(): void {
    if (this.latch.latched) throw new RewarddError('E_CONFIG', `arm: expected the e-stop to be reset first, found it latched (${this.latch.reason})`);
    this.armed = true;
  }

  disarm(): void {
    this.armed = false;
  }

  get estopLatched(): boolean {
    return this.latch.latched;
  }

  state(): SafetyState {
    return { armed: this.armed, estop: { ...this.latch }, lastFlags: this.lastFlags, interventions: this.interventions };
  }
}
