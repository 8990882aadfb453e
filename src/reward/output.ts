import { RewardStatus } from '../core/records.js';

/** One step's reward, written in place by RewardRuntime.evaluate (no allocation per tick). */
export interface RewardOutput {
  /** A RewardStatus code; anything but ok means "no reward value for this step". */
  status: number;
  /** Σ weight × term in termNames order; NaN unless ok. */
  total: number;
  /** Terms in termNames order; NaN unless ok. */
  terms: Float64Array;
  success: boolean;
  done: boolean;
  /** '' when ok, else "E_REWARD_...: ..." saying what went wrong at which step. */
  reason: string;
}

export function newRewardOutput(termCount: number): RewardOutput {
  return { status: RewardStatus.unavailable, total: NaN, terms: new Float64Array(termCount).fill(NaN), success: false, done: false, reason: '' };
}

/**
 * Many steps' rewards (offline relabel, dry runs, checks): column arrays,
 * step-major terms. Reasons are kept for at most MAX_BATCH_REASONS failed
 * steps per call (the status column always says which steps failed).
 */
export interface RewardBatchOutput {
  count: number;
  status: Uint8Array;
  total: Float64Array;
  /** count × termCount, step-major. */
  terms: Float64Array;
  success: Uint8Array;
  done: Uint8Array;
  /** step index within the batch → reason, for the first MAX_BATCH_REASONS failures. */
  reasons: Map<number, string>;
}

export const MAX_BATCH_REASONS = 64;

export function newRewardBatchOutput(count: number, termCount: number): RewardBatchOutput {
  return {
    count,
    status: new Uint8Array(count).fill(RewardStatus.unavailable),
    total: new Float64Array(count).fill(NaN),
    terms: new Float64Array(count * termCount).fill(NaN),
    success: new Uint8Array(count),
    done: new Uint8Array(count),
    reasons: new Map(),
  };
}
