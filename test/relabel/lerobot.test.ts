import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFlag } from '../../src/core/records.js';
import { readEpisodeColumns } from '../../src/relabel/episode-columns.js';
import { exportEpisodes } from '../../src/relabel/export.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { RelabelStore } from '../../src/relabel/result-store.js';
import { ACT, OBS, SMOOTH, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';
import { pythonHas } from '../helpers/python.js';

/**
 * `rewardd export --format lerobot` read back by pyarrow and pandas (readers nobody here
 * wrote), the way LeRobot's io_utils loads a v3.0 dataset; every value compared with the
 * store (the MCAP files) and the stored relabel results.
 */
let store: string;
let recorded: RecordedEpisode[];
beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-lerobot-'));
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 3, stepLimit: 250, seed: 5 });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));


type Cell = number | string | boolean | number[];
interface Read {
  info: { codebase_version: string; fps: number; total_episodes: number; total_frames: number; total_tasks: number; data_path: string; robot_type: string; features: Record<string, { dtype: string; shape: number[]; names: string[] | null }> };
  stats: Record<string, { min: number[]; max: number[]; mean: number[]; std: number[]; count: number[] }>;
  tasks: Array<{ task: string; task_index: number }>;
  tasks_index_name: string;
  episodes: Array<Record<string, Cell | string[]>>;
  schema: Record<string, string>;
  data_files: string[];
  frames: Array<Record<string, Cell[]>>;
}

const num = (v: Cell): number => (v === 'NaN' ? NaN : (v as number));

describe.skipIf(!pythonHas('pyarrow', 'pandas'))('rewardd export --format lerobot (LeRobotDataset v3.0)', () => {
  it('writes a folder that pyarrow and pandas read back with every value of the store', async () => {
    const rel = await relabelStore({ storeDir: store, reward: { source: SMOOTH, filename: 'smooth.js' } });
    const out = join(store, 'lerobot-smooth');
    const rep = await exportEpisodes({ storeDir: store, program: { source: SMOOTH, filename: 'smooth.js' }, out, format: 'lerobot' });
    expect(rep).toMatchObject({ format: 'lerobot', episodes: 3, reused: 3, steps: rel.steps });
    expect(rep.arrays).toEqual(expect.arrayContaining(['meta/info.json', 'meta/stats.json', 'meta/tasks.parquet', 'meta/episodes/chunk-000/file-000.parquet', 'data/chunk-000/file-000.parquet']));
    expect(existsSync(`${out}.${process.pid}.tmp`)).toBe(false);

    const read = JSON.parse(execFileSync('python3', [fileURLToPath(new URL('./read_lerobot.py', import.meta.url)), out], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })) as Read;
    expect(read.info).toMatchObject({ codebase_version: 'v3.0', fps: 100, total_episodes: 3, total_frames: rel.steps, total_tasks: 1, robot_type: 'rover-test' });
    expect(read.info.features['observation.state']).toEqual({ dtype: 'float32', shape: [OBS.length], names: OBS });
    expect(read.info.features.action).toEqual({ dtype: 'float32', shape: [ACT.length], names: ACT });
    expect(read.schema['observation.state']).toBe(`fixed_size_list<item: float>[${OBS.length}]`);
    expect(read.schema).toMatchObject({ 'next.reward': 'double', 'next.done': 'bool', 'next.success': 'bool', timestamp: 'float', frame_index: 'int64', episode_index: 'int64', index: 'int64', task_index: 'int64' });
    expect(read.tasks_index_name).toBe('task');
    expect(read.tasks).toEqual([{ task: 'drive smoothly', task_index: 0 }]);

    const results = new RelabelStore(store);
    let index = 0;
    const allObs: number[][] = [];
    try {
      for (const [e, rec] of recorded.entries()) {
        const cols = await readEpisodeColumns(join(store, 'rover-test', `${rec.episode}.mcap`));
        const r = results.load(rec.episode, rel.reward.version)!.result;
        const row = read.episodes[e]!;
        expect(row).toMatchObject({ episode_index: e, length: cols.count, tasks: ['drive smoothly'], dataset_from_index: index, dataset_to_index: index + cols.count, 'data/chunk_index': 0, 'data/file_index': 0 });
        const f = read.frames[e]!;
        const n = cols.count;
        expect(f.index!.length).toBe(n);
        const no = OBS.length;
        for (let i = 0; i < n; i++) {
          const state = f['observation.state']![i] as number[];
          const want = Array.from(cols.obs.subarray(i * no, (i + 1) * no));
          expect(state).toEqual(want);
          allObs.push(want);
          expect(f.action![i]).toEqual(Array.from(cols.actionApplied.subarray(i * 2, i * 2 + 2)));
          expect(Object.is(num(f['next.reward']![i]!), r.total[i])).toBe(true);
          expect(f['next.success']![i]).toBe(r.success[i] === 1);
          expect(f['next.done']![i]).toBe((cols.flags[i]! & StepFlag.last) !== 0 || (i === n - 1));
          expect(f.timestamp![i]).toBe(Math.fround(Number(cols.tNs[i]! - cols.tNs[0]!) / 1e9));
          expect(f.frame_index![i]).toBe(i);
          expect(f.episode_index![i]).toBe(e);
          expect(f.index![i]).toBe(index + i);
          expect(f.task_index![i]).toBe(0);
        }
        index += n;
      }
    } finally {
      results.close();
    }
    // stats.json: per dimension over every frame (population std, as numpy's np.std).
    const s = read.stats['observation.state']!;
    expect(s.count).toEqual([index]);
    for (let k = 0; k < OBS.length; k++) {
      const xs = allObs.map((o) => o[k]!);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(s.min[k]).toBe(Math.min(...xs));
      expect(s.max[k]).toBe(Math.max(...xs));
      expect(s.mean[k]).toBeCloseTo(mean, 9);
      expect(s.std[k]).toBeCloseTo(Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length), 9);
    }
  }, 120_000);

  it('puts each episode whole in one data file and starts a new file past the size bound', async () => {
    const out = join(store, 'lerobot-small-files');
    // 0.01 MB: every episode (250 steps or fewer, ~20 KB of columns) starts a new file.
    const rep = await exportEpisodes({ storeDir: store, program: { source: SMOOTH, filename: 'smooth.js' }, out, format: 'lerobot', dataFilesSizeInMb: 0.01 });
    const read = JSON.parse(execFileSync('python3', [fileURLToPath(new URL('./read_lerobot.py', import.meta.url)), out], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })) as Read;
    expect(read.data_files).toEqual(['data/chunk-000/file-000.parquet', 'data/chunk-000/file-001.parquet', 'data/chunk-000/file-002.parquet']);
    expect(read.episodes.map((e) => e['data/file_index'])).toEqual([0, 1, 2]);
    let index = 0;
    for (const [e, rec] of recorded.entries()) {
      const f = read.frames[e]!;
      expect(f.episode_index!.every((x) => x === e)).toBe(true);
      expect(f.index).toEqual(Array.from({ length: rec.steps }, (_, i) => index + i));
      index += rec.steps;
    }
    expect(index).toBe(rep.steps);
  }, 120_000);

  it('refuses an --out folder that exists, and leaves it alone', async () => {
    const out = join(store, 'exists');
    await exportEpisodes({ storeDir: store, program: { source: SMOOTH, filename: 'smooth.js' }, out, format: 'lerobot' });
    await expect(exportEpisodes({ storeDir: store, program: { source: SMOOTH, filename: 'smooth.js' }, out, format: 'lerobot' })).rejects.toThrow(/expected a folder that does not exist yet/);
    expect(existsSync(join(out, 'meta', 'info.json'))).toBe(true);
  }, 120_000);
});
