import { RewardStatus } from '../core/records.js';
import type { RelabelResult } from './relabel-episode.js';

/**
 * Summaries of a relabel: per episode (return, success) and per term over all
 * steps (max / mean / min / std, Eureka's "reward reflection"). Term
 * statistics use Welford's running moments so results from worker threads
 * merge exactly as if one thread had seen every step (Chan et al. merge).
 */
export interface RunningStats {
  count: number;
  mean: number;
  /** Σ (x − mean)², Welford's M2. */
  m2: number;
  min: number;
  max: number;
}

export const newStats = (): RunningStats => ({ count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity });

export function push(s: RunningStats, x: number): void {
  s.count++;
  const d = x - s.mean;
  s.mean += d / s.count;
  s.m2 += d * (x - s.mean);
  if (x < s.min) s.min = x;
  if (x > s.max) s.max = x;
}

export function merge(a: RunningStats, b: RunningStats): RunningStats {
  if (b.count === 0) return { ...a };
  if (a.count === 0) return { ...b };
  const n = a.count + b.count;
  const d = b.mean - a.mean;
  return { count: n, mean: a.mean + (d * b.count) / n, m2: a.m2 + b.m2 + (d * d * a.count * b.count) / n, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** Population standard deviation (over the steps seen, not an estimate of a larger population). */
export const std = (s: RunningStats): number => (s.count > 0 ? Math.sqrt(s.m2 / s.count) : NaN);

export interface TermSummary {
  term: string;
  weight: number;
  steps: number;
  max: number;
  mean: number;
  min: number;
  std: number;
}

export const summariseStats = (term: string, weight: number, s: RunningStats): TermSummary => ({
  term,
  weight,
  steps: s.count,
  max: s.count ? s.max : NaN,
  mean: s.count ? s.mean : NaN,
  min: s.count ? s.min : NaN,
  std: std(s),
});

export interface EpisodeSummary {
  episode: string;
  robot: string;
  steps: number;
  /** Steps whose reward failed (any status but ok). */
  failed: number;
  /** Σ of ok totals (failed steps add nothing: they have no value). */
  return: number;
  returnByTerm: Record<string, number>;
  /** True when success() held on some ok step. */
  success: boolean;
  /** Seq of the first step where success() held, or null. */
  successSeq: number | null;
  /** Seq of the first step where done() held, or null. */
  doneSeq: number | null;
  /** Failure counts by status name. */
  failures: Record<string, number>;
  /** The first failure's reason, if any. */
  firstFailure?: string;
}

/** Per-episode summary plus per-term (and '(total)') running stats of one relabelled episode. */
export function summariseEpisode(robot: string, seq: Uint32Array, r: RelabelResult): { summary: EpisodeSummary; terms: RunningStats[]; total: RunningStats } {
  const nt = r.termNames.length;
  const terms = r.termNames.map(() => newStats());
  const total = newStats();
  const byTerm = new Float64Array(nt);
  const failures: Record<string, number> = {};
  let ret = 0;
  let failed = 0;
  let successSeq: number | null = null;
  let doneSeq: number | null = null;
  let firstFail = -1;
  for (let i = 0; i < r.count; i++) {
    if (r.status[i] !== RewardStatus.ok) {
      failed++;
      if (firstFail < 0) firstFail = i;
      const k = String(r.status[i]);
      failures[k] = (failures[k] ?? 0) + 1;
      continue;
    }
    ret += r.total[i]!;
    push(total, r.total[i]!);
    for (let k = 0; k < nt; k++) {
      const v = r.terms[i * nt + k]!;
      byTerm[k]! += v;
      push(terms[k]!, v);
    }
    if (successSeq === null && r.success[i]) successSeq = seq[i]!;
    if (doneSeq === null && r.done[i]) doneSeq = seq[i]!;
  }
  const summary: EpisodeSummary = {
    episode: r.episode,
    robot,
    steps: r.count,
    failed,
    return: ret,
    returnByTerm: Object.fromEntries(r.termNames.map((t, k) => [t, byTerm[k]!])),
    success: successSeq !== null,
    successSeq,
    doneSeq,
    failures: Object.fromEntries(Object.entries(failures).map(([k, v]) => [statusLabel(Number(k)), v])),
  };
  const reason = firstFail >= 0 ? r.reasons.get(firstFail) : undefined;
  if (reason !== undefined) summary.firstFailure = reason;
  return { summary, terms, total };
}

const statusLabel = (code: number): string => (Object.keys(RewardStatus) as (keyof typeof RewardStatus)[]).find((k) => RewardStatus[k] === code) ?? `status_${code}`;
