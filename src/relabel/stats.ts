import { RewardStatus } from '../core/records.js';
import type { RelabelResult } from './relabel-episode.js';

/**
 * Summaries of a relabel: per episode (return, success) and per term over all
 * steps (max / mean / min / std, Eureka's "reward reflection"). Each episode's
 * moments are exact two-pass sums; episodes are merged with Chan et al.'s
 * formula, always in episode order, so --jobs N prints the same figures.
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

/**
 * Per-episode summary plus per-term (and '(total)') stats of one relabelled
 * episode. Two passes over the ok steps (sums, min and max; then squared
 * deviations from the mean) instead of a Welford update per value: no
 * division per value, and the textbook-accurate M2. Episodes are then merged
 * with `merge`, in episode order, so the figures do not depend on --jobs.
 */
export function summariseEpisode(robot: string, seq: Uint32Array, r: RelabelResult): { summary: EpisodeSummary; terms: RunningStats[]; total: RunningStats } {
  const nt = r.termNames.length;
  const n = r.count;
  // Column k < nt is term k, column nt the total. The loops are small functions of their own:
  // V8 optimises them as such, rather than through on-stack replacement of one long function.
  const sum = new Float64Array(nt + 1);
  const min = new Float64Array(nt + 1).fill(Infinity);
  const max = new Float64Array(nt + 1).fill(-Infinity);
  const ok = sums(r.status, r.terms, r.total, n, nt, sum, min, max);
  const mean = sum.map((x) => (ok > 0 ? x / ok : 0));
  const m2 = new Float64Array(nt + 1);
  if (ok > 0) squaredDeviations(r.status, r.terms, r.total, n, nt, mean, m2);
  const failures: Record<string, number> = {};
  let firstFail = -1;
  if (ok < n) {
    for (let i = 0; i < n; i++) {
      if (r.status[i] === RewardStatus.ok) continue;
      if (firstFail < 0) firstFail = i;
      const k = statusLabel(r.status[i]!);
      failures[k] = (failures[k] ?? 0) + 1;
    }
  }
  const successRow = firstFlag(r.status, r.success, n);
  const doneRow = firstFlag(r.status, r.done, n);
  const stats = (k: number): RunningStats => ({ count: ok, mean: mean[k]!, m2: m2[k]!, min: min[k]!, max: max[k]! });
  const summary: EpisodeSummary = {
    episode: r.episode,
    robot,
    steps: n,
    failed: n - ok,
    return: sum[nt]!,
    returnByTerm: Object.fromEntries(r.termNames.map((t, k) => [t, sum[k]!])),
    success: successRow >= 0,
    successSeq: successRow >= 0 ? seq[successRow]! : null,
    doneSeq: doneRow >= 0 ? seq[doneRow]! : null,
    failures,
  };
  const reason = firstFail >= 0 ? r.reasons.get(firstFail) : undefined;
  if (reason !== undefined) summary.firstFailure = reason;
  return { summary, terms: r.termNames.map((_, k) => stats(k)), total: stats(nt) };
}

/**
 * Σ, min and max of each term and of the total over the ok steps; returns how many were ok.
 * One pass per column with the running values in locals (a column's sum is still taken in
 * row order: the same bits as a row-by-row pass), instead of loads and stores through
 * the result arrays for every value.
 */
function sums(status: Uint8Array, terms: Float64Array, total: Float64Array, n: number, nt: number, sum: Float64Array, min: Float64Array, max: Float64Array): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (status[i] === 0) ok++;
  for (let k = 0; k < nt; k++) columnSums(status, terms, k, nt, n, sum, min, max, k);
  columnSums(status, total, 0, 1, n, sum, min, max, nt);
  return ok;
}

function columnSums(status: Uint8Array, v: Float64Array, at: number, stride: number, n: number, sum: Float64Array, min: Float64Array, max: Float64Array, k: number): void {
  let s = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (status[i] !== 0) continue;
    const x = v[i * stride + at]!;
    s += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  sum[k] = s;
  min[k] = lo;
  max[k] = hi;
}

function squaredDeviations(status: Uint8Array, terms: Float64Array, total: Float64Array, n: number, nt: number, mean: Float64Array, m2: Float64Array): void {
  for (let k = 0; k < nt; k++) m2[k] = columnDeviations(status, terms, k, nt, n, mean[k]!);
  m2[nt] = columnDeviations(status, total, 0, 1, n, mean[nt]!);
}

function columnDeviations(status: Uint8Array, v: Float64Array, at: number, stride: number, n: number, mean: number): number {
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    if (status[i] !== 0) continue;
    const d = v[i * stride + at]! - mean;
    m2 += d * d;
  }
  return m2;
}

/** The first ok row whose flag is set, or -1. */
function firstFlag(status: Uint8Array, flag: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) if (flag[i] !== 0 && status[i] === 0) return i;
  return -1;
}

const statusLabel = (code: number): string => (Object.keys(RewardStatus) as (keyof typeof RewardStatus)[]).find((k) => RewardStatus[k] === code) ?? `status_${code}`;
