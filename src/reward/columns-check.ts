import { newRewardBatchOutput } from './output.js';
import type { RewardRuntime } from './runtime.js';

/** Where and how a program's two forms differ on a run of steps. */
export interface FormsDifference {
  /** The step (row of the run) of the first difference; 0 when the columnar call itself failed. */
  step: number;
  /** What differed, for a diagnostic: `term "x" is A from reward() and B from rewardColumns ...`. */
  message: string;
}

/**
 * Runs the same steps through reward() and through rewardColumns, each from a fresh episode start,
 * and compares them bit for bit (every term with Object.is, success, done). Used by `reward check`
 * on every probe and by the robot's admission dry run on its last logged steps (docs/reward-columns.md).
 * null when the program has no columnar form, reads meta.raw (which rewardColumns is not given), or
 * the two agree on every step. The caller runs it only on steps reward() evaluated without failure.
 */
export function compareForms(rt: RewardRuntime, obs: Float32Array, actions: Float32Array, dt: Float64Array, raw: Float32Array | null, episode: { index: number; id: string }): FormsDifference | null {
  if (!rt.info.hasColumns || rt.info.rawNames.length > 0) return null;
  const names = rt.info.termNames;
  const nT = names.length;
  const n = dt.length;
  rt.beginEpisode(episode);
  const a = rt.evaluateBatch(obs, actions, dt, undefined, raw);
  rt.beginEpisode(episode);
  const b = newRewardBatchOutput(n, nT);
  const why = rt.evaluateColumns(obs, actions, dt, b);
  if (why !== null) return { step: 0, message: `${why}; reward() computed every step of it` };
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < nT; t++) {
      const x = a.terms[i * nT + t]!, y = b.terms[i * nT + t]!;
      if (!Object.is(x, y)) return { step: i, message: `term "${names[t]}" is ${x} from reward() and ${y} from rewardColumns (expected the same number, bit for bit)` };
    }
    if (a.success[i] !== b.success[i]) return { step: i, message: `success is ${a.success[i] === 1} from success() and ${b.success[i] === 1} from rewardColumns` };
    if (a.done[i] !== b.done[i]) return { step: i, message: `done is ${a.done[i] === 1} from done() and ${b.done[i] === 1} from rewardColumns` };
  }
  return null;
}
