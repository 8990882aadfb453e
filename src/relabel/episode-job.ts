import { RewarddError } from '../core/errors.js';
import { RewardRuntime, type RewardRuntimeOptions } from '../reward/index.js';
import { readEpisodeColumns, type EpisodeColumns } from './episode-columns.js';
import { dtColumn, episodeTickHz, relabelEpisode, type RelabelResult } from './relabel-episode.js';
import { summariseEpisode, type EpisodeSummary, type RunningStats } from './stats.js';
import { verifyEpisode, type VerifyReport } from './verify.js';
import { relabelVision, type VisionRelabelOptions, type VisionRelabelReport } from '../vision/relabel-vision.js';

/**
 * The unit of relabel work, the same in the main thread and in a worker:
 * read one stored episode into columns, evaluate one or more reward programs
 * over it in batch mode (relabel: one; diff: two), summarise, and optionally
 * verify the first program against what was logged.
 */
export type RuntimeTuning = Pick<RewardRuntimeOptions, 'budgetMs' | 'graceMs' | 'memoryMb' | 'batchChunk'>;

export interface ProgramSpec {
  source: string;
  filename: string;
}

export interface EpisodeJob {
  file: string;
  robot: string;
  /** Verify program 0 against the logged steps of its version. */
  verify: boolean;
  /** Compare with the steps logged under this version instead of program 0's own. */
  verifyAgainst?: string;
  /** Return each program's per-step columns (for saving, diff and export). */
  keepColumns: boolean;
  /** Tick rate for episodes with neither a start record nor two steps. */
  tickHz?: number;
  /** Models for rescoring vision fields with new prompts or another encoder (src/vision/relabel-vision.ts). */
  vision?: VisionRelabelOptions;
}

export interface ProgramOutcome {
  version: string;
  summary: EpisodeSummary;
  terms: RunningStats[];
  total: RunningStats;
  result?: RelabelResult;
  /** Time spent inside evaluateBatch, ms. */
  evalMs: number;
}

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
  readMs: number;
  /** Set when the episode could not be relabelled at all (unreadable file, no field names). */
  error?: string;
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

  constructor(
    private readonly programs: readonly ProgramSpec[],
    private readonly tuning: RuntimeTuning = {},
  ) {
    if (programs.length === 0) throw new RewarddError('E_CONFIG', 'relabel: expected at least one reward program, found none');
  }

  /** Compiles the programs for one robot shape (also the up-front check that the files are good). */
  async runtimesFor(observationNames: readonly string[], actionNames: readonly string[]): Promise<RewardRuntime[]> {
    const key = `${observationNames.join(',')}|${actionNames.join(',')}`;
    let rts = this.runtimes.get(key);
    if (!rts) {
      rts = [];
      for (const p of this.programs) {
        rts.push(await RewardRuntime.create(p.source, p.filename, { observationNames, actionNames, batchChunk: RELABEL_BATCH_CHUNK, graceMs: RELABEL_GRACE_MS, ...this.tuning }));
      }
      this.runtimes.set(key, rts);
    }
    return rts;
  }

  async run(job: EpisodeJob): Promise<EpisodeOutcome> {
    const t0 = performance.now();
    let ep: EpisodeColumns;
    try {
      ep = await readEpisodeColumns(job.file);
    } catch (e) {
      return { episode: '', robot: job.robot, file: job.file, steps: 0, programs: [], readMs: performance.now() - t0, error: (e as Error).message };
    }
    const readMs = performance.now() - t0;
    const base = { episode: ep.episode, robot: ep.robot || job.robot, file: job.file, steps: ep.count, readMs };
    if (ep.observationNames.length === 0 || ep.actionNames.length === 0) {
      return { ...base, programs: [], error: `E_STORE: episode ${ep.episode}: expected a start record naming the observation and action fields, found none` };
    }
    try {
      // Vision fields first: the reward reads them. --verify reproduces the log, so each record is scored
      // with the prompts it was scored with then (checked bit for bit); otherwise with the program's meta.vision.
      const rts = await this.runtimesFor(ep.observationNames, ep.actionNames);
      const vision = await relabelVision(ep, job.file, job.verify ? undefined : rts[0]?.info.vision, job.vision ?? {});
      const out = await this.evaluate(ep, job);
      if (vision?.mismatch && out.verify && out.verify.verdict !== 'not-recorded-with-this-version') {
        out.verify.verdict = 'mismatch';
        out.verify.mismatch = vision.mismatch;
      }
      return { ...base, ...out, ...(vision ? { vision } : {}) };
    } catch (e) {
      return { ...base, programs: [], error: (e as Error).message };
    }
  }

  /** Evaluates the programs over columns already in memory (bench and tests call this directly). */
  async evaluate(ep: EpisodeColumns, job: Pick<EpisodeJob, 'verify' | 'verifyAgainst' | 'keepColumns' | 'tickHz'>): Promise<{ programs: ProgramOutcome[]; verify?: VerifyReport; seq?: Uint32Array }> {
    const rts = await this.runtimesFor(ep.observationNames, ep.actionNames);
    // Raw values cannot be recovered from calibrated ones (docs/calibration.md), so an
    // episode logged before rewardd.steps/2 is refused rather than relabelled as all `unavailable`.
    const needsRaw = rts.find((rt) => rt.info.rawNames.length > 0);
    if (needsRaw && !ep.obsRaw && ep.count > 0) {
      throw new RewarddError('E_STORE', `episode ${ep.episode}: expected logged raw values, found none (recorded before rewardd.steps/2); reward "${needsRaw.info.name}" v${needsRaw.info.version} reads meta.raw (${needsRaw.info.rawNames.join(', ')})`);
    }
    const programs: ProgramOutcome[] = [];
    let verify: VerifyReport | undefined;
    for (let p = 0; p < rts.length; p++) {
      const rt = rts[p]!;
      const t = performance.now();
      const result = relabelEpisode(rt, ep, job.tickHz !== undefined ? { tickHz: job.tickHz } : {});
      const evalMs = performance.now() - t;
      const s = summariseEpisode(ep.robot, ep.seq, result);
      programs.push({ version: rt.info.version, summary: s.summary, terms: s.terms, total: s.total, evalMs, ...(job.keepColumns ? { result } : {}) });
      if (p === 0 && job.verify) verify = verifyEpisode(rt, ep, dtColumn(ep.tNs, episodeTickHz(ep, job.tickHz)), result, job.verifyAgainst);
    }
    return { programs, ...(verify ? { verify } : {}), ...(job.keepColumns ? { seq: ep.seq } : {}) };
  }

  dispose(): void {
    for (const rts of this.runtimes.values()) for (const rt of rts) rt.dispose();
    this.runtimes.clear();
  }
}
