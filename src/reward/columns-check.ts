import { newRewardBatchOutput, type RewardBatchOutput } from './output.js';
import type { RewardRuntime } from './runtime.js';

/** Where and how a program's two forms differ on a run of steps. */
export interface FormsDifference {
  /** The step (row of the run) of the first difference; null when the columnar call itself failed. */
  step: number | null;
  /** What differed, for a diagnostic: `term "x" is A from reward() and B from rewardColumns ...`. */
  message: string;
}

/** The first row where two results differ, bit for bit (Object.is): a's rows from aAt, b's from bAt. */
export interface RowDifference {
  row: number;
  field: 'term' | 'total' | 'success' | 'done';
  /** Index in termNames when field is 'term'. */
  term: number;
  a: number;
  b: number;
}

export function firstDifference(a: RewardBatchOutput, aAt: number, b: RewardBatchOutput, bAt: number, rows: number, nT: number): RowDifference | null {
  for (let k = 0; k < rows; k++) {
    const i = aAt + k, j = bAt + k;
    for (let t = 0; t < nT; t++) {
      const x = a.terms[i * nT + t]!, y = b.terms[j * nT + t]!;
      if (!Object.is(x, y)) return { row: k, field: 'term', term: t, a: x, b: y };
    }
    if (!Object.is(a.total[i], b.total[j])) return { row: k, field: 'total', term: -1, a: a.total[i]!, b: b.total[j]! };
    if (a.success[i] !== b.success[j]) return { row: k, field: 'success', term: -1, a: a.success[i]!, b: b.success[j]! };
    if (a.done[i] !== b.done[j]) return { row: k, field: 'done', term: -1, a: a.done[i]!, b: b.done[j]! };
  }
  return null;
}

/**
 * Runs the same steps through reward() and through rewardColumns, each from a fresh episode start,
 * and compares them bit for bit (firstDifference). Used by `reward check` on every probe and by the
 * robot's admission dry run on its last logged steps (docs/reward-columns.md), which passes the
 * reward() results it already has as `reference`. null when the program has no columnar form, reads
 * meta.raw (which rewardColumns is not given), or the two agree on every step. The caller runs it
 * only on steps reward() evaluated without failure.
 */
export function compareForms(rt: RewardRuntime, obs: Float32Array, actions: Float32Array, dt: Float64Array, raw: Float32Array | null, episode: { index: number; id: string }, reference?: RewardBatchOutput): FormsDifference | null {
  if (!rt.info.hasColumns || rt.info.rawNames.length > 0) return null;
  const names = rt.info.termNames;
  const nT = names.length;
  const n = dt.length;
  let a = reference;
  if (!a) {
    rt.beginEpisode(episode);
    a = rt.evaluateBatch(obs, actions, dt, undefined, raw);
  }
  rt.beginEpisode(episode);
  const b = newRewardBatchOutput(n, nT);
  const why = rt.evaluateColumns(obs, actions, dt, b);
  if (why !== null) return { step: null, message: `${why}; reward() computed every step of it` };
  const d = firstDifference(a, 0, b, 0, n, nT);
  if (d === null) return null;
  const message =
    d.field === 'term' ? `term "${names[d.term]}" is ${d.a} from reward() and ${d.b} from rewardColumns (expected the same number, bit for bit)`
    : d.field === 'total' ? `the total is ${d.a} from reward() and ${d.b} from rewardColumns`
    : `${d.field} is ${d.a === 1} from ${d.field}() and ${d.b === 1} from rewardColumns`;
  return { step: d.row, message };
}
