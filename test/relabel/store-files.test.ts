import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffRewards } from '../../src/relabel/diff.js';
import { exportEpisodes } from '../../src/relabel/export.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { REACH, recordRoverEpisodes, SMOOTH, type RecordedEpisode } from './fixtures.js';

/**
 * How relabel, diff and export find and treat a store's files: a copied store reads its own files
 * (the catalog names the recorder's paths, which are the original's), a missing file fails its own
 * episode, a filter that matches nothing is an error, and --verify does not compare what depended
 * on steps the store does not have.
 */
let store: string;
let recorded: RecordedEpisode[];
const reach = { source: REACH, filename: 'reach-beacon.reward.js' };
const smooth = { source: SMOOTH, filename: 'smooth.reward.js' };
const tmp: string[] = [];
const scratch = (tag: string): string => {
  const d = mkdtempSync(join(tmpdir(), `rewardd-store-files-${tag}-`));
  tmp.push(d);
  return d;
};

beforeAll(async () => {
  store = scratch('orig');
  // Episode 2 is stored incomplete: its first two batches (100 steps) never reach the recorder.
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 3, stepLimit: 300, dropFirst: { episode: 2, batches: 2 } });
}, 60_000);
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** A copy of the store, as `cp -r` makes it. */
function copyOf(tag: string): string {
  const dir = join(scratch(tag), 'store');
  cpSync(store, dir, { recursive: true });
  return dir;
}
const mcapOf = (dir: string, episode: string): string => join(dir, 'rover-test', `${episode}.mcap`);

describe('relabel, diff and export over the files of the store they are given', () => {
  it('a copied store is read from its own files, not from the store the recorder wrote (whose paths the catalog holds)', async () => {
    const copy = copyOf('copy');
    const ep = recorded[0]!.episode;
    const before = readdirSync(join(store, 'rover-test')).sort();
    // Damage the copy only: its columns file gone, its MCAP file cut short. Read from the original,
    // the episode would relabel fine; read from the copy it must fail, alone.
    unlinkSync(join(copy, 'rover-test', `${ep}.columns`));
    truncateSync(mcapOf(copy, ep), 200);
    const rep = await relabelStore({ storeDir: copy, reward: reach, save: false });
    expect(rep.errors.map((e) => e.episode)).toEqual([ep]);
    expect(rep.errors[0]!.error).toContain(copy);
    expect(rep.episodes.map((e) => e.episode)).toEqual([recorded[1]!.episode, recorded[2]!.episode]);
    // The original was neither read for it nor written to: its files are as they were.
    expect(readdirSync(join(store, 'rover-test')).sort()).toEqual(before);
  }, 60_000);

  it('an episode whose MCAP file is missing fails alone, saying which file, in relabel, diff and export', async () => {
    const copy = copyOf('missing');
    const ep = recorded[1]!.episode;
    unlinkSync(mcapOf(copy, ep));
    const rep = await relabelStore({ storeDir: copy, reward: reach, save: false });
    expect(rep.errors).toHaveLength(1);
    expect(rep.errors[0]!.episode).toBe(ep);
    expect(rep.errors[0]!.error).toMatch(new RegExp(`E_STORE: .*${ep}\\.mcap: expected the episode's MCAP file .*found none`));
    expect(rep.episodes).toHaveLength(2);
    const d = await diffRewards({ storeDir: copy, a: reach, b: smooth });
    expect(d.errors.map((e) => e.file)).toEqual([mcapOf(copy, ep)]);
    expect(d.episodes).toBe(2);
    const out = join(scratch('export'), 'x.npz');
    await expect(exportEpisodes({ storeDir: copy, program: reach, out })).rejects.toThrow(new RegExp(`${ep}\\.mcap: expected the episode's MCAP file`));
  }, 60_000);

  it('a filter that matches nothing is an error in relabel and diff, as in export', async () => {
    await expect(relabelStore({ storeDir: store, reward: reach, episodes: 'robot=rovr' })).rejects.toThrow(/E_STORE: relabel: expected at least one stored episode matching --episodes "robot=rovr" in .*, found none/);
    await expect(diffRewards({ storeDir: store, a: reach, b: smooth, episodes: 'robot=rovr' })).rejects.toThrow(/E_STORE: reward diff: expected at least one stored episode matching --episodes "robot=rovr"/);
  }, 60_000);

  it('--verify does not compare the steps of an incomplete episode whose first steps are missing, and says why', async () => {
    const inc = recorded[2]!.episode;
    const rep = await relabelStore({ storeDir: store, reward: reach, save: false, verify: true, episodes: 'status=incomplete' });
    expect(rep.errors).toEqual([]);
    expect(rep.episodes.map((e) => e.episode)).toEqual([inc]);
    const v = rep.episodes[0]!.verify!;
    // Before the fix: mismatch at step 100 (its progress term had a ctx.prev that is not in the store).
    expect(v.verdict).toBe('match');
    expect(v.comparedSteps).toBe(0);
    expect(v.stopped).toEqual([{ seq: 100, reason: expect.stringMatching(/steps before it are missing from the store/) }]);
    // The complete episodes still verify every step.
    const all = await relabelStore({ storeDir: store, reward: reach, save: false, verify: true, episodes: 'status=complete' });
    for (const e of all.episodes) {
      expect(e.verify!.verdict).toBe('match');
      expect(e.verify!.comparedSteps).toBe(e.steps);
    }
  }, 60_000);

  it('refuses a store path that is a file, and a damaged catalog, saying what was expected', async () => {
    const dir = scratch('bad');
    const file = join(dir, 'not-a-store');
    writeFileSync(file, 'hello');
    await expect(relabelStore({ storeDir: file, reward: reach })).rejects.toThrow(/E_STORE: store .*not-a-store: expected a folder \(the one given to rewardd record --store\), found a file/);
    const damaged = join(dir, 'damaged');
    cpSync(store, damaged, { recursive: true });
    for (const f of readdirSync(damaged)) if (f.startsWith('catalog.sqlite')) rmSync(join(damaged, f));
    writeFileSync(join(damaged, 'catalog.sqlite'), 'x'.repeat(4096));
    await expect(relabelStore({ storeDir: damaged, reward: reach })).rejects.toThrow(/E_STORE: catalog .*catalog\.sqlite: expected a rewardd recorder catalog \(SQLite, made by rewardd record\); SQLite says: file is not a database/);
  }, 60_000);
});
