import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import type { ExportedEpisode, ExportSink } from './export.js';
import { endFlags, secondsFromStart } from './export.js';
import { writeParquetFile, type ParquetColumn } from './parquet.js';
import type { RewardIdentity } from './result-store.js';

/**
 * `rewardd export --format lerobot`: relabelled episodes as a LeRobotDataset folder,
 * codebase version v3.0, the layout LeRobot's own code writes and loads today
 * (checked against huggingface/lerobot src/lerobot/datasets/: dataset_metadata.py
 * CODEBASE_VERSION = "v3.0", utils.py DEFAULT_DATA_PATH / DEFAULT_EPISODES_PATH /
 * DEFAULT_TASKS_PATH / INFO_PATH / STATS_PATH and DatasetInfo, io_utils.py
 * load_tasks / load_episodes, utils/constants.py DEFAULT_FEATURES; docs/relabel.md):
 *
 *   meta/info.json                                  DatasetInfo: codebase_version, fps, features, totals, paths
 *   meta/stats.json                                 per feature: min, max, mean, std, count
 *   meta/tasks.parquet                              task_index, indexed by the task text (pandas index "task")
 *   meta/episodes/chunk-000/file-000.parquet        one row per episode: where its frames are
 *   data/chunk-CCC/file-FFF.parquet                 the frames, many episodes per file (each whole in one)
 *   meta/rewardd.json                               rewardd's own: reward version, names, episode ids
 *
 * The folder is written beside its final name and renamed at the end, so a failed
 * export leaves nothing that looks like a dataset. Memory: one data file's frames
 * (at most DATA_FILE_BYTES of columns, plus one episode).
 */
export const LEROBOT_CODEBASE_VERSION = 'v3.0';
/** LeRobot's defaults (utils.py): files per chunk folder, MB per data file. */
const CHUNKS_SIZE = 1000;
export const DATA_FILES_SIZE_IN_MB = 100;
const DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
const filePath = (kind: 'data' | 'meta/episodes', file: number): string =>
  `${kind}/chunk-${String(Math.floor(file / CHUNKS_SIZE)).padStart(3, '0')}/file-${String(file % CHUNKS_SIZE).padStart(3, '0')}.parquet`;

/** Running per-dimension moments (Chan et al. merge of exact per-episode sums). */
class Moments {
  readonly count: number[];
  readonly mean: number[];
  readonly m2: number[];
  readonly min: number[];
  readonly max: number[];
  constructor(readonly width: number) {
    this.count = new Array<number>(width).fill(0);
    this.mean = new Array<number>(width).fill(0);
    this.m2 = new Array<number>(width).fill(0);
    this.min = new Array<number>(width).fill(Infinity);
    this.max = new Array<number>(width).fill(-Infinity);
  }
  /** Adds rows of `values` (n × width, row-major); NaN values are skipped (failed reward steps). */
  add(values: ArrayLike<number>, n: number): void {
    const w = this.width;
    for (let k = 0; k < w; k++) {
      let c = 0;
      let s = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = values[i * w + k]!;
        if (v !== v) continue;
        c++;
        s += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (c === 0) continue;
      const mean = s / c;
      let m2 = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i * w + k]!;
        if (v === v) m2 += (v - mean) * (v - mean);
      }
      const n0 = this.count[k]!;
      const tot = n0 + c;
      const d = mean - this.mean[k]!;
      this.mean[k] = this.mean[k]! + (d * c) / tot;
      this.m2[k] = this.m2[k]! + m2 + (d * d * n0 * c) / tot;
      this.count[k] = tot;
      if (lo < this.min[k]!) this.min[k] = lo;
      if (hi > this.max[k]!) this.max[k] = hi;
    }
  }
  json(): Record<string, number[]> {
    const fin = (xs: number[]): number[] => xs.map((x, k) => (this.count[k]! > 0 ? x : 0));
    return {
      min: fin(this.min),
      max: fin(this.max),
      mean: fin(this.mean),
      std: this.m2.map((m, k) => (this.count[k]! > 0 ? Math.sqrt(m / this.count[k]!) : 0)),
      count: [Math.max(0, ...this.count)],
    };
  }
}

interface Feature {
  dtype: 'float32' | 'float64' | 'bool' | 'int64';
  shape: number[];
  names: string[] | null;
}

/** The frames of one data file, gathered episode by episode until the file is full. */
interface PendingFile {
  rows: number;
  bytes: number;
  parts: Array<{ state: Float32Array; action: Float32Array; reward: Float64Array; done: Uint8Array; success: Uint8Array; timestamp: Float32Array; frame: BigInt64Array; episode: BigInt64Array; index: BigInt64Array }>;
}

export class LeRobotSink implements ExportSink {
  private readonly tmp: string;
  private id!: RewardIdentity & { goal: string };
  private obsNames: string[] = [];
  private actNames: string[] = [];
  private fps = 0;
  private file = 0;
  private pending: PendingFile = { rows: 0, bytes: 0, parts: [] };
  private readonly episodes: Array<{ index: number; length: number; file: number; from: number; to: number; id: string }> = [];
  private readonly written: string[] = [];
  private frames = 0;
  private features: Record<string, Feature> = {};
  /** Per feature of `features`, its running statistics (meta/stats.json). */
  private stats: Record<string, Moments> = {};
  /** info.json's robot_type: the first episode's robot. */
  private robot: string | undefined;

  private readonly dataFileBytes: number;

  /** `dataFilesSizeInMb`: a new data file past this many MB of columns (LeRobot's default 100; tests use less). */
  constructor(private readonly out: string, private readonly dataFilesSizeInMb = DATA_FILES_SIZE_IN_MB) {
    if (!(dataFilesSizeInMb > 0)) throw new RewarddError('E_CONFIG', `data file size: expected > 0 MB, found ${dataFilesSizeInMb}`);
    this.dataFileBytes = dataFilesSizeInMb * 1024 * 1024;
    if (existsSync(out)) throw new RewarddError('E_CONFIG', `--out ${out}: expected a folder that does not exist yet (a LeRobot dataset is written whole), found one`);
    this.tmp = `${out}.${process.pid}.tmp`;
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(join(this.tmp, 'meta'), { recursive: true });
  }

  begin(id: RewardIdentity & { goal: string }, observationNames: string[], actionNames: string[]): void {
    this.id = id;
    this.obsNames = observationNames;
    this.actNames = actionNames;
    this.features = {
      'observation.state': { dtype: 'float32', shape: [observationNames.length], names: observationNames },
      action: { dtype: 'float32', shape: [actionNames.length], names: actionNames },
      'next.reward': { dtype: 'float64', shape: [1], names: null },
      'next.done': { dtype: 'bool', shape: [1], names: null },
      'next.success': { dtype: 'bool', shape: [1], names: null },
      timestamp: { dtype: 'float32', shape: [1], names: null },
      frame_index: { dtype: 'int64', shape: [1], names: null },
      episode_index: { dtype: 'int64', shape: [1], names: null },
      index: { dtype: 'int64', shape: [1], names: null },
      task_index: { dtype: 'int64', shape: [1], names: null },
    };
    this.stats = Object.fromEntries(Object.entries(this.features).map(([k, f]) => [k, new Moments(f.shape[0]!)]));
  }

  episode({ index: e, ep, result: r, tickHz }: ExportedEpisode): void {
    if (this.fps === 0) {
      // info.json's fps is an int (DatasetInfo.fps: int); the episodes' real times are in `timestamp`.
      this.fps = Math.max(1, Math.round(tickHz));
      this.robot = ep.robot;
    }
    const n = ep.count;
    const no = this.obsNames.length;
    const na = this.actNames.length;
    const bytes = n * (4 * no + 4 * na + 8 + 2 + 4 + 8 * 3);
    // An episode lives whole in one data file (LeRobot reads it from the one file its row names).
    if (this.pending.rows > 0 && this.pending.bytes + bytes > this.dataFileBytes) this.flush();
    const { terminals, timeouts } = endFlags(ep);
    const done = new Uint8Array(n);
    for (let i = 0; i < n; i++) done[i] = terminals[i]! | timeouts[i]!;
    const timestamp = Float32Array.from(secondsFromStart(ep));
    const frame = new BigInt64Array(n);
    const index = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      frame[i] = BigInt(i);
      index[i] = BigInt(this.frames + i);
    }
    const part = {
      state: ep.obs.slice(0, n * no), action: ep.actionApplied.slice(0, n * na), reward: r.total.slice(0, n), done, success: r.success.slice(0, n),
      timestamp, frame, episode: new BigInt64Array(n).fill(BigInt(e)), index,
    };
    this.pending.parts.push(part);
    this.pending.rows += n;
    this.pending.bytes += bytes;
    this.episodes.push({ index: e, length: n, file: this.file, from: this.frames, to: this.frames + n, id: ep.episode });
    this.frames += n;
    const st = this.stats;
    st['observation.state']!.add(part.state, n);
    st.action!.add(part.action, n);
    st['next.reward']!.add(part.reward, n);
    st['next.done']!.add(done, n);
    st['next.success']!.add(part.success, n);
    st.timestamp!.add(timestamp, n);
    const ints = (a: BigInt64Array): Float64Array => Float64Array.from(a, Number);
    st.frame_index!.add(ints(frame), n);
    st.episode_index!.add(ints(part.episode), n);
    st.index!.add(ints(index), n);
    st.task_index!.add(new Float64Array(n), n);
  }

  finish(): string[] {
    if (this.pending.rows > 0 || this.file === 0) this.flush();
    const task = this.id.goal || this.id.name;
    // meta/tasks.parquet: pandas' to_parquet of DataFrame({task_index}, index=Index([task], name="task")),
    // which is what io_utils.load_tasks reads back (the task text is the index: tasks.iloc[i].name).
    const pandas = {
      index_columns: ['task'],
      column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } }],
      columns: [
        { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
        { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
      ],
      creator: { library: 'rewardd', version: '1' },
      pandas_version: '2.2.0',
    };
    this.put('meta/tasks.parquet', [{ name: 'task_index', type: 'int64', values: new BigInt64Array([0n]) }, { name: 'task', type: 'utf8', values: [task] }], { pandas: JSON.stringify(pandas) });
    const eps = this.episodes;
    const i64 = (f: (x: (typeof eps)[number]) => number): BigInt64Array => BigInt64Array.from(eps, (x) => BigInt(f(x)));
    this.put(filePath('meta/episodes', 0), [
      { name: 'episode_index', type: 'int64', values: i64((x) => x.index) },
      { name: 'tasks', type: 'list<utf8>', values: eps.map(() => [task]) },
      { name: 'length', type: 'int64', values: i64((x) => x.length) },
      { name: 'data/chunk_index', type: 'int64', values: i64((x) => Math.floor(x.file / CHUNKS_SIZE)) },
      { name: 'data/file_index', type: 'int64', values: i64((x) => x.file % CHUNKS_SIZE) },
      { name: 'dataset_from_index', type: 'int64', values: i64((x) => x.from) },
      { name: 'dataset_to_index', type: 'int64', values: i64((x) => x.to) },
      { name: 'meta/episodes/chunk_index', type: 'int64', values: i64(() => 0) },
      { name: 'meta/episodes/file_index', type: 'int64', values: i64(() => 0) },
    ]);
    const info = {
      codebase_version: LEROBOT_CODEBASE_VERSION,
      fps: this.fps || 1,
      features: this.features,
      total_episodes: eps.length,
      total_frames: this.frames,
      total_tasks: 1,
      chunks_size: CHUNKS_SIZE,
      data_files_size_in_mb: this.dataFilesSizeInMb,
      video_files_size_in_mb: 200,
      data_path: DATA_PATH,
      video_path: null,
      robot_type: this.robot ?? null,
      splits: { train: `0:${eps.length}` },
    };
    this.json('meta/info.json', info);
    this.json('meta/stats.json', Object.fromEntries(Object.entries(this.stats).map(([k, m]) => [k, m.json()])));
    this.json('meta/rewardd.json', {
      schema: 'rewardd.lerobot/1',
      reward: { version: this.id.version, sha256: this.id.sha256, name: this.id.name, termNames: this.id.termNames, weights: this.id.weights },
      task,
      episodes: eps.map((x) => ({ episode_index: x.index, episode: x.id })),
    });
    renameSync(this.tmp, this.out);
    return [...this.written].sort();
  }

  discard(): void {
    rmSync(this.tmp, { recursive: true, force: true });
  }

  private flush(): void {
    const p = this.pending;
    const cat = <T extends Float32Array | Float64Array | Uint8Array | BigInt64Array>(pick: (x: PendingFile['parts'][number]) => T, make: (n: number) => T): T => {
      const out = make(p.parts.reduce((a, x) => a + pick(x).length, 0));
      let at = 0;
      for (const x of p.parts) {
        (out as unknown as { set(a: T, o: number): void }).set(pick(x), at);
        at += pick(x).length;
      }
      return out;
    };
    this.put(filePath('data', this.file), [
      { name: 'observation.state', type: 'fixed<float32>', width: this.obsNames.length, values: cat((x) => x.state, (n) => new Float32Array(n)) },
      { name: 'action', type: 'fixed<float32>', width: this.actNames.length, values: cat((x) => x.action, (n) => new Float32Array(n)) },
      { name: 'next.reward', type: 'float64', values: cat((x) => x.reward, (n) => new Float64Array(n)) },
      { name: 'next.done', type: 'bool', values: cat((x) => x.done, (n) => new Uint8Array(n)) },
      { name: 'next.success', type: 'bool', values: cat((x) => x.success, (n) => new Uint8Array(n)) },
      { name: 'timestamp', type: 'float32', values: cat((x) => x.timestamp, (n) => new Float32Array(n)) },
      { name: 'frame_index', type: 'int64', values: cat((x) => x.frame, (n) => new BigInt64Array(n)) },
      { name: 'episode_index', type: 'int64', values: cat((x) => x.episode, (n) => new BigInt64Array(n)) },
      { name: 'index', type: 'int64', values: cat((x) => x.index, (n) => new BigInt64Array(n)) },
      { name: 'task_index', type: 'int64', values: new BigInt64Array(p.rows) },
    ]);
    this.file++;
    this.pending = { rows: 0, bytes: 0, parts: [] };
  }

  private put(rel: string, columns: ParquetColumn[], metadata?: Record<string, string>): void {
    writeParquetFile(join(this.tmp, rel), columns, metadata);
    this.written.push(rel);
  }

  private json(rel: string, v: unknown): void {
    writeFileSync(join(this.tmp, rel), `${JSON.stringify(v, null, 4)}\n`);
    this.written.push(rel);
  }
}
