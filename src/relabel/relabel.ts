import { RewarddError } from '../core/errors.js';
import { Catalog } from '../store/catalog.js';
import { RewardRuntime, loadRewardFile } from '../reward/index.js';
import { parseEpisodeFilter, selectEpisodes, type EpisodeFilter, type StoredEpisode } from './episode-filter.js';
import type { EpisodeJob, EpisodeOutcome, ProgramSpec, RuntimeTuning } from './episode-job.js';
import { runEpisodeJobs } from './pool.js';
import { RelabelStore, type RewardIdentity } from './result-store.js';
import { merge, newStats, summariseStats, type EpisodeSummary, type RunningStats, type TermSummary } from './stats.js';
import type { VerifyReport } from './verify.js';
import type { VisionRelabelOptions, VisionRelabelReport } from '../vision/relabel-vision.js';

/**
 * `rewardd relabel` as a library: score stored episodes with a reward program
 * in batch mode, in the same sandbox as on the robot, store each episode's
 * result beside the original keyed by reward version, and summarise.
 */
export interface RelabelOptions {
  storeDir: string;
  /** The program: a file path, or its text. */
  reward: { file: string } | ProgramSpec;
  /** --episodes FILTER text (see episode-filter.ts) or a parsed filter. Default: every stored episode. */
  episodes?: string | EpisodeFilter;
  /** Worker threads. Default 1 (the calling thread). */
  jobs?: number;
  /** Compare with what was logged, for episodes recorded with this version. Default false. */
  verify?: boolean;
  /** With verify: compare with the steps logged under this version (default: the program's own). */
  verifyAgainst?: string;
  /** Store results under <store>/relabel. Default true. */
  save?: boolean;
  /** Tick rate for episodes with no start record and fewer than two steps. */
  tickHz?: number;
  tuning?: RuntimeTuning;
  /** Vision rescoring models (docs/vision.md): --vision-model, --vision-frames-model. */
  vision?: VisionRelabelOptions;
  /** Called after each episode: episodes done, episodes in all, steps done. */
  onProgress?: (done: number, total: number, steps: number) => void;
  /** Wall clock for the index rows (tests inject it). Default Date.now. */
  wallMs?: () => number;
}

export interface EpisodeLine extends EpisodeSummary {
  file: string;
  verify?: VerifyReport;
  vision?: VisionRelabelReport;
  saved?: string;
}

export interface RelabelReport {
  reward: { version: string; sha256: string; name: string; termNames: string[]; weights: Record<string, number>; filename: string };
  store: string;
  episodes: EpisodeLine[];
  /** Episodes that could not be relabelled, with the reason. */
  errors: Array<{ file: string; episode: string; error: string }>;
  /** Per term over every ok step of every episode: Eureka's reward reflection. */
  terms: TermSummary[];
  /** The weighted total, with the same statistics. */
  total: TermSummary;
  steps: number;
  failedSteps: number;
  jobs: number;
  seconds: number;
  /** Steps evaluated per second of wall time (reading included). */
  stepsPerSecond: number;
  /** Steps per second inside evaluateBatch, per thread (reading excluded). */
  evalStepsPerSecondPerThread: number;
  verify?: { compared: number; matched: number; mismatched: number; notRecordedWithThisVersion: number };
}

export async function resolveProgram(reward: RelabelOptions['reward']): Promise<ProgramSpec> {
  return 'file' in reward ? loadRewardFile(reward.file) : reward;
}

/** Compiles the program once in this thread, so a broken file fails fast with its diagnostics. */
export async function programIdentity(p: ProgramSpec, storeDir: string, first: StoredEpisode | undefined): Promise<RewardIdentity> {
  let names: { o: string[]; a: string[] } = { o: ['x'], a: ['u'] };
  if (first) {
    const cat = new Catalog(storeDir, { readonly: true });
    try {
      const st = cat.records(first.row.episode).start;
      if (st) names = { o: st.observationNames, a: st.actionNames };
    } finally {
      cat.close();
    }
  }
  const rt = await RewardRuntime.create(p.source, p.filename, { observationNames: names.o, actionNames: names.a });
  const i = rt.info;
  rt.dispose();
  return { version: i.version, sha256: i.sha256, name: i.name, termNames: i.termNames, weights: i.weights, source: p.source, filename: p.filename };
}

export async function relabelStore(o: RelabelOptions): Promise<RelabelReport> {
  const t0 = performance.now();
  const wallMs = o.wallMs ?? Date.now;
  const program = await resolveProgram(o.reward);
  const filter = typeof o.episodes === 'string' || o.episodes === undefined ? parseEpisodeFilter(o.episodes) : o.episodes;
  const selected = selectEpisodes(o.storeDir, filter);
  const id = await programIdentity(program, o.storeDir, selected[0]);
  const jobs = o.jobs ?? 1;
  const save = o.save ?? true;
  const store = save ? new RelabelStore(o.storeDir) : undefined;
  const report: RelabelReport = {
    reward: { version: id.version, sha256: id.sha256, name: id.name, termNames: id.termNames, weights: id.weights, filename: id.filename },
    store: o.storeDir,
    episodes: [],
    errors: [],
    terms: [],
    total: summariseStats('(total)', NaN, newStats()),
    steps: 0,
    failedSteps: 0,
    jobs,
    seconds: 0,
    stepsPerSecond: 0,
    evalStepsPerSecondPerThread: 0,
  };
  const termStats = id.termNames.map(() => newStats());
  let total: RunningStats = newStats();
  let evalMs = 0;
  const lines: Array<EpisodeLine | undefined> = new Array(selected.length);
  try {
    store?.rememberReward(id, wallMs());
    const work: EpisodeJob[] = selected.map((s) => ({ file: s.file, robot: s.row.robot, verify: o.verify ?? false, ...(o.verifyAgainst !== undefined ? { verifyAgainst: o.verifyAgainst } : {}), keepColumns: save, ...(o.tickHz !== undefined ? { tickHz: o.tickHz } : {}), ...(o.vision ? { vision: o.vision } : {}) }));
    let done = 0;
    await runEpisodeJobs([program], o.tuning ?? {}, work, jobs, (out: EpisodeOutcome, i: number) => {
      done++;
      const p = out.programs[0];
      if (out.error !== undefined || !p) {
        report.errors.push({ file: out.file, episode: out.episode || selected[i]!.row.episode, error: out.error ?? 'no result' });
      } else {
        if (p.terms.length !== termStats.length) throw new RewarddError('E_CONFIG', `episode ${out.episode}: expected ${termStats.length} terms, found ${p.terms.length}`);
        p.terms.forEach((s, k) => (termStats[k] = merge(termStats[k]!, s)));
        total = merge(total, p.total);
        evalMs += p.evalMs;
        report.steps += out.steps;
        report.failedSteps += p.summary.failed;
        const line: EpisodeLine = { ...p.summary, file: out.file, ...(out.verify ? { verify: out.verify } : {}), ...(out.vision ? { vision: out.vision } : {}) };
        if (store && p.result && out.seq) line.saved = store.save(p.result, out.seq, p.summary, wallMs(), out.verify);
        lines[i] = line;
      }
      o.onProgress?.(done, selected.length, report.steps);
    });
  } finally {
    store?.close();
  }
  report.episodes = lines.filter((l): l is EpisodeLine => l !== undefined);
  report.terms = id.termNames.map((t, k) => summariseStats(t, id.weights[t] ?? NaN, termStats[k]!));
  report.total = summariseStats('(total)', NaN, total);
  report.seconds = (performance.now() - t0) / 1000;
  report.stepsPerSecond = report.seconds > 0 ? report.steps / report.seconds : 0;
  report.evalStepsPerSecondPerThread = evalMs > 0 ? report.steps / (evalMs / 1000) : 0;
  if (o.verify) {
    const v = report.episodes.map((e) => e.verify).filter((x): x is VerifyReport => x !== undefined);
    report.verify = {
      compared: v.filter((x) => x.verdict !== 'not-recorded-with-this-version').length,
      matched: v.filter((x) => x.verdict === 'match').length,
      mismatched: v.filter((x) => x.verdict === 'mismatch').length,
      notRecordedWithThisVersion: v.filter((x) => x.verdict === 'not-recorded-with-this-version').length,
    };
  }
  return report;
}
