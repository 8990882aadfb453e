/**
 * Safety filter: per-actuator limits, rate limit, non-finite handling, stale
 * policy decel/stop, a persisted e-stop latch and arm/disarm. See docs/safety.md.
 *
 *   const filter = new SafetyFilter(robot, { latchFile: 'state/estop.json', policyPeriodNs: nsFromHz(policy.rateHz), limits: policy.actionLimits });
 *   const bits = filter.apply(commanded, commandedAtNs, clock.nowNs(), applied); // every tick
 */
export { SafetyFilter, type SafetyState } from './filter.js';
export { SAFETY_DEFAULTS, type SafetyOptions, type NonFiniteAction } from './defaults.js';
export { normaliseSafetyOptions, type ResolvedSafety } from './options.js';
export { readLatch, writeLatch, LATCH_SCHEMA, type LatchState } from './latch.js';
