import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RewardStatus } from '../../src/core/records.js';
import { decodeStepBatch } from '../../src/episode/batch-codec.js';
import type { StepBatch } from '../../src/episode/batch.js';
import { StepBatcher, type EncodedBatch } from '../../src/episode/step-batcher.js';
import { writeEpisodeMcap } from '../../src/recorder/mcap-episode-writer.js';
import { readEpisodeColumns, readEpisodeColumnsGeneric } from '../../src/relabel/episode-columns.js';
import { EpisodeJobRunner } from '../../src/relabel/episode-job.js';
import { readEpisodeColumnsFast } from '../../src/relabel/mcap-columns.js';
import { relabelEpisode } from '../../src/relabel/relabel-episode.js';
import { RewardRuntime } from '../../src/reward/index.js';
import { ACT, OBS, recordRoverEpisodes } from './fixtures.js';
import { tempDirs } from '../helpers/temp.js';

const RAW_RANGE = readFileSync(fileURLToPath(new URL('../reward/fixtures/raw-range.reward.js', import.meta.url)), 'utf8');
const tmp = tempDirs();
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** One short episode as the batcher logs it, with raw = calibrated × 3 (a calibration that is not the identity). */
function batchesOf(n: number): StepBatch[] {
  const out: EncodedBatch[] = [];
  const batcher = new StepBatcher({ robot: 'rover-test', observationNames: OBS, actionNames: ACT, capacity: 16 }, (b) => out.push(b));
  batcher.beginEpisode('20261127T120000Z-raw-0000');
  for (let t = 0; t < n; t++) {
    const obs = Float32Array.from(OBS, (_, k) => 0.5 + t * 0.01 + k);
    batcher.push({
      tNs: BigInt(t) * 10_000_000n, wallMs: 1_790_000_000_000 + t * 10, obsTNs: 0n, obs, obsRaw: obs.map((v) => v * 3),
      actionCommanded: new Float32Array(2), actionApplied: new Float32Array(2), safety: 0, flags: 0,
      rewardVersion: 'v0', termNames: ['a'], rewardStatus: RewardStatus.ok, rewardTotal: 0, rewardTerms: new Float64Array(1), rewardReason: '',
    });
  }
  batcher.flush();
  return out.map((b) => decodeStepBatch(b.bytes));
}

describe('relabel with raw values', () => {
  it('episodes recorded through the recorder carry obsRaw, and a meta.raw program relabels from it', async () => {
    const store = tmp('rewardd-relabel-raw-');
    await recordRoverEpisodes({ storeDir: store, episodes: 1, stepLimit: 60 });
    const file = join(store, 'rover-test', readdirSync(join(store, 'rover-test')).find((f) => f.endsWith('.mcap'))!);
    const ep = await readEpisodeColumns(file);
    expect(ep.obsRaw).toBeDefined();
    expect(bytes(ep.obsRaw!).equals(bytes(ep.obs))).toBe(true); // the fixture logs an identity calibration
    const rt = await RewardRuntime.create(RAW_RANGE, 'raw-range.reward.js', { observationNames: OBS, actionNames: ACT });
    try {
      const res = relabelEpisode(rt, ep);
      expect([...res.status].every((s) => s === RewardStatus.ok)).toBe(true);
      const i = OBS.indexOf('range_front');
      for (let t = 0; t < ep.count; t++) expect([res.terms[2 * t], res.terms[2 * t + 1]]).toEqual([ep.obs[t * OBS.length + i], ep.obsRaw![t * OBS.length + i]]);
    } finally {
      rt.dispose();
    }
  }, 30_000);

  it('both column readers read raw values back from a file, and agree', async () => {
    const file = join(tmp('rewardd-relabel-raw-file-'), 'ep.mcap');
    const batches = batchesOf(40);
    await writeEpisodeMcap(file, { episode: batches[0]!.episode, robot: 'rover-test', start: undefined, end: undefined, status: 'incomplete', batches });
    const fast = await readEpisodeColumnsFast(file, 1e6);
    const generic = await readEpisodeColumnsGeneric(file, 1e6);
    const logged = Float32Array.from(batches.flatMap((b) => [...b.obsRaw!]));
    expect(bytes(fast.obsRaw!).equals(bytes(logged))).toBe(true);
    expect(bytes(generic.obsRaw!).equals(bytes(logged))).toBe(true);
    expect(bytes(fast.obs).equals(bytes(generic.obs))).toBe(true);
  });

  it('a file of an episode logged without raw values (rewardd.steps/1) reads without them, and a meta.raw program is refused on it', async () => {
    const file = join(tmp('rewardd-relabel-raw-v1-'), 'ep.mcap');
    const batches = batchesOf(20).map(({ obsRaw: _drop, ...b }) => b);
    await writeEpisodeMcap(file, { episode: batches[0]!.episode, robot: 'rover-test', start: undefined, end: undefined, status: 'incomplete', batches });
    const fast = await readEpisodeColumnsFast(file, 1e6); // the old layout is still the fast reader's
    const generic = await readEpisodeColumnsGeneric(file, 1e6);
    expect([fast.count, fast.obsRaw, generic.count, generic.obsRaw]).toEqual([20, undefined, 20, undefined]);
    const runner = new EpisodeJobRunner([{ source: RAW_RANGE, filename: 'raw-range.reward.js' }]);
    try {
      await expect(runner.evaluate(fast, { verify: false, keepColumns: false, tickHz: 100 })).rejects.toThrow(
        /E_STORE: episode 20261127T120000Z-raw-0000: expected logged raw values, found none \(recorded before rewardd.steps\/2\); reward "raw-range" v[0-9a-f]+ reads meta.raw \(range_front\)/,
      );
    } finally {
      runner.dispose();
    }
  });
});
