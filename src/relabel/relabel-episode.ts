import { RewarddError } from '../core/errors.js';
import { RewardStatus } from '../core/records.js';
import { firstDifference } from '../reward/columns-check.js';
import { MAX_BATCH_REASONS, newRewardBatchOutput, type RewardBatchOutput } from '../reward/output.js';
import type { ArraySource } from './buffer-pool.js';
import type { EpisodeSteps } from './episode-columns.js';

/** What relabel needs of a reward runtime (RewardRuntime has it; tests may fake it). */
export interface BatchRewardEvaluator {
  readonly info: { version: string; name: string; termNames: string[]; weights: Record<string, number> };
  beginEpisode(episode: { index: number; id: string }): void;
  /** raw: the logged obsRaw rows, absent for episodes logged without them (RewardRuntime then fails meta.raw programs as `unavailable`). */
  evaluateBatch(obs: ArrayLike<number>, actions: ArrayLike<number>, dt: number | ArrayLike<number>, out?: RewardBatchOutput, raw?: ArrayLike<number> | null): RewardBatchOutput;
  /** False after a step or call that cost the sandbox (RewardRuntime). */
  readonly sandboxAlive?: boolean;
  /** The program's rewardColumns over the same rows (RewardRuntime); null when every row came back good, else why not. */
  evaluateColumns?(obs: ArrayLike<number>, actions: ArrayLike<number>, dt: ArrayLike<number>, out: RewardBatchOutput): string | null;
}

/**
 * Which form of a program relabel runs, kept across the episodes of a job (docs/reward-columns.md).
 * `columns` starts true for programs that export rewardColumns (unless the user asked for
 * --per-step) and turns false for the rest of the job when the two forms disagree.
 */
export interface FormUse {
  columns: boolean;
  /** Rows evaluated by rewardColumns and by reward(). */
  columnRows: number;
  stepRows: number;
  /** Why rows went per step although columns were wanted (the first few). */
  notes: string[];
}

export const newFormUse = (columns: boolean): FormUse => ({ columns, columnRows: 0, stepRows: 0, notes: [] });

/** Rows at the start of every segment evaluated by both forms and compared bit for bit. */
export const FORM_CHECK_ROWS = 64;
const MAX_FORM_NOTES = 8;

/** One episode scored by one reward version: the columns stored beside the original. */
export interface RelabelResult extends RewardBatchOutput {
  episode: string;
  rewardVersion: string;
  /** Column names of `terms` (count × termNames.length, row-major; NaN where the step failed). */
  termNames: string[];
}

/**
 * The dt each step's reward was (and is) given, by the rule of docs/records.md:
 * 1/tickHz on the first step, then the monotonic time since the previous step,
 * exactly as the control loop computes it: Number(tNs[t] − tNs[t−1]) / 1e9 with
 * a BigInt subtraction. The difference is taken from the 32-bit halves instead
 * (a BigInt per step cost more than the rest of reading): exact whenever the
 * interval is below 2^52 ns (52 days), the same double; longer ones take the
 * BigInt path.
 */
export function dtColumn(tNs: BigInt64Array, tickHz: number, out: Float64Array = new Float64Array(tNs.length)): Float64Array {
  if (!(tickHz > 0)) throw new RewarddError('E_CONFIG', `tickHz: expected > 0, found ${tickHz}`);
  const n = tNs.length;
  if (n > 0) out[0] = 1 / tickHz;
  const hi = new Int32Array(tNs.buffer, tNs.byteOffset, 2 * n);
  const lo = new Uint32Array(tNs.buffer, tNs.byteOffset, 2 * n);
  for (let t = 1; t < n; t++) {
    const h = hi[2 * t + 1]! - hi[2 * t - 1]!;
    out[t] = h > -0x100000 && h < 0x100000 ? (h * 4294967296 + (lo[2 * t]! - lo[2 * t - 2]!)) / 1e9 : Number(tNs[t]! - tNs[t - 1]!) / 1e9;
  }
  return out;
}

/**
 * The tick rate of an episode: from its start record, else (an incomplete
 * episode) the median step interval, else the given fallback.
 */
export function episodeTickHz(ep: EpisodeSteps, fallbackHz?: number): number {
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

/**
 * A result with every step `unavailable` (NaN values), or, from pooled arrays with
 * `whole` set, arrays of unspecified contents for a caller that evaluates every row
 * (evaluateRows over [0, count) writes every column of every row).
 */
export function emptyResult(episode: string, rewardVersion: string, termNames: string[], count: number, arrays?: ArraySource, tag = '', whole = false): RelabelResult {
  if (!arrays) {
    const o = newRewardBatchOutput(count, termNames.length);
    return { episode, rewardVersion, termNames, count, status: o.status, total: o.total, terms: o.terms, success: o.success, done: o.done, reasons: new Map() };
  }
  const r: RelabelResult = {
    episode, rewardVersion, termNames, count, reasons: new Map(),
    status: arrays.u8(`${tag}status`, count), total: arrays.f64(`${tag}total`, count), terms: arrays.f64(`${tag}terms`, count * termNames.length),
    success: arrays.u8(`${tag}success`, count), done: arrays.u8(`${tag}done`, count),
  };
  if (!whole) {
    r.status.fill(RewardStatus.unavailable);
    r.total.fill(NaN);
    r.terms.fill(NaN);
    r.success.fill(0);
    r.done.fill(0);
  }
  return r;
}

/** Steps per evaluateBatch call from evaluateRows: between two, a caller's onWindow can report progress. */
export const WINDOW_STEPS = 4096;

/**
 * Evaluates rows [from, to) of an episode as if the program had started fresh
 * at `from` (fresh ctx.state, ctx.prev = null, step 0), writing into `into`.
 * That is exactly what the control loop does at an episode start and at a
 * mid-episode swap or rollback, which is why segments replay bit for bit.
 * The rows go in windows of WINDOW_STEPS, written straight into `into`'s
 * columns; the program sees one continuous episode.
 * With `form.columns`, the program's rewardColumns computes them (checked against
 * reward() on the segment's first rows); any failure or disagreement sends the
 * segment through reward() instead, so results never depend on the form.
 */
export function evaluateRows(rt: BatchRewardEvaluator, ep: EpisodeSteps, dt: Float64Array, from: number, to: number, into: RelabelResult, onWindow?: (done: number) => void, form?: FormUse): void {
  if (to - from <= 0) return;
  if (form?.columns && rt.evaluateColumns) {
    const why = evaluateRowsAsColumns(rt, ep, dt, from, to, into, form, onWindow);
    if (why === null) {
      form.columnRows += to - from;
      return;
    }
    if (form.notes.length < MAX_FORM_NOTES) form.notes.push(`episode ${ep.episode} steps ${from}-${to - 1} per step: ${why}`);
  }
  if (form) form.stepRows += to - from;
  evaluateRowsPerStep(rt, ep, dt, from, to, into, onWindow);
}

/**
 * Rows [from, to) through rewardColumns in one pass, after the first FORM_CHECK_ROWS rows were
 * evaluated by reward() too and compared bit for bit (status, every term, total, success, done).
 * null when every row came back good and the check held; otherwise why not (into then holds
 * nothing trustworthy in those rows, and the caller evaluates them per step). A disagreement
 * turns the columns off for the rest of the job: the program's two forms are not the same reward.
 */
function evaluateRowsAsColumns(rt: BatchRewardEvaluator, ep: EpisodeSteps, dt: Float64Array, from: number, to: number, into: RelabelResult, form: FormUse, onWindow?: (done: number) => void): string | null {
  const no = ep.observationNames.length || (ep.count > 0 ? ep.obs.length / ep.count : 0);
  const na = ep.actionNames.length || (ep.count > 0 ? ep.actionApplied.length / ep.count : 0);
  const nt = into.termNames.length;
  const episode = { index: ep.start?.index ?? 0, id: ep.episode };
  const c = Math.min(FORM_CHECK_ROWS, to - from);
  const ref = newRewardBatchOutput(c, nt);
  rt.beginEpisode(episode);
  rt.evaluateBatch(ep.obs.subarray(from * no, (from + c) * no), ep.actionApplied.subarray(from * na, (from + c) * na), dt.subarray(from, from + c), ref, ep.obsRaw?.subarray(from * no, (from + c) * no) ?? null);
  for (let k = 0; k < c; k++) if (ref.status[k] !== RewardStatus.ok) return `reward() fails at step ${from + k}`;
  rt.beginEpisode(episode);
  // Windows of WINDOW_STEPS rows, each one call: the program sees one continuous episode, and a caller's
  // onWindow reports progress between them (a worker's heartbeat).
  for (let a = from; a < to; a += WINDOW_STEPS) {
    const b = Math.min(to, a + WINDOW_STEPS);
    const part: RewardBatchOutput = {
      count: b - a, status: into.status.subarray(a, b), total: into.total.subarray(a, b), terms: into.terms.subarray(a * nt, b * nt),
      success: into.success.subarray(a, b), done: into.done.subarray(a, b), reasons: new Map(),
    };
    const why = rt.evaluateColumns!(ep.obs.subarray(a * no, b * no), ep.actionApplied.subarray(a * na, b * na), dt.subarray(a, b), part);
    if (why !== null) {
      // A columnar call that cost the sandbox (an endless loop, a memory bomb) would cost it again on every
      // episode, each time after rows × budget: rewardColumns is not used again in this job.
      if (rt.sandboxAlive === false) {
        form.columns = false;
        return `${why}; rewardColumns is not used for the rest of this run`;
      }
      return why;
    }
    onWindow?.(b - from);
  }
  const d = firstDifference(ref, 0, into, from, c, nt);
  if (d === null) return null;
  form.columns = false;
  const what = d.field === 'term' ? `term ${into.termNames[d.term]}` : d.field;
  return `rewardColumns and reward() disagree at step ${from + d.row} (${what}: reward() ${d.a}, rewardColumns ${d.b}); rewardColumns is not used for the rest of this run`;
}

/** evaluateRows with reward(): WINDOW_STEPS rows per batch call. */
function evaluateRowsPerStep(rt: BatchRewardEvaluator, ep: EpisodeSteps, dt: Float64Array, from: number, to: number, into: RelabelResult, onWindow?: (done: number) => void): void {
  const no = ep.observationNames.length || (ep.count > 0 ? ep.obs.length / ep.count : 0);
  const na = ep.actionNames.length || (ep.count > 0 ? ep.actionApplied.length / ep.count : 0);
  const nt = into.termNames.length;
  rt.beginEpisode({ index: ep.start?.index ?? 0, id: ep.episode });
  for (let a = from; a < to; a += WINDOW_STEPS) {
    const b = Math.min(to, a + WINDOW_STEPS);
    const out: RewardBatchOutput = {
      count: b - a, status: into.status.subarray(a, b), total: into.total.subarray(a, b), terms: into.terms.subarray(a * nt, b * nt),
      success: into.success.subarray(a, b), done: into.done.subarray(a, b), reasons: new Map(),
    };
    const raw = ep.obsRaw ? ep.obsRaw.subarray(a * no, b * no) : null;
    rt.evaluateBatch(ep.obs.subarray(a * no, b * no), ep.actionApplied.subarray(a * na, b * na), dt.subarray(a, b), out, raw);
    for (const [i, r] of out.reasons) if (into.reasons.size < MAX_BATCH_REASONS) into.reasons.set(a + i, r);
    onWindow?.(b - from);
  }
}

/** Relabels a whole episode with one program, from a fresh start at step 0. */
export function relabelEpisode(rt: BatchRewardEvaluator, ep: EpisodeSteps, opts: { tickHz?: number; arrays?: ArraySource; tag?: string; onWindow?: (done: number) => void } = {}): RelabelResult {
  const dt = dtColumn(ep.tNs, episodeTickHz(ep, opts.tickHz), opts.arrays?.f64('dt', ep.count));
  const res = emptyResult(ep.episode, rt.info.version, [...rt.info.termNames], ep.count, opts.arrays, opts.tag, true);
  evaluateRows(rt, ep, dt, 0, ep.count, res, opts.onWindow);
  return res;
}

export const isOk = (status: number): boolean => status === RewardStatus.ok;
