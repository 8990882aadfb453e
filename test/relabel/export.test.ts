import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFlag } from '../../src/core/records.js';
import { readEpisodeColumns } from '../../src/relabel/episode-columns.js';
import { exportEpisodes } from '../../src/relabel/export.js';
import { readNpz } from '../../src/relabel/npz.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { ACT, OBS, REACH, SMOOTH, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';
import { pythonHas } from '../helpers/python.js';

let store: string;
let recorded: RecordedEpisode[];
beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-export-'));
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 3, stepLimit: 250, seed: 3 });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

describe('rewardd export (npz, D4RL layout)', () => {
  it('writes relabelled episodes that read back with the stored steps and the relabelled rewards', async () => {
    // SMOOTH is stored by a relabel first (reused by the export); REACH-scored export evaluates on the fly.
    const rel = await relabelStore({ storeDir: store, reward: { source: SMOOTH, filename: 'smooth.js' } });
    const out = join(store, 'smooth.npz');
    const rep = await exportEpisodes({ storeDir: store, program: { source: SMOOTH, filename: 'smooth.js' }, out });
    expect(rep).toMatchObject({ episodes: 3, reused: 3, steps: rel.steps });
    const { arrays, files } = readNpz(out);
    const n = rel.steps;
    const shape = (k: string): number[] => arrays.get(k)!.shape;
    expect(shape('observations')).toEqual([n, OBS.length]);
    expect(shape('next_observations')).toEqual([n, OBS.length]);
    expect(shape('actions')).toEqual([n, ACT.length]);
    expect(shape('rewards')).toEqual([n]);
    expect(shape('reward_terms')).toEqual([n, 2]);
    const meta = JSON.parse(new TextDecoder().decode(files.get('meta.json')!)) as { reward: { termNames: string[] }; episodes: Array<{ episode: string; from: number; length: number; return: number }>; observationNames: string[] };
    expect(meta.reward.termNames).toEqual(['calm', 'speed']);
    expect(meta.observationNames).toEqual(OBS);
    expect(meta.episodes.map((e) => e.episode)).toEqual(recorded.map((r) => r.episode));

    const obs = arrays.get('observations')!.data as Float32Array;
    const next = arrays.get('next_observations')!.data as Float32Array;
    const act = arrays.get('actions')!.data as Float32Array;
    const rew = arrays.get('rewards')!.data as Float64Array;
    const terminals = arrays.get('terminals')!.data as Uint8Array;
    const timeouts = arrays.get('timeouts')!.data as Uint8Array;
    const epIdx = arrays.get('episode_index')!.data as Int32Array;
    const step = arrays.get('step_index')!.data as Uint32Array;
    for (const [e, m] of meta.episodes.entries()) {
      const cols = await readEpisodeColumns(join(store, 'rover-test', `${m.episode}.mcap`));
      expect(m.length).toBe(cols.count);
      const no = OBS.length;
      expect(Array.from(obs.subarray(m.from * no, (m.from + m.length) * no))).toEqual(Array.from(cols.obs));
      expect(Array.from(act.subarray(m.from * 2, (m.from + m.length) * 2))).toEqual(Array.from(cols.actionApplied));
      expect(Array.from(next.subarray(m.from * no, (m.from + 1) * no))).toEqual(Array.from(cols.obs.subarray(no, 2 * no)));
      let ret = 0;
      for (let i = 0; i < m.length; i++) {
        expect(epIdx[m.from + i]).toBe(e);
        expect(step[m.from + i]).toBe(i);
        ret += rew[m.from + i]!;
        const f = cols.flags[i]!;
        expect(terminals[m.from + i]).toBe(f & StepFlag.terminal ? 1 : 0);
        expect(timeouts[m.from + i]).toBe(f & StepFlag.last && !(f & StepFlag.terminal) ? 1 : 0);
      }
      expect(ret).toBeCloseTo(rel.episodes[e]!.return, 9);
      expect(ret).toBe(m.return);
    }
    // Every episode ends in exactly one terminal or timeout.
    expect(Array.from(terminals).reduce((a, b) => a + b, 0) + Array.from(timeouts).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it.runIf(pythonHas('numpy'))('is read by numpy.load as a D4RL-style dict', async () => {
    const out = join(store, 'reach.npz');
    const rep = await exportEpisodes({ storeDir: store, program: { source: REACH, filename: 'reach.js' }, out, episodes: 'last=2' });
    expect(rep.reused).toBe(0);
    const py = [
      'import json, sys, numpy as np',
      'd = np.load(sys.argv[1])',
      'meta = json.loads(bytes(d["meta.json"]) if not isinstance(d["meta.json"], bytes) else d["meta.json"])',
      'print(json.dumps({"keys": sorted(k for k in d.files), "obs": list(d["observations"].shape), "obs_dtype": str(d["observations"].dtype),',
      '  "rewards_sum": float(d["rewards"].sum()), "terminals_dtype": str(d["terminals"].dtype), "episodes": len(meta["episodes"]),',
      '  "returns": [e["return"] for e in meta["episodes"]],',
      '  "dates": sorted({i.date_time for i in __import__("zipfile").ZipFile(sys.argv[1]).infolist()})}))',
    ].join('\n');
    const res = JSON.parse(execFileSync('python3', ['-c', py, out], { encoding: 'utf8' })) as { keys: string[]; obs: number[]; obs_dtype: string; rewards_sum: number; terminals_dtype: string; episodes: number; returns: number[]; dates: number[][] };
    // Every entry dated 1980-01-01 00:00 (a real date; before, 1980-00-00).
    expect(res.dates).toEqual([[1980, 1, 1, 0, 0, 0]]);
    expect(res.keys).toContain('observations');
    expect(res.keys).toContain('meta.json');
    expect(res.obs).toEqual([rep.steps, OBS.length]);
    expect(res.obs_dtype).toBe('float32');
    expect(res.terminals_dtype).toBe('bool');
    expect(res.episodes).toBe(2);
    expect(res.rewards_sum).toBeCloseTo(res.returns[0]! + res.returns[1]!, 6);
  });
});
