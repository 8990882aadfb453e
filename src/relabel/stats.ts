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
 * Up to four columns per pass, each with its running values in locals: every column's sum is
 * still taken in row order (the same bits as a row-by-row pass), but the four additions of a
 * row do not wait on each other, where one column per pass waits on its own previous addition
 * every row (measured alone on a rover episode's four terms and total: 12.2 → 7.1 ns a step for the sums).
 */
function sums(status: Uint8Array, terms: Float64Array, total: Float64Array, n: number, nt: number, sum: Float64Array, min: Float64Array, max: Float64Array): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (status[i] === 0) ok++;
  for (let k = 0; k < nt; k += 4) {
    if (nt - k === 1) sums1(status, terms, nt, k, n, sum, min, max, k);
    else sums4(status, terms, nt, k, Math.min(4, nt - k), n, sum, min, max);
  }
  sums1(status, total, 1, 0, n, sum, min, max, nt);
  return ok;
}

/** One column (at, every stride values) into sum/min/max[to]: the total, or a last term alone. */
function sums1(status: Uint8Array, v: Float64Array, stride: number, at: number, n: number, sum: Float64Array, min: Float64Array, max: Float64Array, to: number): void {
  let s = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0, r = at; i < n; i++, r += stride) {
    if (status[i] !== 0) continue;
    const x = v[r]!;
    s += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  sum[to] = s;
  min[to] = lo;
  max[to] = hi;
}

/**
 * Columns at..at+lanes-1 of rows of `stride` values, into sum/min/max[to..]. A lane past `lanes`
 * reads column `at` again and is dropped: one loop body for 2 to 4 columns (one goes to sums1,
 * which does a quarter of the work).
 */
function sums4(status: Uint8Array, v: Float64Array, stride: number, at: number, lanes: number, n: number, sum: Float64Array, min: Float64Array, max: Float64Array, to = at): void {
  const c1 = lanes > 1 ? 1 : 0;
  const c2 = lanes > 2 ? 2 : 0;
  const c3 = lanes > 3 ? 3 : 0;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let lo0 = Infinity, lo1 = Infinity, lo2 = Infinity, lo3 = Infinity;
  let hi0 = -Infinity, hi1 = -Infinity, hi2 = -Infinity, hi3 = -Infinity;
  for (let i = 0, r = at; i < n; i++, r += stride) {
    if (status[i] !== 0) continue;
    const x0 = v[r]!, x1 = v[r + c1]!, x2 = v[r + c2]!, x3 = v[r + c3]!;
    s0 += x0; s1 += x1; s2 += x2; s3 += x3;
    if (x0 < lo0) lo0 = x0;
    if (x0 > hi0) hi0 = x0;
    if (x1 < lo1) lo1 = x1;
    if (x1 > hi1) hi1 = x1;
    if (x2 < lo2) lo2 = x2;
    if (x2 > hi2) hi2 = x2;
    if (x3 < lo3) lo3 = x3;
    if (x3 > hi3) hi3 = x3;
  }
  sum[to] = s0; min[to] = lo0; max[to] = hi0;
  if (lanes > 1) (sum[to + 1] = s1), (min[to + 1] = lo1), (max[to + 1] = hi1);
  if (lanes > 2) (sum[to + 2] = s2), (min[to + 2] = lo2), (max[to + 2] = hi2);
  if (lanes > 3) (sum[to + 3] = s3), (min[to + 3] = lo3), (max[to + 3] = hi3);
}

function squaredDeviations(status: Uint8Array, terms: Float64Array, total: Float64Array, n: number, nt: number, mean: Float64Array, m2: Float64Array): void {
  for (let k = 0; k < nt; k += 4) {
    if (nt - k === 1) m2[k] = deviations1(status, terms, nt, k, n, mean[k]!);
    else deviations4(status, terms, nt, k, Math.min(4, nt - k), n, mean, m2);
  }
  m2[nt] = deviations1(status, total, 1, 0, n, mean[nt]!);
}

function deviations1(status: Uint8Array, v: Float64Array, stride: number, at: number, n: number, mean: number): number {
  let m2 = 0;
  for (let i = 0, r = at; i < n; i++, r += stride) {
    if (status[i] !== 0) continue;
    const d = v[r]! - mean;
    m2 += d * d;
  }
  return m2;
}

/** Σ (x − mean)² of columns at..at+lanes-1 over the ok rows, four at a time as in sums4. */
function deviations4(status: Uint8Array, v: Float64Array, stride: number, at: number, lanes: number, n: number, mean: Float64Array, m2: Float64Array, to = at): void {
  const c1 = lanes > 1 ? 1 : 0;
  const c2 = lanes > 2 ? 2 : 0;
  const c3 = lanes > 3 ? 3 : 0;
  const u0 = mean[to]!, u1 = mean[to + c1]!, u2 = mean[to + c2]!, u3 = mean[to + c3]!;
  let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
  for (let i = 0, r = at; i < n; i++, r += stride) {
    if (status[i] !== 0) continue;
    const e0 = v[r]! - u0, e1 = v[r + c1]! - u1, e2 = v[r + c2]! - u2, e3 = v[r + c3]! - u3;
    d0 += e0 * e0; d1 += e1 * e1; d2 += e2 * e2; d3 += e3 * e3;
  }
  m2[to] = d0;
  if (lanes > 1) m2[to + 1] = d1;
  if (lanes > 2) m2[to + 2] = d2;
  if (lanes > 3) m2[to + 3] = d3;
}

/** The first ok row whose flag is set, or -1. */
function firstFlag(status: Uint8Array, flag: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) if (flag[i] !== 0 && status[i] === 0) return i;
  return -1;
}

const statusLabel = (code: number): string => (Object.keys(RewardStatus) as (keyof typeof RewardStatus)[]).find((k) => RewardStatus[k] === code) ?? `status_${code}`;

// Run every kernel on a few rows (a failed one among them) before the first episode: V8 then has
// type feedback for each of their lines when it optimises them in the middle of a 30,000-row loop,
// instead of deoptimising at the first line the loop had not yet reached (seen with --trace-deopt:
// "insufficient type feedback", up to 9 times a run, each going back to the interpreter). Sixteen
// rounds: V8 records feedback only from a function's 8th call or so (lazy feedback allocation).
(function warmKernels(): void {
  const status = Uint8Array.of(0, 1, 0);
  const v = new Float64Array(15).map((_, i) => i % 7);
  const k = new Float64Array(5);
  for (let round = 0; round < 16; round++) {
    for (let lanes = 2; lanes <= 4; lanes++) {
      sums4(status, v, 5, 0, lanes, 3, k, k.slice(), k.slice());
      sums4(status, v, 5, 1, lanes, 3, k, k.slice(), k.slice(), 0);
      deviations4(status, v, 5, 0, lanes, 3, k, k.slice());
      deviations4(status, v, 5, 1, lanes, 3, k, k.slice(), 0);
    }
    sums1(status, v, 5, 1, 3, k, k.slice(), k.slice(), 2);
    deviations1(status, v, 1, 0, 3, 0.5);
    firstFlag(status, status, 3);
  }
})();
