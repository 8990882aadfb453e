import { RewarddError } from '../core/errors.js';
import { CoMoments, canonicalDistance, spearman } from './correlation.js';
import { moments, sharedTerms, type EpisodeComparison } from './compare.js';
import { noEpisodesError, parseEpisodeFilter, selectEpisodes, type EpisodeFilter } from './episode-filter.js';
import type { EpisodeJob, EpisodeOutcome, ProgramSpec, RuntimeTuning } from './episode-job.js';
import { RelabelPool } from './pool.js';
import { countRead, programIdentities, recordColumns, type ReadReport } from './relabel.js';
import type { RewardIdentity } from './result-store.js';
import { merge, newStats, summariseStats, type RunningStats, type TermSummary } from './stats.js';

/**
 * `reward diff A B` as a library: both programs evaluated on the same logged
 * transitions (same observations, applied actions and dt), then compared.
 * Steps where either program failed are left out of the per-step figures
 * (there is no value to compare) and counted.
 */
export interface DiffOptions {
  storeDir: string;
  a: ProgramSpec;
  b: ProgramSpec;
  episodes?: string | EpisodeFilter;
  jobs?: number;
  tickHz?: number;
  tuning?: RuntimeTuning;
  onProgress?: (done: number, total: number, steps: number) => void;
  /** Bound on the per-step totals kept for Spearman (16 bytes a step). Default 20,000,000 steps. */
  maxSteps?: number;
  /** Worker processes kept warm by the caller; default: `jobs` workers for this call. */
  pool?: RelabelPool;
  /** As RelabelOptions.stallMs. */
  stallMs?: number;
}

export interface TermChange {
  term: string;
  /** added: only in B; removed: only in A; reweighted: weight differs; changed: values differ; unchanged. */
  change: 'added' | 'removed' | 'reweighted' | 'changed' | 'unchanged';
  a?: TermSummary;
  b?: TermSummary;
  /** Pearson of the term's per-step values in A and B (steps where both are ok). */
  pearson: number;
  maxAbsDiff: number;
}

export interface DiffReport {
  a: Pick<RewardIdentity, 'version' | 'name' | 'termNames' | 'weights' | 'filename'>;
  b: Pick<RewardIdentity, 'version' | 'name' | 'termNames' | 'weights' | 'filename'>;
  episodes: number;
  steps: number;
  /** Steps where both programs gave a value (the per-step figures use only these). */
  comparedSteps: number;
  failedA: number;
  failedB: number;
  perStep: { pearson: number; spearman: number; canonicalDistance: number; meanA: number; meanB: number; maxAbsDiff: number };
  returns: { pearson: number; spearman: number; meanA: number; meanB: number };
  success: { agreement: number; both: number; onlyA: number; onlyB: number; neither: number };
  terms: TermChange[];
  perEpisode: Array<{ episode: string; steps: number; returnA: number; returnB: number; successA: boolean; successB: boolean }>;
  errors: Array<{ file: string; error: string }>;
  read: ReadReport;
  seconds: number;
}

type Ident = DiffReport['a'];
const pick = (r: RewardIdentity): Ident => ({ version: r.version, name: r.name, termNames: r.termNames, weights: r.weights, filename: r.filename });

export async function diffRewards(o: DiffOptions): Promise<DiffReport> {
  const t0 = performance.now();
  const filter = typeof o.episodes === 'string' || o.episodes === undefined ? parseEpisodeFilter(o.episodes) : o.episodes;
  const selected = selectEpisodes(o.storeDir, filter);
  if (selected.length === 0) throw noEpisodesError('reward diff', o.storeDir, o.episodes);
  const pool = o.pool ?? new RelabelPool({ workers: Math.min(o.jobs ?? 1, Math.max(1, selected.length)), ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}) });
  try {
    const tuning = o.tuning ?? {};
    const [ia, ib] = await programIdentities(pool, [o.a, o.b], tuning, o.storeDir, selected[0]);
    if (!ia || !ib) throw new RewarddError('E_CONFIG', 'reward diff: the worker returned fewer than two programs');
    const maxSteps = o.maxSteps ?? 20_000_000;
    const shared = sharedTerms(ia.termNames, ib.termNames);
    const report: DiffReport = {
      a: pick(ia), b: pick(ib), episodes: 0, steps: 0, comparedSteps: 0, failedA: 0, failedB: 0,
      perStep: { pearson: NaN, spearman: NaN, canonicalDistance: NaN, meanA: NaN, meanB: NaN, maxAbsDiff: NaN },
      returns: { pearson: NaN, spearman: NaN, meanA: NaN, meanB: NaN },
      success: { agreement: NaN, both: 0, onlyA: 0, onlyB: 0, neither: 0 },
      terms: [], perEpisode: [], errors: [], read: { fromColumns: 0, fromMcap: 0, written: 0, notes: [] }, seconds: 0,
    };
    // Per episode, merged in episode order at the end (figures independent of --jobs).
    const perEpisode: Array<DiffReport['perEpisode'][number] | undefined> = new Array(selected.length);
    const parts: Array<{ cmp: EpisodeComparison; a: RunningStats[]; b: RunningStats[] } | undefined> = new Array(selected.length);
    const written: Array<{ episode: string; file: string; bytes: number }> = [];
    let kept = 0;
    const work: EpisodeJob[] = selected.map((s) => ({ file: s.file, robot: s.row.robot, verify: false, keepColumns: false, compare: true, ...(o.tickHz !== undefined ? { tickHz: o.tickHz } : {}) }));
    let done = 0;
    await pool.run([o.a, o.b], tuning, work, (out: EpisodeOutcome, i: number) => {
      done++;
      countRead(report.read, out, written);
      const [pa, pb] = out.programs;
      if (out.error !== undefined || !pa || !pb || !out.compare) {
        report.errors.push({ file: out.file, error: out.error ?? 'no result' });
        o.onProgress?.(done, selected.length, report.steps);
        return;
      }
      kept += out.compare.a.length;
      if (kept > maxSteps) throw new RewarddError('E_CONFIG', `reward diff: expected at most ${maxSteps} compared steps (narrow --episodes), found more`);
      report.episodes++;
      report.steps += out.steps;
      report.failedA += pa.summary.failed;
      report.failedB += pb.summary.failed;
      parts[i] = { cmp: out.compare, a: pa.terms, b: pb.terms };
      perEpisode[i] = { episode: out.episode, steps: out.steps, returnA: pa.summary.return, returnB: pb.summary.return, successA: pa.summary.success, successB: pb.summary.success };
      o.onProgress?.(done, selected.length, report.steps);
    });
    recordColumns(o.storeDir, written, Date.now(), report.read);
    const stepMoments = new CoMoments();
    const termMoments = shared.map(() => new CoMoments());
    let statsA: RunningStats[] = ia.termNames.map(() => newStats());
    let statsB: RunningStats[] = ib.termNames.map(() => newStats());
    const xa = new Float64Array(kept);
    const xb = new Float64Array(kept);
    let at = 0;
    for (const p of parts) {
      if (!p) continue;
      stepMoments.merge(moments(p.cmp.step));
      p.cmp.terms.forEach((t, j) => termMoments[j]!.merge(moments(t)));
      statsA = statsA.map((s, k) => merge(s, p.a[k]!));
      statsB = statsB.map((s, k) => merge(s, p.b[k]!));
      xa.set(p.cmp.a, at);
      xb.set(p.cmp.b, at);
      at += p.cmp.a.length;
    }
    report.perEpisode = perEpisode.filter((e): e is DiffReport['perEpisode'][number] => e !== undefined);
    report.comparedSteps = stepMoments.n;
    report.perStep = {
      pearson: stepMoments.pearson(),
      spearman: kept >= 2 ? spearman(xa, xb) : NaN,
      canonicalDistance: kept > 0 ? canonicalDistance(xa, xb) : NaN,
      meanA: stepMoments.n ? stepMoments.mx : NaN,
      meanB: stepMoments.n ? stepMoments.my : NaN,
      maxAbsDiff: stepMoments.n ? stepMoments.maxAbsDiff : NaN,
    };
    const retA = report.perEpisode.map((e) => e.returnA);
    const retB = report.perEpisode.map((e) => e.returnB);
    const rm = new CoMoments();
    retA.forEach((v, i) => rm.push(v, retB[i]!));
    report.returns = { pearson: rm.pearson(), spearman: retA.length >= 2 ? spearman(retA, retB) : NaN, meanA: rm.n ? rm.mx : NaN, meanB: rm.n ? rm.my : NaN };
    for (const e of report.perEpisode) {
      if (e.successA && e.successB) report.success.both++;
      else if (e.successA) report.success.onlyA++;
      else if (e.successB) report.success.onlyB++;
      else report.success.neither++;
    }
    report.success.agreement = report.perEpisode.length ? (report.success.both + report.success.neither) / report.perEpisode.length : NaN;
    report.terms = termChanges(ia, ib, statsA, statsB, shared, termMoments);
    report.seconds = (performance.now() - t0) / 1000;
    return report;
  } finally {
    if (!o.pool) await pool.close();
  }
}

function termChanges(ia: RewardIdentity, ib: RewardIdentity, sa: RunningStats[], sb: RunningStats[], shared: string[], m: CoMoments[]): TermChange[] {
  const out: TermChange[] = [];
  const names = [...ia.termNames, ...ib.termNames.filter((t) => !ia.termNames.includes(t))];
  for (const t of names) {
    const ka = ia.termNames.indexOf(t);
    const kb = ib.termNames.indexOf(t);
    const a = ka >= 0 ? summariseStats(t, ia.weights[t] ?? NaN, sa[ka]!) : undefined;
    const b = kb >= 0 ? summariseStats(t, ib.weights[t] ?? NaN, sb[kb]!) : undefined;
    const j = shared.indexOf(t);
    const cm = j >= 0 ? m[j]! : undefined;
    let change: TermChange['change'];
    if (!a) change = 'added';
    else if (!b) change = 'removed';
    else if (cm && cm.maxAbsDiff > 0) change = 'changed';
    else if (a.weight !== b.weight) change = 'reweighted';
    else change = 'unchanged';
    out.push({ term: t, change, ...(a ? { a } : {}), ...(b ? { b } : {}), pearson: cm ? cm.pearson() : NaN, maxAbsDiff: cm && cm.n ? cm.maxAbsDiff : NaN });
  }
  return out;
}
