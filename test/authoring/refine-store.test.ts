import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefineReport } from '../../src/authoring/refine.js';
import { loadOutcomes, StoreEvaluator } from '../../src/authoring/evaluate-store.js';
import { FakeLlm, fenced } from '../helpers/fake-llm.js';
import { tempDirs } from '../helpers/temp.js';
import { recordRoverEpisodes } from '../relabel/fixtures.js';
import { filesContaining, KEY, ROVER, runCli } from './helpers.js';

// Child processes and training: on a loaded 2-core machine these take minutes (a quiet one: seconds). No timing is asserted.
const SLOW_MS = 240_000;

const temp = tempDirs();
let store: string;
let fake: FakeLlm;
/** The episodes: a real recording (sim rover, P controller, recorder) where about half reach the beacon in 5 s. */
let episodes: Array<{ episode: string }>;
beforeAll(async () => {
  store = temp('rewardd-refine-store-');
  episodes = await recordRoverEpisodes({ storeDir: store, episodes: 10, stepLimit: 500, seed: 11 });
  fake = await FakeLlm.start();
}, SLOW_MS);
afterAll(() => fake.close());

/** A cost per step for being far from the beacon: failed episodes are long and end far away, so their return is lowest. */
const CLOSER = `import { hypot } from 'rewardd';
export const meta = { name: 'closer', goal: 'Drive to the beacon and stop within 0.25 m of it.', weights: { far: -1 } };
export function reward(obs) { return { far: Math.min(hypot(obs.beacon_x, obs.beacon_y), 5) / 5 }; }
export function success(obs) { return hypot(obs.beacon_x, obs.beacon_y) < 0.25; }
`;
/** A bonus for every step: the longest (failed) episodes score highest. */
const ALIVE = `export const meta = { name: 'alive', goal: 'Drive to the beacon and stop within 0.25 m of it.', weights: { alive: 1 } };
export function reward() { return { alive: 1 }; }
`;

describe('operator labels: rewardd episodes label (built binary)', () => {
  it('labels an episode, keeps every earlier label, and refuses unknown episodes and contradictory flags', async () => {
    const ep = episodes[7]!.episode;
    const a = await runCli(['episodes', 'label', ep, '--failure', '--out', store]);
    expect(a.code).toBe(0);
    const b = await runCli(['episodes', 'label', ep, '--success', '--note', 'it touched the beacon; the logger missed it', '--out', store]);
    expect(b.out).toBe(`${ep}: labelled success (it touched the beacon; the logger missed it); replaces 1 earlier label(s), which are kept\n`);
    const show = await runCli(['episodes', 'show', ep, '--out', store]);
    expect(show.out).toMatch(/^label\s+failure \(operator, .*\)\n\s+success \(operator, .*\): it touched the beacon; the logger missed it$/m);
    const list = await runCli(['episodes', 'list', '--out', store]);
    expect(list.out).toMatch(new RegExp(`^${ep}\\s+rover-test\\s+.*\\s+no\\s+success\\s+complete`, 'm'));
    expect((await runCli(['episodes', 'label', 'no-such-episode', '--failure', '--out', store])).code).toBe(1);
    const both = await runCli(['episodes', 'label', ep, '--failure', '--success', '--out', store]);
    expect(both.code).toBe(2);
    expect(both.err).toBe('rewardd episodes: E_CONFIG: label: expected exactly one of --success and --failure, found both\n');
    // The table as another program sees it: Python's sqlite3.
    const py = execFileSync('python3', ['-c', 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("select label, source, note from labels where episode=? order by id", (sys.argv[2],)).fetchall())', join(store, 'catalog.sqlite'), ep], { encoding: 'utf8' });
    expect(py.trim()).toBe("[('failure', 'operator', None), ('success', 'operator', 'it touched the beacon; the logger missed it')]");
    // The newest label overrides the logged outcome; --outcome logged ignores labels.
    expect(loadOutcomes(store, 'auto').get(ep)).toEqual({ success: true, from: 'label' });
    expect(loadOutcomes(store, 'logged').get(ep)).toEqual({ success: false, from: 'logged' });
    expect([...loadOutcomes(store, 'labels').keys()]).toEqual([ep]);
  }, SLOW_MS);
});

describe('the store evaluator', () => {
  it('says which episodes it could not relabel and leaves them out of the ranking, never silently', async () => {
    const copy = join(temp('rewardd-refine-skip-'), 'store');
    cpSync(store, copy, { recursive: true });
    const gone = episodes[3]!.episode;
    unlinkSync(join(copy, 'rover-test', `${gone}.mcap`));
    const ev = new StoreEvaluator({ storeDir: copy, outcome: 'logged', points: 5 });
    try {
      const e = await ev.evaluate({ source: CLOSER, filename: 'closer.reward.js' }, undefined);
      expect(e.ok).toBe(true);
      // Before: the episode was dropped and nothing said so (a camera episode without --vision-model, seen).
      expect(e.reflection!.notes[0]).toMatch(new RegExp(`^1 of 10 episodes could not be relabelled and are left out \\(the first, ${gone}: E_STORE: .*expected the episode's MCAP file`));
    } finally {
      await ev.close();
    }
  }, SLOW_MS);
});

describe('rewardd reward refine --store (built binary, scripted model)', () => {
  it('ranks candidates by Spearman of relabelled return against the outcomes, reports the distance from the current version, and reflects on the episodes', async () => {
    const dir = temp('rewardd-refine-store-');
    const seeds = join(dir, 'seeds');
    mkdirSync(seeds);
    writeFileSync(join(seeds, '1.reward.js'), ALIVE);
    writeFileSync(join(seeds, '2.reward.js'), CLOSER);
    const out = join(dir, 'out');
    const before = fake.requests.length;
    fake.script({ kind: 'answer', content: fenced(CLOSER.replace("'closer'", "'closer-2'").replace('/ 5', '/ 4')) });
    const r = await runCli(['reward', 'refine', '--from', seeds, '--out', out, '--store', store, '--iterations', '1', '--samples', '1', '--robot', ROVER, '--endpoint', fake.url, '--model', 'scripted']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as RefineReport;
    const rho = (id: string): number => rep.candidates.find((c) => c.id === id)!.evaluations[0]!.fitness!;
    expect(rho('0-1')).toBeLessThan(0);
    expect(rho('0-2')).toBeGreaterThan(0.5);
    // refine ranks on [0, 1]: (rho + 1) / 2 when the store is the only fitness.
    expect(rep.candidates.find((c) => c.id === '0-2')!.fitness).toBeCloseTo((rho('0-2') + 1) / 2, 12);
    expect(rep.bestPerIteration[0]).toMatchObject({ iteration: 0, id: '0-2' });
    expect(['0-2', '1-1']).toContain(rep.best!.id);
    const store2 = rep.candidates.find((c) => c.id === '0-2')!.evaluations[0]!;
    expect(store2.details).toMatchObject({ episodes: 10, currentVersion: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(store2.details!.distanceFromCurrent).toBeGreaterThan(0);
    const prompt = fake.requests[before]!.body.messages;
    expect(prompt[2]!.content).toContain("name: 'closer'");
    expect(prompt[3]!.content).toContain('We relabelled the stored field episodes with this reward program');
    expect(prompt[3]!.content).toMatch(/^far \(weight -1\): \[[^\]]+\], Max: /m);
    expect(prompt[3]!.content).toMatch(/Spearman rank correlation of episode return with the outcome \(1 success, 0 failure\) over 10 episodes \(\d+ successes\): 0\.\d+/);
    expect(prompt[3]!.content).toMatch(/^- 0-1: fitness 0\.\d+$/m);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| Spearman \| distance from current \|/);
    expect(filesContaining(out, KEY)).toEqual([]);
  }, SLOW_MS);

  it('keeps one relabel worker warm across candidates (relabel and diff), replaces it when a candidate kills it, and ends it on close()', async () => {
    const pids: number[] = [];
    const ev = new StoreEvaluator({ storeDir: store, outcome: 'auto', points: 5, onWorkerStart: (pid) => pids.push(pid) });
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      const closer = await ev.evaluate({ source: CLOSER, filename: 'closer.reward.js' }, undefined);
      const aliveFit = await ev.evaluate({ source: ALIVE, filename: 'alive.reward.js' }, undefined);
      expect([closer.ok, aliveFit.ok]).toEqual([true, true]);
      expect(closer.details).toMatchObject({ currentVersion: expect.stringMatching(/^[0-9a-f]{12}$/) }); // the diff ran too
      expect(pids).toHaveLength(1); // two relabels and two diffs, one worker
      // A candidate whose step aborts V8 (in one episode) takes its worker down; the rest goes on in a fresh one.
      const bombed = episodes[0]!.episode;
      const bomb = CLOSER.replace('export function reward(obs) {', `export function reward(obs, action, ctx) { if (ctx.episode.id === '${bombed}') new Array(2e8).fill(1.5);`);
      await ev.evaluate({ source: bomb, filename: 'bomb.reward.js' }, undefined);
      const afterBomb = pids.length;
      expect(afterBomb).toBeGreaterThanOrEqual(2);
      const again = await ev.evaluate({ source: CLOSER, filename: 'closer.reward.js' }, undefined);
      expect(again.fitness).toBe(closer.fitness);
      expect(pids.length).toBe(afterBomb); // no worker died under a good candidate
      expect(alive(pids.at(-1)!)).toBe(true);
    } finally {
      await ev.close();
    }
    expect(pids.filter(alive)).toEqual([]);
  }, SLOW_MS);

  it('a store without outcomes of both kinds, or without --sim/--store, is a one-line usage error', async () => {
    const dir = temp('rewardd-refine-store-');
    const f = join(dir, 'a.reward.js');
    writeFileSync(f, ALIVE);
    const none = await runCli(['reward', 'refine', '--from', f, '--out', join(dir, 'o'), '--iterations', '0', '--robot', ROVER]);
    expect(none.code).toBe(2);
    expect(none.err).toBe('rewardd reward refine: E_CONFIG: expected a fitness: --sim, --store DIR, or both; found neither\n');
    const empty = temp('rewardd-refine-empty-');
    const nostore = await runCli(['reward', 'refine', '--from', f, '--out', join(dir, 'o'), '--iterations', '0', '--store', empty, '--robot', ROVER]);
    expect(nostore.code).toBe(1);
    expect(nostore.err.trim().split('\n')).toHaveLength(1);
    expect(nostore.err).toMatch(/E_STORE: .*catalog/);
  }, SLOW_MS);
});
