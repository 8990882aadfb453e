import { RewardStatus, StepFlag, rewardStatusName } from '../core/records.js';
import type { EpisodeLogged } from './episode-columns.js';
import { emptyResult, evaluateRows, type BatchRewardEvaluator, type FormUse, type RelabelResult } from './relabel-episode.js';

/**
 * The determinism check: relabelling the steps an episode logged under
 * version V with V itself must give the logged status, total, every term and
 * the success flag bit for bit (Object.is: NaN equals NaN, +0 differs from −0).
 *
 * Timeouts, memory kills and host crashes depend on the machine's load, not on
 * the program, so a logged (or relabelled) timeout / memory / crashed /
 * unavailable step ends the comparison of its segment: everything before it
 * was compared, nothing after. A `late` step (the reward host answered after
 * the step was logged) was still evaluated in order by the host, so only that
 * step is skipped and comparison goes on. Steps missing from the store (an
 * incomplete episode) end the comparison of their segment the same way: the
 * logged rewards after them depended on them.
 */
export interface VerifyMismatch {
  seq: number;
  field: string;
  logged: number | string;
  relabelled: number | string;
  loggedReason?: string;
  relabelledReason?: string;
}

export interface VerifyReport {
  episode: string;
  version: string;
  verdict: 'match' | 'mismatch' | 'not-recorded-with-this-version';
  /** Steps compared value by value. */
  comparedSteps: number;
  /** Steps logged under this version (compared or not). */
  loggedSteps: number;
  /** The first differing step, when the verdict is mismatch. */
  mismatch?: VerifyMismatch;
  /** Where comparison stopped early (a non-reproducible logged failure), per segment. */
  stopped: Array<{ seq: number; reason: string }>;
}

const NON_REPRODUCIBLE: ReadonlySet<number> = new Set([RewardStatus.timeout, RewardStatus.memory, RewardStatus.unavailable, RewardStatus.crashed]);

/**
 * Verifies every segment of `ep` logged under rt's version (or under `against`:
 * is an edited file, e.g. a refactor, still the same reward as the logged one?). `whole` may be a
 * relabel of the entire episode from step 0 with the same program: when the
 * episode has a single segment starting at row 0 it is reused, not recomputed.
 */
export function verifyEpisode(rt: BatchRewardEvaluator, ep: EpisodeLogged, dt: Float64Array, whole?: RelabelResult, against?: string, form?: FormUse): VerifyReport {
  const version = against ?? rt.info.version;
  const segs = ep.loggedSegments.filter((s) => s.version === version);
  const report: VerifyReport = { episode: ep.episode, version, verdict: 'match', comparedSteps: 0, loggedSteps: 0, stopped: [] };
  if (segs.length === 0) {
    report.verdict = 'not-recorded-with-this-version';
    return report;
  }
  const names = rt.info.termNames;
  const reuse = whole !== undefined && whole.rewardVersion === rt.info.version && ep.loggedSegments.length === 1 && segs[0]!.from === 0;
  const res = reuse ? whole : emptyResult(ep.episode, rt.info.version, [...names], ep.count);
  for (const seg of segs) {
    report.loggedSteps += seg.to - seg.from;
    if (!reuse) evaluateRows(rt, ep, dt, seg.from, seg.to, res, undefined, form);
    const first = compareSegment(ep, seg, res, names, report);
    if (first) {
      report.verdict = 'mismatch';
      report.mismatch = first;
      return report;
    }
  }
  return report;
}

function compareSegment(ep: EpisodeLogged, seg: EpisodeLogged['loggedSegments'][number], res: RelabelResult, names: readonly string[], report: VerifyReport): VerifyMismatch | undefined {
  const nt = names.length;
  const reasons = (row: number): { loggedReason?: string; relabelledReason?: string } => {
    const l = ep.loggedReasons.get(row);
    const r = res.reasons.get(row);
    return { ...(l !== undefined ? { loggedReason: l } : {}), ...(r !== undefined ? { relabelledReason: r } : {}) };
  };
  if (seg.termNames.length !== nt || seg.termNames.some((t, k) => t !== names[k])) {
    return { seq: ep.seq[seg.from]!, field: 'termNames', logged: seg.termNames.join(','), relabelled: names.join(',') };
  }
  // A segment is replayed from a fresh start at its first row, which is exact only where the robot also
  // started it fresh: at the episode's first step, or at a swap to this version right after a stored
  // step. Steps missing from the store (an incomplete episode: the recorder joined late or lost batches)
  // held the ctx.prev and ctx.state the logged rewards were computed with, so the rows that depend on
  // them are not compared: the whole segment when its start is missing, the rest of it after a gap.
  const s0 = ep.seq[seg.from]!;
  const freshStart = s0 === 0 || (seg.from > 0 && ep.seq[seg.from - 1] === s0 - 1);
  if (!freshStart) {
    report.stopped.push({ seq: s0, reason: `the steps before it are missing from the store (the logged rewards from step ${s0} on depend on them): not compared` });
    return undefined;
  }
  for (let row = seg.from; row < seg.to; row++) {
    const ls = ep.loggedStatus[row]!;
    const rs = res.status[row]!;
    const seq = ep.seq[row]!;
    if (row > seg.from && seq !== ep.seq[row - 1]! + 1) {
      report.stopped.push({ seq, reason: `steps ${ep.seq[row - 1]! + 1}..${seq - 1} are missing from the store (the logged rewards from step ${seq} on depend on them): compared up to step ${ep.seq[row - 1]!}` });
      return undefined;
    }
    if (ls === RewardStatus.late) continue;
    if (NON_REPRODUCIBLE.has(ls) || NON_REPRODUCIBLE.has(rs)) {
      const which = NON_REPRODUCIBLE.has(ls) ? `logged ${rewardStatusName(ls)}` : `relabelled ${rewardStatusName(rs)}`;
      report.stopped.push({ seq, reason: `${which} is not reproducible (it depends on load and memory, not on the program)` });
      return undefined;
    }
    if (ls !== rs) return { seq, field: 'status', logged: rewardStatusName(ls), relabelled: rewardStatusName(rs), ...reasons(row) };
    const base = (row - seg.from) * nt;
    for (let k = 0; k < nt; k++) {
      const l = seg.terms[base + k]!;
      const r = res.terms[row * nt + k]!;
      if (!Object.is(l, r)) return { seq, field: `term ${names[k]}`, logged: l, relabelled: r };
    }
    // Terms first: a differing term names the cause; a total alone differs only through a weight.
    if (!Object.is(ep.loggedTotal[row], res.total[row])) return { seq, field: 'total', logged: ep.loggedTotal[row]!, relabelled: res.total[row]!, ...reasons(row) };
    const loggedSuccess = (ep.flags[row]! & StepFlag.success) !== 0 ? 1 : 0;
    const relSuccess = rs === RewardStatus.ok ? res.success[row]! : 0;
    if (loggedSuccess !== relSuccess) return { seq, field: 'success', logged: loggedSuccess, relabelled: relSuccess };
    report.comparedSteps++;
  }
  return undefined;
}
