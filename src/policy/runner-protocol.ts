/** Control words shared between the policy runner and its worker (Int32Array indices). */
export const Ctl = {
  /** 1 = stop requested. */
  stop: 0,
  /** Incremented by resetEpisode(); the worker zeroes recurrent state when it changes. */
  resetGen: 1,
  inferences: 2,
  /** Periods with no new observation (nothing to infer on). */
  skipped: 3,
  errors: 4,
  /** Duration of the last inference, ns (capped at 2^31-1). */
  lastInferenceNs: 5,
} as const;
export const CTL_WORDS = 8;

export type RunnerMessage =
  | { type: 'ready'; backend: string; rateHz: number }
  | { type: 'error'; code: string; message: string }
  | { type: 'step-error'; message: string }
  | { type: 'stopped' };
