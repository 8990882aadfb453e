import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, shortHash } from '../../src/core/hash.js';
import { readEpisodeColumns, readEpisodeColumnsGeneric } from '../../src/relabel/episode-columns.js';
import { readEpisodeColumnsFast } from '../../src/relabel/mcap-columns.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { RelabelStore } from '../../src/relabel/result-store.js';
import { REACH, SMOOTH, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';

let store: string;
let recorded: RecordedEpisode[];
const reach = { source: REACH, filename: 'reach-beacon.reward.js' };

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-relabel-'));
  // Episode 3 swaps to another program at step 120, as a hot swap does on the robot.
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 4, stepLimit: 400, swap: { episode: 3, atStep: 120, source: SMOOTH } });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

describe('rewardd relabel over recorded episodes', () => {
  it('reproduces the logged values bit for bit with the recorded version, and stores results beside the originals', async () => {
    const files = recorded.map((r) => join(store, 'rover-test', `${r.episode}.mcap`));
    const before = files.map((f) => sha256Hex(readFileSync(f)));
    const rep = await relabelStore({ storeDir: store, reward: reach, verify: true, wallMs: () => 1_800_000_000_000 });
    expect(rep.errors).toEqual([]);
    expect(rep.episodes.map((e) => e.episode)).toEqual(recorded.map((r) => r.episode));
    expect(rep.steps).toBe(recorded.reduce((a, r) => a + r.steps, 0));
    expect(rep.verify).toEqual({ compared: 4, matched: 4, mismatched: 0, notRecordedWithThisVersion: 0 });
    // The swapped episode is compared only up to the swap: the rest was logged under another version.
    const last = rep.episodes[3]!.verify!;
    expect([last.comparedSteps, last.loggedSteps], JSON.stringify(last)).toEqual([120, 120]);
    expect(rep.episodes.slice(0, 3).map((e) => e.verify!.comparedSteps)).toEqual(recorded.slice(0, 3).map((r) => r.steps));

    // Reward reflection: every term has finite statistics over every step.
    expect(rep.terms.map((t) => t.term)).toEqual(['distance', 'heading', 'progress', 'effort']);
    for (const t of rep.terms) {
      expect(t.steps).toBe(rep.steps);
      expect(t.min).toBeLessThanOrEqual(t.mean);
      expect(t.mean).toBeLessThanOrEqual(t.max);
      expect(t.std).toBeGreaterThan(0);
    }

    // Stored beside the original, keyed by version; the originals are untouched.
    expect(files.map((f) => sha256Hex(readFileSync(f)))).toEqual(before);
    const rs = new RelabelStore(store);
    try {
      for (const e of rep.episodes) {
        expect(e.saved).toBe(join(store, 'relabel', e.episode, `${shortHash(REACH)}.rwr`));
        const back = rs.load(e.episode, shortHash(REACH))!;
        const cols = await readEpisodeColumns(join(store, 'rover-test', `${e.episode}.mcap`));
        expect(back.result.count).toBe(cols.count);
        expect(Array.from(back.seq)).toEqual(Array.from(cols.seq));
        const seg = cols.loggedSegments[0]!;
        // The first segment's totals are the logged ones, bit for bit.
        expect(Array.from(back.result.total.subarray(seg.from, seg.to))).toEqual(Array.from(cols.loggedTotal.subarray(seg.from, seg.to)));
        expect(rs.get(e.episode, shortHash(REACH))!.return).toBe(e.return);
      }
      expect(rs.rewardSource(shortHash(REACH))!.source).toBe(REACH);
    } finally {
      rs.close();
    }
  });

  it('reads stored files with the column reader exactly as the recorder\'s generic reader does', async () => {
    for (const r of recorded) {
      const f = join(store, 'rover-test', `${r.episode}.mcap`);
      const fast = await readEpisodeColumnsFast(f, 1e7);
      const generic = await readEpisodeColumnsGeneric(f, 1e7);
      expect(fast.count).toBe(r.steps);
      expect(fast).toEqual(generic);
      expect(fast.loggedSegments.map((g) => [g.version, g.from, g.to])).toEqual(r.versions.length === 1 ? [[r.versions[0], 0, r.steps]] : [[r.versions[0], 0, 120], [r.versions[1], 120, r.steps]]);
    }
  });

  it('verifies the segment logged after a mid-episode swap with the swapped-in version', async () => {
    const rep = await relabelStore({ storeDir: store, reward: { source: SMOOTH, filename: 'smooth.js' }, verify: true, save: false });
    expect(rep.verify).toEqual({ compared: 1, matched: 1, mismatched: 0, notRecordedWithThisVersion: 3 });
    const v = rep.episodes[3]!.verify!;
    expect(v.comparedSteps).toBe(recorded[3]!.steps - 120);
    expect(existsSync(join(store, 'relabel', recorded[0]!.episode, `${shortHash(SMOOTH)}.rwr`))).toBe(false);
  });

  it('--verify catches a changed program at the first step whose values differ', async () => {
    // Clamp the closing speed at 0.999 instead of 1: values change only where |progress| reached 1.
    const changed = REACH.replace('clamp((beaconDistance(ctx.prev) - dist) / ctx.dt, -1, 1)', 'clamp((beaconDistance(ctx.prev) - dist) / ctx.dt, -0.999, 0.999)');
    expect(changed).not.toBe(REACH);
    let expected: { episode: string; seq: number } | undefined;
    for (const r of recorded) {
      const cols = await readEpisodeColumns(join(store, 'rover-test', `${r.episode}.mcap`));
      const seg = cols.loggedSegments[0]!;
      const k = seg.termNames.indexOf('progress');
      for (let row = seg.from; row < seg.to && !expected; row++) if (Math.abs(seg.terms[(row - seg.from) * seg.termNames.length + k]!) > 0.999) expected = { episode: r.episode, seq: cols.seq[row]! };
      if (expected) break;
    }
    expect(expected).toBeDefined();
    const rep = await relabelStore({ storeDir: store, reward: { source: changed, filename: 'changed.js' }, verify: true, verifyAgainst: shortHash(REACH), save: false });
    const bad = rep.episodes.find((e) => e.verify?.verdict === 'mismatch')!;
    expect(bad.episode).toBe(expected!.episode);
    expect(bad.verify!.mismatch).toMatchObject({ seq: expected!.seq, field: 'term progress' });
    expect(Math.abs(bad.verify!.mismatch!.logged as number)).toBe(1);
    expect(Math.abs(bad.verify!.mismatch!.relabelled as number)).toBe(0.999);

    // A comment-only edit has another version hash but is the same reward: verify says so.
    const refactored = `// reviewed\n${REACH}`;
    const same = await relabelStore({ storeDir: store, reward: { source: refactored, filename: 'refactored.js' }, verify: true, verifyAgainst: shortHash(REACH), save: false });
    expect(same.verify).toEqual({ compared: 4, matched: 4, mismatched: 0, notRecordedWithThisVersion: 0 });
  });

  it('gives the same results, bit for bit, with --jobs 1, 2 and 3: reports, statistics and result files', async () => {
    const runs = [];
    const files: Buffer[][] = [];
    for (const jobs of [1, 2, 3]) {
      const rep = await relabelStore({ storeDir: store, reward: reach, jobs, verify: true });
      runs.push(rep);
      files.push(rep.episodes.map((e) => readFileSync(e.saved!)));
    }
    expect(runs.map((r) => r.jobs)).toEqual([1, 2, 3]);
    for (const r of runs.slice(1)) {
      expect(r.verify!.matched).toBe(4);
      expect(r.episodes.map(({ saved: _, ...e }) => e)).toEqual(runs[0]!.episodes.map(({ saved: _, ...e }) => e));
      // Merged in episode order, whichever worker finished first: the same floats, not just close ones.
      expect(r.terms).toEqual(runs[0]!.terms);
      expect(r.total).toEqual(runs[0]!.total);
    }
    for (const f of files.slice(1)) expect(f.map((b) => sha256Hex(b))).toEqual(files[0]!.map((b) => sha256Hex(b)));
    // Each re-run replaced the result files (replace-file.ts frees the old ones off the worker's thread):
    // once the workers are gone, nothing but the results is left beside them.
    for (const e of runs[2]!.episodes) expect(readdirSync(dirname(e.saved!)).filter((f) => !f.endsWith('.rwr'))).toEqual([]);
  }, 90_000);

  it('a program that hangs costs its episode\'s later steps, not the run: the next episode gets a fresh sandbox', async () => {
    const hang = REACH.replace('const effort =', 'if (ctx.step === 5) { for (;;) {} }\n  const effort =');
    const rep = await relabelStore({ storeDir: store, reward: { source: hang, filename: 'hang.js' }, episodes: 'last=2', save: false, tuning: { graceMs: 100 } });
    expect(rep.errors).toEqual([]);
    expect(rep.episodes).toHaveLength(2);
    for (const e of rep.episodes) {
      expect(e.failures).toEqual({ timeout: 1, unavailable: e.steps - 6 });
      expect(e.firstFailure).toMatch(/^E_REWARD_TIMEOUT/);
      expect(e.returnByTerm.distance).toBeGreaterThan(0); // steps 0..4 were scored
    }
    expect(rep.terms[0]!.steps).toBe(10);
  }, 30_000);

  it('selects episodes with --episodes and refuses a store without a catalog', async () => {
    const rep = await relabelStore({ storeDir: store, reward: reach, save: false, episodes: `${recorded[1]!.episode},last=1` });
    expect(rep.episodes.map((e) => e.episode)).toEqual([recorded[1]!.episode]);
    const glob = await relabelStore({ storeDir: store, reward: reach, save: false, episodes: '*-000[02]' .replace('[02]', '2') });
    expect(glob.episodes.map((e) => e.episode)).toEqual([recorded[2]!.episode]);
    const empty = mkdtempSync(join(tmpdir(), 'rewardd-relabel-empty-'));
    try {
      await expect(relabelStore({ storeDir: empty, reward: reach })).rejects.toThrow(/E_STORE: expected a recorder catalog/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    await expect(relabelStore({ storeDir: store, reward: reach, episodes: 'colour=red' })).rejects.toThrow(/E_CONFIG: --episodes/);
  });
});
