import { RewarddError } from '../core/errors.js';
import { RewardStatus } from '../core/records.js';
import { MAX_BATCH_REASONS, newRewardBatchOutput, type RewardBatchOutput } from '../reward/index.js';
import type { EpisodeColumns } from './episode-columns.js';

/** What relabel needs of a reward runtime (RewardRuntime has it; tests may fake it). */
export interface BatchRewardEvaluator {
  readonly info: { version: string; name: string; termNames: string[]; weights: Record<string, number> };
  beginEpisode(episode: { index: number; id: string }): void;
  /** raw: the logged obsRaw rows, absent for episodes logged without them (RewardRuntime then fails meta.raw programs as `unavailable`). */
  evaluateBatch(obs: ArrayLike<number>, actions: ArrayLike<number>, dt: number | ArrayLike<number>, out?: RewardBatchOutput, raw?: ArrayLike<number> | null): RewardBatchOutput;
}

/** One episode scored by one reward version: the columns stored beside the original. */
export interface RelabelResult extends RewardBatchOutput {
  episode: string;
  rewardVersion: string;
  /** Column names of `terms` (count × termNames.length, row-major; NaN where the step failed). */
  termNames: string[];
}

/**
 * The dt each step's reward was (and is) given, by the rule of docs/records.md:
 * 1/tickHz on the first step, then the monotonic time since the previous step.
 * Computed with the same BigInt subtraction as the control loop, so the floats
 * are identical.
 */
export function dtColumn(tNs: BigInt64Array, tickHz: number): Float64Array {
  if (!(tickHz > 0)) throw new RewarddError('E_CONFIG', `tickHz: expected > 0, found ${tickHz}`);
  const dt = new Float64Array(tNs.length);
  if (tNs.length > 0) dt[0] = 1 / tickHz;
  for (let t = 1; t < tNs.length; t++) dt[t] = Number(tNs[t]! - tNs[t - 1]!) / 1e9;
  return dt;
}

/**
 * The tick rate of an episode: from its start record, else (an incomplete
 * episode) the median step interval, else the given fallback.
 */
export function episodeTickHz(ep: EpisodeColumns, fallbackHz?: number): number {
  if (ep.start && ep.start.tickHz > 0) return ep.start.tickHz;
  if (ep.count >= 2) {
    const d: number[] = [];
    for (let t = 1; t < Math.min(ep.count, 1001); t++) d.push(Number(ep.tNs[t]! - ep.tNs[t - 1]!));
    d.sort((a, b) => a - b);
    const med = d[d.length >> 1]!;
    if (med > 0) return 1e9 / med;
  }
  if (fallbackHz !== undefined && fallbackHz > 0) return fallbackHz;
  throw new RewarddError('E_STORE', `episode ${ep.episode}: expected a start record or two steps to find its tick rate, found neither`);
}

export function emptyResult(episode: string, rewardVersion: string, termNames: string[], count: number): RelabelResult {
  const o = newRewardBatchOutput(count, termNames.length);
  return { episode, rewardVersion, termNames, count, status: o.status, total: o.total, terms: o.terms, success: o.success, done: o.done, reasons: new Map() };
}

/**
 * Evaluates rows [from, to) of an episode as if the program had started fresh
 * at `from` (fresh ctx.state, ctx.prev = null, step 0), writing into `into`.
 * That is exactly what the control loop does at an episode start and at a
 * mid-episode swap or rollback, which is why segments replay bit for bit.
 */
export function evaluateRows(rt: BatchRewardEvaluator, ep: EpisodeColumns, dt: Float64Array, from: number, to: number, into: RelabelResult): void {
  const no = ep.observationNames.length || (ep.count > 0 ? ep.obs.length / ep.count : 0);
  const na = ep.actionNames.length || (ep.count > 0 ? ep.actionApplied.length / ep.count : 0);
  const nt = into.termNames.length;
  const n = to - from;
  if (n <= 0) return;
  rt.beginEpisode({ index: ep.start?.index ?? 0, id: ep.episode });
  const raw = ep.obsRaw ? ep.obsRaw.subarray(from * no, to * no) : null;
  const out = rt.evaluateBatch(ep.obs.subarray(from * no, to * no), ep.actionApplied.subarray(from * na, to * na), dt.subarray(from, to), undefined, raw);
  into.status.set(out.status, from);
  into.total.set(out.total, from);
  into.terms.set(out.terms.subarray(0, n * nt), from * nt);
  into.success.set(out.success, from);
  into.done.set(out.done, from);
  for (const [i, r] of out.reasons) if (into.reasons.size < MAX_BATCH_REASONS) into.reasons.set(from + i, r);
}

/** Relabels a whole episode with one program, from a fresh start at step 0. */
export function relabelEpisode(rt: BatchRewardEvaluator, ep: EpisodeColumns, opts: { tickHz?: number } = {}): RelabelResult {
  const dt = dtColumn(ep.tNs, episodeTickHz(ep, opts.tickHz));
  const res = emptyResult(ep.episode, rt.info.version, [...rt.info.termNames], ep.count);
  evaluateRows(rt, ep, dt, 0, ep.count, res);
  return res;
}

export const isOk = (status: number): boolean => status === RewardStatus.ok;
