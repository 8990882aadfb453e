import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
// The runtime's own module, not reward/index.js: a worker's start-up would load the checker, the reward
// host and their imports too (hundreds of ms of CPU per worker, measured).
import { RewardRuntime, type RewardRuntimeOptions } from '../reward/runtime.js';
import { freshArrays, type ArraySource } from './buffer-pool.js';
import { compareEpisode, type EpisodeComparison } from './compare.js';
import type { EpisodeLogged, EpisodeSteps } from './episode-columns.js';
import { dtColumn, emptyResult, episodeTickHz, evaluateRows, newFormUse, type RelabelResult } from './relabel-episode.js';
import { writeRelabelResultFile } from './result-file.js';
import { summariseEpisode, type EpisodeSummary, type RunningStats } from './stats.js';
import { loadStoredEpisode } from './stored-episode.js';
import { verifyEpisode, type VerifyReport } from './verify.js';
import type { VisionRelabelOptions, VisionRelabelReport } from '../vision/relabel-vision.js';
// camera-spec.ts is light (the robot description loader imports it too), unlike relabel-vision.ts.
import { visionKindOf } from '../vision/camera-spec.js';

/**
 * The unit of relabel work, run inside a relabel worker process (pool.ts):
 * read one stored episode (its columns file, else its MCAP file), evaluate one
 * or more reward programs over it in batch mode (relabel: one; diff: two),
 * summarise, and optionally verify program 0 against what was logged, write
 * the result files, or compare programs 0 and 1 step by step.
 */
export type RuntimeTuning = Pick<RewardRuntimeOptions, 'budgetMs' | 'graceMs' | 'memoryMb' | 'batchChunk'>;

export interface ProgramSpec {
  source: string;
  filename: string;
}

export interface EpisodeJob {
  /** The episode's MCAP file. */
  file: string;
  /** Its columns file as the catalog names it; default: beside the MCAP file. */
  columns?: string;
  robot: string;
  /** Verify program 0 against the logged steps of its version. */
  verify: boolean;
  /** Compare with the steps logged under this version instead of program 0's own. */
  verifyAgainst?: string;
  /** Return each program's per-step columns (export, tests). */
  keepColumns: boolean;
  /** Write each program's result file under this folder (<store>/relabel); the outcome names it. */
  saveDir?: string;
  /** Compare programs 0 and 1 step by step (reward diff). */
  compare?: boolean;
  /** Make the columns file from the MCAP file when it is missing, damaged or stale. Default true. */
  writeColumns?: boolean;
  /** Tick rate for episodes with neither a start record nor two steps. */
  tickHz?: number;
  /** Models for rescoring vision fields with new prompts or another encoder (src/vision/relabel-vision.ts). */
  vision?: VisionRelabelOptions;
  /** Evaluate reward() per step even when the program exports rewardColumns (--per-step). */
  perStep?: boolean;
}

export interface ProgramOutcome {
  version: string;
  summary: EpisodeSummary;
  terms: RunningStats[];
  total: RunningStats;
  result?: RelabelResult;
  /** The result file written (saveDir). */
  saved?: string;
  /** Time spent evaluating, ms. */
  evalMs: number;
  /** Rows this episode evaluated through rewardColumns and through reward(), and why rows went per step (docs/reward-columns.md). */
  form: { columnRows: number; stepRows: number; notes: string[] };
}

/** Why a worker process died under an episode (pool.ts): the episode has no result. */
export type WorkerFailure = 'out_of_memory' | 'crashed' | 'timeout';

export interface EpisodeOutcome {
  episode: string;
  robot: string;
  file: string;
  steps: number;
  seq?: Uint32Array;
  programs: ProgramOutcome[];
  verify?: VerifyReport;
  /** Vision fields rescored from the stored embeddings (episodes logged with a camera). */
  vision?: VisionRelabelReport;
  compare?: EpisodeComparison;
  readMs: number;
  /** Where the steps came from. */
  readFrom?: 'columns' | 'mcap';
  /** Why the columns file was not used, when it was not. */
  columnsNote?: string;
  /** The columns file this job made from the MCAP file. */
  columnsWritten?: { file: string; bytes: number };
  /** Set when the episode could not be relabelled at all (unreadable file, no field names, a dead worker). */
  error?: string;
  failure?: WorkerFailure;
}

/** Relabel batch calls this many steps at a time: few sandbox crossings (see bench/relabel.ts). */
export const RELABEL_BATCH_CHUNK = 4096;
/**
 * Offline, a step is killed only 500 ms past its budget (online: 20 ms): a
 * loaded machine (GC, other jobs) must not turn a good step into a timeout,
 * which is not reproducible; a real infinite loop still dies in half a second.
 */
export const RELABEL_GRACE_MS = 500;

export class EpisodeJobRunner {
  /** Runtimes per program, per robot shape (observation and action names). */
  private readonly runtimes = new Map<string, RewardRuntime[]>();
  private readonly arrays: ArraySource;
  /** Whether any program reads ctx.raw (known once one shape is compiled). */
  private rawWanted: boolean | undefined;
  /** Per program: false once its two forms disagreed (or were never wanted); rewardColumns is then not used again in this worker. */
  private readonly columnsOn: boolean[];

  constructor(
    private readonly programs: readonly ProgramSpec[],
    private readonly tuning: RuntimeTuning = {},
    /** A worker passes its BufferPool; results then live until the next job (send or copy them first). */
    arrays?: ArraySource,
  ) {
    if (programs.length === 0) throw new RewarddError('E_CONFIG', 'relabel: expected at least one reward program, found none');
    this.arrays = arrays ?? freshArrays;
    this.columnsOn = programs.map(() => true);
  }

  /** Compiles the programs for one robot shape (also the up-front check that the files are good). */
  async runtimesFor(observationNames: readonly string[], actionNames: readonly string[]): Promise<RewardRuntime[]> {
    const key = `${observationNames.join(',')}|${actionNames.join(',')}`;
    let rts = this.runtimes.get(key);
    if (!rts) {
      rts = [];
      try {
        for (const p of this.programs) {
          rts.push(await RewardRuntime.create(p.source, p.filename, { observationNames, actionNames, batchChunk: RELABEL_BATCH_CHUNK, graceMs: RELABEL_GRACE_MS, ...this.tuning }));
        }
      } catch (e) {
        for (const rt of rts) rt.dispose();
        throw e;
      }
      this.runtimes.set(key, rts);
      this.rawWanted = rts.some((rt) => rt.info.rawNames.length > 0);
    }
    return rts;
  }

  /**
   * `onProgress(steps, evaluating)` is a worker's heartbeat: after reading, once the programs
   * are compiled and evaluation starts (evaluating = true from then on), and between windows.
   */
  async run(job: EpisodeJob, onProgress?: (steps: number, evaluating: boolean) => void): Promise<EpisodeOutcome> {
    const t0 = performance.now();
    let loaded;
    try {
      loaded = await loadStoredEpisode(job.file, job.verify ? 'logged' : 'steps', {
        columnsFile: job.columns, raw: this.rawWanted ?? true, writeColumns: job.writeColumns ?? true, arrays: this.arrays,
      });
    } catch (e) {
      return { episode: '', robot: job.robot, file: job.file, steps: 0, programs: [], readMs: performance.now() - t0, error: (e as Error).message };
    }
    const ep = loaded.ep;
    onProgress?.(0, false);
    const base: EpisodeOutcome = {
      episode: ep.episode, robot: ep.robot || job.robot, file: job.file, steps: ep.count, programs: [], readMs: performance.now() - t0, readFrom: loaded.readFrom,
      ...(loaded.note !== undefined ? { columnsNote: loaded.note } : {}), ...(loaded.written ? { columnsWritten: loaded.written } : {}),
    };
    if (ep.observationNames.length === 0 || ep.actionNames.length === 0) {
      return { ...base, error: `E_STORE: episode ${ep.episode}: expected a start record naming the observation and action fields, found none` };
    }
    try {
      // Vision fields first: the reward reads them. --verify reproduces the log, so each record is scored
      // with the prompts it was scored with then (checked bit for bit); otherwise with the program's meta.vision.
      const rts = await this.runtimesFor(ep.observationNames, ep.actionNames);
      // The vision code (models, image codecs, the MCAP vision reader) loads only for episodes that have
      // vision fields: most relabels never pay for its import.
      const vision = hasVisionFields(ep) ? await (await import('../vision/relabel-vision.js')).relabelVision(ep, job.file, job.verify ? undefined : rts[0]?.info.vision, job.vision ?? {}) : null;
      const out = await this.evaluate(ep, job, onProgress);
      if (vision?.mismatch && out.verify && out.verify.verdict !== 'not-recorded-with-this-version') {
        out.verify.verdict = 'mismatch';
        out.verify.mismatch = vision.mismatch;
      }
      return { ...base, ...out, ...(vision ? { vision } : {}) };
    } catch (e) {
      return { ...base, error: (e as Error).message };
    }
  }

  /** Evaluates the programs over columns already in memory (bench and tests call this directly). */
  async evaluate(
    ep: EpisodeSteps | EpisodeLogged,
    job: Pick<EpisodeJob, 'verify' | 'verifyAgainst' | 'keepColumns' | 'tickHz' | 'saveDir' | 'compare' | 'perStep'>,
    onProgress?: (steps: number, evaluating: boolean) => void,
  ): Promise<Pick<EpisodeOutcome, 'programs' | 'verify' | 'seq' | 'compare'>> {
    const rts = await this.runtimesFor(ep.observationNames, ep.actionNames);
    onProgress?.(0, true);
    // Raw values cannot be recovered from calibrated ones (docs/calibration.md), so an
    // episode logged before rewardd.steps/2 is refused rather than relabelled as all `unavailable`.
    const needsRaw = rts.find((rt) => rt.info.rawNames.length > 0);
    if (needsRaw && !ep.obsRaw && ep.count > 0) {
      throw new RewarddError('E_STORE', `episode ${ep.episode}: expected logged raw values, found none (recorded before rewardd.steps/2); reward "${needsRaw.info.name}" v${needsRaw.info.version} reads meta.raw (${needsRaw.info.rawNames.join(', ')})`);
    }
    const dt = dtColumn(ep.tNs, episodeTickHz(ep, job.tickHz), this.arrays.f64('dt', ep.count));
    const programs: ProgramOutcome[] = [];
    const results: RelabelResult[] = [];
    let verify: VerifyReport | undefined;
    let done = 0;
    for (let p = 0; p < rts.length; p++) {
      const rt = rts[p]!;
      const t = performance.now();
      const result = emptyResult(ep.episode, rt.info.version, [...rt.info.termNames], ep.count, this.arrays, `p${p}.`, true);
      const wanted = this.columnsOn[p]! && rt.info.hasColumns && job.perStep !== true;
      const form = newFormUse(wanted);
      evaluateRows(rt, ep, dt, 0, ep.count, result, onProgress && ((d) => onProgress(done + d, true)), form);
      done += ep.count;
      const evalMs = performance.now() - t;
      const s = summariseEpisode(ep.robot, ep.seq, result);
      const saved = job.saveDir !== undefined ? join(job.saveDir, ep.episode, `${rt.info.version}.rwr`) : undefined;
      if (saved !== undefined) writeRelabelResultFile(saved, result, ep.seq);
      results.push(result);
      const notes = [...form.notes];
      if (p === 0 && job.verify) {
        if (!('loggedSegments' in ep)) throw new RewarddError('E_CONFIG', 'relabel: --verify needs the logged values, which were not read');
        // Segments replayed for the check use the same form as the result (its own row counts are not the episode's).
        const vform = newFormUse(form.columns);
        verify = verifyEpisode(rt, ep, dt, result, job.verifyAgainst, vform);
        notes.push(...vform.notes);
        form.columns = vform.columns;
      }
      // Turned off by a disagreement or a dead sandbox: not tried again in this worker.
      if (wanted && !form.columns) this.columnsOn[p] = false;
      programs.push({
        version: rt.info.version, summary: s.summary, terms: s.terms, total: s.total, evalMs,
        form: { columnRows: form.columnRows, stepRows: form.stepRows, notes },
        ...(job.keepColumns ? { result } : {}), ...(saved !== undefined ? { saved } : {}),
      });
    }
    const compare = job.compare && results.length >= 2 ? compareEpisode(results[0]!, results[1]!) : undefined;
    return { programs, ...(verify ? { verify } : {}), ...(job.keepColumns ? { seq: ep.seq } : {}), ...(compare ? { compare } : {}) };
  }

  dispose(): void {
    for (const rts of this.runtimes.values()) for (const rt of rts) rt.dispose();
    this.runtimes.clear();
  }
}

/** Whether the robot description behind an episode declares observations computed by the vision encoder. */
function hasVisionFields(ep: EpisodeSteps): boolean {
  const fields = (ep.start?.robotDescription.content as { observations?: Array<{ source?: unknown }> } | undefined)?.observations;
  return Array.isArray(fields) && fields.some((f) => visionKindOf(f?.source) !== null);
}
