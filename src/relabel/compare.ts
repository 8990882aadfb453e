import { RewardStatus } from '../core/records.js';
import { CoMoments } from './correlation.js';
import type { RelabelResult } from './relabel-episode.js';

/**
 * The per-episode half of `reward diff`, computed where both programs were
 * evaluated (a relabel worker): co-moments of the per-step totals and of each
 * shared term over the steps where both are ok, and those steps' totals (for
 * the rank correlation and the canonical distance, which need every value).
 * The parent merges episodes in episode order.
 */
export interface EpisodeComparison {
  /** CoMoments fields of the totals (plain data: it crosses a process boundary). */
  step: MomentsData;
  /** Per shared term, in the order of sharedTerms(). */
  terms: MomentsData[];
  /** Totals of A and B on the compared steps, in step order. */
  a: Float64Array;
  b: Float64Array;
}

export type MomentsData = Pick<CoMoments, 'n' | 'mx' | 'my' | 'sxx' | 'syy' | 'sxy' | 'maxAbsDiff'>;

/** Terms both programs have, in A's order. */
export const sharedTerms = (a: readonly string[], b: readonly string[]): string[] => a.filter((t) => b.includes(t));

export const moments = (d: MomentsData): CoMoments => Object.assign(new CoMoments(), d);
const data = (m: CoMoments): MomentsData => ({ n: m.n, mx: m.mx, my: m.my, sxx: m.sxx, syy: m.syy, sxy: m.sxy, maxAbsDiff: m.maxAbsDiff });

export function compareEpisode(ra: RelabelResult, rb: RelabelResult): EpisodeComparison {
  const shared = sharedTerms(ra.termNames, rb.termNames);
  const ka = shared.map((t) => ra.termNames.indexOf(t));
  const kb = shared.map((t) => rb.termNames.indexOf(t));
  const na = ra.termNames.length;
  const nb = rb.termNames.length;
  const step = new CoMoments();
  const terms = shared.map(() => new CoMoments());
  const a = new Float64Array(ra.count);
  const b = new Float64Array(ra.count);
  let kept = 0;
  for (let s = 0; s < ra.count; s++) {
    if (ra.status[s] !== RewardStatus.ok || rb.status[s] !== RewardStatus.ok) continue;
    const x = ra.total[s]!;
    const y = rb.total[s]!;
    step.push(x, y);
    for (let j = 0; j < shared.length; j++) terms[j]!.push(ra.terms[s * na + ka[j]!]!, rb.terms[s * nb + kb[j]!]!);
    a[kept] = x;
    b[kept] = y;
    kept++;
  }
  return { step: data(step), terms: terms.map(data), a: a.slice(0, kept), b: b.slice(0, kept) };
}
