import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { StepFlag } from '../core/records.js';
import type { EpisodeColumns } from './episode-columns.js';
import { freshArrays } from './buffer-pool.js';
import { parseEpisodeFilter, selectEpisodes, type EpisodeFilter } from './episode-filter.js';
import type { EpisodeOutcome, ProgramSpec, RuntimeTuning } from './episode-job.js';
import { NpzWriter } from './npz.js';
import { RelabelPool } from './pool.js';
import { dtColumn, episodeTickHz, type RelabelResult } from './relabel-episode.js';
import { countRead, programIdentities, recordColumns, type ReadReport } from './relabel.js';
import { LeRobotSink } from './lerobot.js';
import { RELABEL_DB, RELABEL_DIR, RelabelStore, type RewardIdentity } from './result-store.js';
import { summariseEpisode, type EpisodeSummary } from './stats.js';
import { loadStoredEpisode } from './stored-episode.js';

/**
 * Relabelled episodes as one NumPy .npz in the D4RL / Minari layout that
 * offline-RL code loads directly (observations, actions, rewards, terminals,
 * timeouts, next_observations), plus rewardd's extras (terms, status, dt,
 * episode and step indices) and a meta.json member. docs/relabel.md lists
 * every array and why this format.
 *
 * Stored relabel results for the version are used when present (no
 * re-evaluation); otherwise the episode is evaluated here, in batch mode.
 */
export const EXPORT_SCHEMA = 'rewardd.export/1';

/** What `rewardd export` writes: the D4RL .npz (this file), or a LeRobotDataset folder (lerobot.ts). */
export type ExportFormat = 'npz' | 'lerobot';

export interface ExportOptions {
  storeDir: string;
  program: ProgramSpec;
  /** The .npz file, or (lerobot) the dataset folder. */
  out: string;
  /** Default npz. */
  format?: ExportFormat;
  episodes?: string | EpisodeFilter;
  tuning?: RuntimeTuning;
  onProgress?: (done: number, total: number, steps: number) => void;
  /** Worker processes kept warm by the caller; default: one worker for this call. */
  pool?: RelabelPool;
  /** lerobot: a new data file past this many MB of columns. Default 100 (LeRobot's). */
  dataFilesSizeInMb?: number;
}

export interface ExportReport {
  /** The file (npz) or folder (lerobot) written. */
  file: string;
  format: ExportFormat;
  rewardVersion: string;
  episodes: number;
  steps: number;
  /** Episodes whose stored relabel result was reused. */
  reused: number;
  /** npz: the arrays; lerobot: the files written, relative to the folder. */
  arrays: string[];
  read: ReadReport;
}

/** One relabelled episode, as an export format receives it (in episode order). */
export interface ExportedEpisode {
  /** 0-based position in the export. */
  index: number;
  ep: EpisodeColumns;
  result: RelabelResult;
  tickHz: number;
  summary: EpisodeSummary;
}

/** What each format implements: names first, then every episode, then finish (or discard on failure). */
export interface ExportSink {
  begin(id: RewardIdentity & { goal: string }, observationNames: string[], actionNames: string[]): void;
  episode(x: ExportedEpisode): void;
  /** Writes what is left; returns the arrays (npz) or files (lerobot) written. */
  finish(meta: { tickHz: number; steps: number; episodes: Array<Record<string, unknown>> }): string[];
  discard(): void;
}

/** The D4RL .npz. */
class NpzSink implements ExportSink {
  private readonly npz: NpzWriter;
  private id!: RewardIdentity;
  private names!: { obs: string[]; act: string[] };
  /** The arrays declared by begin(), in order. */
  private arrays: string[] = [];
  constructor(private readonly out: string) {
    // Said before any work, in words: the writer's own errors name its temporary files (EISDIR, ENOENT on x.npz.observations.<pid>.tmp).
    if (existsSync(out) && statSync(out).isDirectory()) throw new RewarddError('E_CONFIG', `--out ${out}: expected a file name for the .npz, found a folder`);
    if (!existsSync(dirname(resolve(out)))) throw new RewarddError('E_CONFIG', `--out ${out}: expected its folder ${dirname(resolve(out))} to exist, found none`);
    this.npz = new NpzWriter(out);
  }
  begin(id: RewardIdentity, obs: string[], act: string[]): void {
    this.id = id;
    this.names = { obs, act };
    const no = obs.length;
    const na = act.length;
    const nt = id.termNames.length;
    for (const [n, d, w] of [
      ['observations', '<f4', no], ['next_observations', '<f4', no], ['actions', '<f4', na], ['actions_commanded', '<f4', na],
      ['rewards', '<f8', 0], ['reward_terms', '<f8', nt], ['reward_status', '|u1', 0], ['terminals', '|b1', 0], ['timeouts', '|b1', 0],
      ['success', '|b1', 0], ['done', '|b1', 0], ['episode_index', '<i4', 0], ['step_index', '<u4', 0], ['timestamps', '<f8', 0], ['dt', '<f8', 0], ['safety', '<u2', 0],
    ] as const) {
      this.npz.column(n, d, w);
      this.arrays.push(n);
    }
  }
  episode({ index: e, ep, result: r, tickHz: hz }: ExportedEpisode): void {
    const npz = this.npz;
    const n = ep.count;
    const no = this.names.obs.length;
    const next = new Float32Array(n * no);
    if (n > 0) {
      next.set(ep.obs.subarray(no), 0);
      next.set(ep.obs.subarray((n - 1) * no), (n - 1) * no);
    }
    const { terminals, timeouts } = endFlags(ep);
    const ts = secondsFromStart(ep);
    npz.append('observations', ep.obs, n);
    npz.append('next_observations', next, n);
    npz.append('actions', ep.actionApplied, n);
    npz.append('actions_commanded', ep.actionCommanded, n);
    npz.append('rewards', r.total, n);
    npz.append('reward_terms', r.terms, n);
    npz.append('reward_status', r.status, n);
    npz.append('terminals', terminals, n);
    npz.append('timeouts', timeouts, n);
    npz.append('success', r.success, n);
    npz.append('done', r.done, n);
    npz.append('episode_index', new Int32Array(n).fill(e), n);
    npz.append('step_index', ep.seq, n);
    npz.append('timestamps', ts, n);
    npz.append('dt', dtColumn(ep.tNs, hz), n);
    npz.append('safety', ep.safety, n);
  }
  finish(m: { tickHz: number; steps: number; episodes: Array<Record<string, unknown>> }): string[] {
    const id = this.id;
    const meta = {
      schema: EXPORT_SCHEMA,
      reward: { version: id.version, sha256: id.sha256, name: id.name, termNames: id.termNames, weights: id.weights },
      observationNames: this.names?.obs ?? [],
      actionNames: this.names?.act ?? [],
      tickHz: m.tickHz,
      steps: m.steps,
      episodes: m.episodes,
    };
    this.npz.file('meta.json', new TextEncoder().encode(JSON.stringify(meta, null, 1)));
    this.npz.close();
    return [...this.arrays, 'meta.json'];
  }
  discard(): void {
    this.npz.discard();
  }
}

/**
 * The logged RLDS ends of each step: terminal (the task ended: success or done) and timeout
 * (the episode was cut: step limit, shutdown, link lost, e-stop, or recorded incomplete).
 */
export function endFlags(ep: Pick<EpisodeColumns, 'count' | 'flags'>): { terminals: Uint8Array; timeouts: Uint8Array } {
  const n = ep.count;
  const terminals = new Uint8Array(n);
  const timeouts = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const f = ep.flags[i]!;
    terminals[i] = f & StepFlag.terminal ? 1 : 0;
    timeouts[i] = f & StepFlag.last && !(f & StepFlag.terminal) ? 1 : 0;
  }
  // An episode cut short by the recorder (incomplete) has no is_last: its final step is a timeout.
  if (n > 0 && !(ep.flags[n - 1]! & StepFlag.last)) timeouts[n - 1] = 1;
  return { terminals, timeouts };
}

/** Each step's time since the episode's first step, seconds (the RLDS / LeRobot `timestamp`). */
export function secondsFromStart(ep: Pick<EpisodeColumns, 'count' | 'tNs'>): Float64Array {
  const ts = new Float64Array(ep.count);
  for (let i = 0; i < ep.count; i++) ts[i] = Number(ep.tNs[i]! - ep.tNs[0]!) / 1e9;
  return ts;
}

export async function exportEpisodes(o: ExportOptions): Promise<ExportReport> {
  const format = o.format ?? 'npz';
  const filter = typeof o.episodes === 'string' || o.episodes === undefined ? parseEpisodeFilter(o.episodes) : o.episodes;
  const selected = selectEpisodes(o.storeDir, filter);
  if (selected.length === 0) throw new RewarddError('E_STORE', `export: expected at least one stored episode matching the filter in ${o.storeDir}, found none`);
  const tuning = o.tuning ?? {};
  const sink: ExportSink = format === 'lerobot' ? new LeRobotSink(o.out, o.dataFilesSizeInMb) : new NpzSink(o.out);
  const pool = o.pool ?? new RelabelPool({ workers: 1 });
  const store = existsSync(join(o.storeDir, RELABEL_DIR, RELABEL_DB)) ? new RelabelStore(o.storeDir) : undefined;
  const read: ReadReport = { fromColumns: 0, fromMcap: 0, written: 0, notes: [] };
  const written: Array<{ episode: string; file: string; bytes: number }> = [];
  let names: { obs: string[]; act: string[] } | undefined;
  const episodes: Array<Record<string, unknown>> = [];
  let steps = 0;
  let reused = 0;
  let tickHz = NaN;
  try {
    const [id] = await programIdentities(pool, [o.program], tuning, o.storeDir, selected[0]);
    if (!id) throw new RewarddError('E_CONFIG', 'export: the worker returned no program');
    for (let e = 0; e < selected.length; e++) {
      const sel = selected[e]!;
      // This process reads the columns (no reward code runs here); a worker evaluates.
      const loaded = await loadStoredEpisode(sel.file, 'all', { raw: true, writeColumns: true, arrays: freshArrays });
      const ep = loaded.ep;
      countRead(read, { episode: ep.episode, robot: ep.robot, file: sel.file, steps: ep.count, programs: [], readMs: 0, readFrom: loaded.readFrom, ...(loaded.note !== undefined ? { columnsNote: loaded.note } : {}), ...(loaded.written ? { columnsWritten: loaded.written } : {}) }, written);
      if (ep.observationNames.length === 0) throw new RewarddError('E_STORE', `episode ${ep.episode}: expected a start record naming the fields, found none`);
      if (!names) {
        names = { obs: ep.observationNames, act: ep.actionNames };
        sink.begin(id, names.obs, names.act);
      } else if (names.obs.join() !== ep.observationNames.join() || names.act.join() !== ep.actionNames.join()) {
        throw new RewarddError('E_STORE', `episode ${ep.episode}: expected the fields of the first episode (${names.obs.length} obs, ${names.act.length} actions), found others; export one robot at a time (--episodes robot=NAME)`);
      }
      const hz = episodeTickHz(ep);
      if (Number.isNaN(tickHz)) tickHz = hz;
      let r: RelabelResult | undefined;
      const stored = store?.load(ep.episode, id.version);
      if (stored && stored.result.count === ep.count && stored.seq.every((s, i) => s === ep.seq[i])) {
        r = stored.result;
        reused++;
      } else {
        let out: EpisodeOutcome | undefined;
        await pool.run([o.program], tuning, [{ file: sel.file, robot: sel.row.robot, verify: false, keepColumns: true, writeColumns: false }], (x) => (out = x));
        r = out?.programs[0]?.result;
        if (!r || out?.error !== undefined) throw new RewarddError('E_STORE', `export: episode ${ep.episode}: ${out?.error ?? 'no result'}`);
      }
      const s = summariseEpisode(ep.robot, ep.seq, r).summary;
      sink.episode({ index: e, ep, result: r, tickHz: hz, summary: s });
      episodes.push({ episode: ep.episode, robot: ep.robot, from: steps, length: ep.count, return: s.return, success: s.success, failedSteps: s.failed, loggedRewardVersions: ep.loggedSegments.map((g) => g.version), tickHz: hz });
      steps += ep.count;
      o.onProgress?.(e + 1, selected.length, steps);
    }
    const arrays = sink.finish({ tickHz, steps, episodes });
    recordColumns(o.storeDir, written, Date.now(), read);
    return { file: o.out, format, rewardVersion: id.version, episodes: episodes.length, steps, reused, read, arrays };
  } catch (e) {
    sink.discard();
    throw e;
  } finally {
    store?.close();
    if (!o.pool) await pool.close();
  }
}
