import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { Catalog } from '../store/catalog.js';
import { loadRewardFile } from '../reward/reward-file.js';
import { noEpisodesError, parseEpisodeFilter, selectEpisodes, type EpisodeFilter, type StoredEpisode } from './episode-filter.js';
import type { EpisodeJob, EpisodeOutcome, ProgramSpec, RuntimeTuning, WorkerFailure } from './episode-job.js';
import { RelabelPool } from './pool.js';
import { sweepDeadLeftovers } from './replace-file.js';
import { RelabelStore, type RewardIdentity } from './result-store.js';
import { merge, newStats, summariseStats, type EpisodeSummary, type RunningStats, type TermSummary } from './stats.js';
import type { VerifyReport } from './verify.js';
import type { VisionRelabelOptions, VisionRelabelReport } from '../vision/relabel-vision.js';

/**
 * `rewardd relabel` as a library: score stored episodes with a reward program
 * in batch mode, in the same sandbox as on the robot (inside relabel worker
 * processes, never this one), store each episode's result beside the original
 * keyed by reward version, and summarise.
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
  /** Worker processes to use, kept warm by the caller across runs. Default: `jobs` workers started for this run. */
  pool?: RelabelPool;
  /** A selection with no episode is a report of none, not an error (reward check --store says so itself). */
  allowNoEpisodes?: boolean;
  /** With no `pool`: a worker holding an episode that reports nothing for this long is killed (the episode fails with `timeout`). Default 120,000 ms. */
  stallMs?: number;
  /** Make the columns file of an episode from its MCAP file when it is missing, damaged or stale. Default true. */
  writeColumns?: boolean;
  /** Evaluate reward() per step even when the program exports rewardColumns. Default false. */
  perStep?: boolean;
}

/** Which form of the program computed the steps (docs/reward-columns.md). */
export interface FormReport {
  /** The program exports rewardColumns. */
  hasColumns: boolean;
  /** Steps computed by rewardColumns, and by reward(). */
  columnSteps: number;
  perStepSteps: number;
  /** Why steps went per step although the program has rewardColumns (at most MAX_NOTES). */
  notes: string[];
}

export function countForm(f: FormReport, p: { columnRows: number; stepRows: number; notes: string[] }): void {
  f.columnSteps += p.columnRows;
  f.perStepSteps += p.stepRows;
  for (const n of p.notes) if (f.notes.length < MAX_NOTES) f.notes.push(n);
}

/** How the episodes were read: from their columns files, or from their MCAP files (and why). */
export interface ReadReport {
  fromColumns: number;
  fromMcap: number;
  /** Columns files made from MCAP files by this run. */
  written: number;
  /** One line per episode read from its MCAP file, saying why (at most MAX_NOTES). */
  notes: string[];
}
const MAX_NOTES = 20;

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
  /** Episodes that could not be relabelled, with the reason (and `failure` when their worker died). */
  errors: Array<{ file: string; episode: string; error: string; failure?: WorkerFailure }>;
  read: ReadReport;
  form: FormReport;
  /** Per term over every ok step of every episode: Eureka's reward reflection. */
  terms: TermSummary[];
  /** The weighted total, with the same statistics. */
  total: TermSummary;
  steps: number;
  failedSteps: number;
  jobs: number;
  seconds: number;
  /** Steps per second of wall time, end to end (worker start-up, reading and writing included). */
  stepsPerSecond: number;
  /** Steps per second inside evaluateBatch, per worker (reading excluded). */
  evalStepsPerSecondPerThread: number;
  verify?: { compared: number; matched: number; mismatched: number; notRecordedWithThisVersion: number };
}

export async function resolveProgram(reward: RelabelOptions['reward']): Promise<ProgramSpec> {
  return 'file' in reward ? loadRewardFile(reward.file) : reward;
}

/** The robot shape programs are compiled for: the first selected episode's start record (else a placeholder). */
export function shapeOf(storeDir: string, first: StoredEpisode | undefined): { observationNames: string[]; actionNames: string[] } {
  if (first) {
    const cat = new Catalog(storeDir, { readonly: true });
    try {
      const st = cat.records(first.row.episode).start;
      if (st) return { observationNames: st.observationNames, actionNames: st.actionNames };
    } finally {
      cat.close();
    }
  }
  return { observationNames: ['x'], actionNames: ['u'] };
}

/** Compiles the programs once in a worker, so a broken file fails fast with its diagnostics. */
export async function programIdentities(pool: RelabelPool, programs: ProgramSpec[], tuning: RuntimeTuning, storeDir: string, first: StoredEpisode | undefined): Promise<Array<RewardIdentity & { goal: string; hasColumns: boolean }>> {
  const infos = await pool.identify(programs, tuning, shapeOf(storeDir, first));
  return infos.map((i, k) => ({ version: i.version, sha256: i.sha256, name: i.name, goal: i.goal, termNames: i.termNames, weights: i.weights, source: programs[k]!.source, filename: programs[k]!.filename, hasColumns: i.hasColumns, ...(i.ranges ? { ranges: i.ranges } : {}) }));
}

/** Columns files made by a run, recorded in the recorder's catalog (origin 'relabel'); a read-only store gets a note instead. */
export function recordColumns(storeDir: string, written: Array<{ episode: string; file: string; bytes: number }>, wallMs: number, read: ReadReport): void {
  if (written.length === 0) return;
  try {
    const cat = new Catalog(storeDir);
    try {
      cat.db.transaction(() => {
        for (const w of written) cat.putColumns(w.episode, { file: w.file, origin: 'relabel', bytes: w.bytes, writtenWallMs: wallMs });
      })();
    } finally {
      cat.close();
    }
  } catch (e) {
    read.notes.push(`the catalog could not record ${written.length} new columns file(s): ${(e as Error).message}`);
  }
}

/** Counts where an outcome's steps came from into `read`. */
export function countRead(read: ReadReport, out: EpisodeOutcome, written: Array<{ episode: string; file: string; bytes: number }>): void {
  if (out.readFrom === 'columns') read.fromColumns++;
  else if (out.readFrom === 'mcap') read.fromMcap++;
  if (out.columnsNote !== undefined && read.notes.length < MAX_NOTES) read.notes.push(`episode ${out.episode || out.file}: ${out.columnsNote}`);
  if (out.columnsWritten) {
    read.written++;
    written.push({ episode: out.episode, ...out.columnsWritten });
  }
}

export async function relabelStore(o: RelabelOptions): Promise<RelabelReport> {
  const t0 = performance.now();
  const wallMs = o.wallMs ?? Date.now;
  const jobs = o.jobs ?? 1;
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new RewarddError('E_CONFIG', `--jobs: expected an integer >= 1, found ${jobs}`);
  const program = await resolveProgram(o.reward);
  const filter = typeof o.episodes === 'string' || o.episodes === undefined ? parseEpisodeFilter(o.episodes) : o.episodes;
  const selected = selectEpisodes(o.storeDir, filter);
  if (selected.length === 0 && o.allowNoEpisodes !== true) throw noEpisodesError('relabel', o.storeDir, o.episodes);
  const pool = o.pool ?? new RelabelPool({ workers: Math.min(jobs, Math.max(1, selected.length)), ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}) });
  const save = o.save ?? true;
  let store: RelabelStore | undefined;
  try {
    const tuning = o.tuning ?? {};
    const [id] = await programIdentities(pool, [program], tuning, o.storeDir, selected[0]);
    if (!id) throw new RewarddError('E_CONFIG', 'relabel: the worker returned no program');
    store = save ? new RelabelStore(o.storeDir) : undefined;
    const report: RelabelReport = {
      reward: { version: id.version, sha256: id.sha256, name: id.name, termNames: id.termNames, weights: id.weights, filename: id.filename },
      store: o.storeDir,
      episodes: [],
      errors: [],
      read: { fromColumns: 0, fromMcap: 0, written: 0, notes: [] },
      form: { hasColumns: id.hasColumns, columnSteps: 0, perStepSteps: 0, notes: [] },
      terms: [],
      total: summariseStats('(total)', NaN, newStats()),
      steps: 0,
      failedSteps: 0,
      jobs: pool.size,
      seconds: 0,
      stepsPerSecond: 0,
      evalStepsPerSecondPerThread: 0,
    };
    store?.rememberReward(id, wallMs());
    const work: EpisodeJob[] = selected.map((s) => ({
      file: s.file, robot: s.row.robot, verify: o.verify ?? false, keepColumns: false,
      ...(o.verifyAgainst !== undefined ? { verifyAgainst: o.verifyAgainst } : {}),
      ...(store ? { saveDir: store.dir } : {}),
      ...(o.tickHz !== undefined ? { tickHz: o.tickHz } : {}),
      ...(o.writeColumns === false ? { writeColumns: false } : {}),
      ...(o.vision ? { vision: o.vision } : {}),
      ...(o.perStep ? { perStep: true } : {}),
    }));
    // Per episode, kept in episode order: the merged statistics do not depend on which worker finished first.
    const lines: Array<EpisodeLine | undefined> = new Array(selected.length);
    const stats: Array<{ terms: RunningStats[]; total: RunningStats } | undefined> = new Array(selected.length);
    const written: Array<{ episode: string; file: string; bytes: number }> = [];
    let evalMs = 0;
    let done = 0;
    await pool.run([program], tuning, work, (out: EpisodeOutcome, i: number) => {
      done++;
      countRead(report.read, out, written);
      const p = out.programs[0];
      if (out.error !== undefined || !p) {
        report.errors.push({ file: out.file, episode: out.episode || selected[i]!.row.episode, error: out.error ?? 'no result', ...(out.failure ? { failure: out.failure } : {}) });
      } else {
        if (p.terms.length !== id.termNames.length) throw new RewarddError('E_CONFIG', `episode ${out.episode}: expected ${id.termNames.length} terms, found ${p.terms.length}`);
        stats[i] = { terms: p.terms, total: p.total };
        evalMs += p.evalMs;
        countForm(report.form, p.form);
        report.steps += out.steps;
        report.failedSteps += p.summary.failed;
        const line: EpisodeLine = { ...p.summary, file: out.file, ...(out.verify ? { verify: out.verify } : {}), ...(out.vision ? { vision: out.vision } : {}) };
        if (store && p.saved !== undefined) {
          store.index(out.episode, p.version, p.saved, p.summary, wallMs(), out.verify);
          line.saved = p.saved;
        }
        lines[i] = line;
      }
      o.onProgress?.(done, selected.length, report.steps);
    });
    recordColumns(o.storeDir, written, wallMs(), report.read);
    // What killed workers left beside the results (replace-file.ts): theirs are never removed otherwise.
    if (store) for (const s of selected) sweepDeadLeftovers(join(store.dir, s.row.episode));
    const termStats = id.termNames.map(() => newStats());
    let total: RunningStats = newStats();
    for (const s of stats) {
      if (!s) continue;
      s.terms.forEach((x, k) => (termStats[k] = merge(termStats[k]!, x)));
      total = merge(total, s.total);
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
  } finally {
    store?.close();
    if (!o.pool) await pool.close();
  }
}
