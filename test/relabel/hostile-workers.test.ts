import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelabelPool } from '../../src/relabel/pool.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { REACH, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';

/**
 * Untrusted reward code runs only in relabel worker processes. A worker that
 * dies under an episode (a V8 out-of-memory abort, a segfault, a kill, or
 * killed for reporting no progress) costs that episode alone: it is reported
 * with a reason, and a fresh worker relabels the rest of the store.
 */
let store: string;
let eps: RecordedEpisode[];
// Each hostile act happens in one episode only, picked by its id ('...-0001' is episode 1).
const inEpisode = (k: number, cond: string, act: string): string =>
  REACH.replace('const effort =', `if (ctx.episode.id.endsWith('-000${k}') && ${cond}) { ${act} }\n  const effort =`);

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-hostile-'));
  // Up to 700 steps each: episodes that do not reach the beacon run to the limit.
  eps = await recordRoverEpisodes({ storeDir: store, episodes: 4, stepLimit: 700, seed: 11 });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

describe('hostile reward programs in relabel workers', () => {
  it('an allocation bomb ends its worker (its guard kills it: memory cap, or an allocation that outlives its disposal), a loop and a throw fail their steps, and the other episodes are relabelled', async () => {
    // The bomb goes off at step 500 of the longest episode; the loop and the throw in two others.
    const order = eps.map((e, k) => k).sort((x, y) => eps[y]!.steps - eps[x]!.steps);
    const [bomb, loop, thrower, calm] = order as [number, number, number, number];
    expect(eps[bomb]!.steps).toBeGreaterThan(500);
    expect(eps[thrower]!.steps).toBeGreaterThan(50);
    let program = inEpisode(bomb, 'ctx.step === 500', 'ctx.state.big = new Array(2e8).fill(1.5);');
    program = program.replace('const effort =', `if (ctx.episode.id.endsWith('-000${loop}') && ctx.step === 100) { for (;;) {} }\n  const effort =`);
    program = program.replace('const effort =', `if (ctx.episode.id.endsWith('-000${thrower}') && ctx.step === 50) { throw new Error('boom'); }\n  const effort =`);
    const rep = await relabelStore({ storeDir: store, reward: { source: program, filename: 'hostile.js' }, jobs: 2, save: false });
    expect(rep.errors).toEqual([{ file: expect.stringContaining(eps[bomb]!.episode), episode: eps[bomb]!.episode, error: expect.stringMatching(/(ran out of memory.*\(out_of_memory\)|killed by its guard: .*\((out_of_memory|timeout)\))$/), failure: expect.stringMatching(/^(out_of_memory|timeout)$/) }]);
    expect(rep.episodes.map((e) => e.episode)).toEqual(eps.filter((_, k) => k !== bomb).map((e) => e.episode));
    const line = (k: number) => rep.episodes.find((e) => e.episode === eps[k]!.episode)!;
    expect(line(thrower).failures).toEqual({ threw: 1 });
    expect(line(thrower).firstFailure).toMatch(/^E_REWARD_THREW: .* threw at step 50: Error: boom/);
    expect(line(loop).failures).toEqual({ timeout: 1, unavailable: eps[loop]!.steps - 101 });
    expect(line(calm).failed).toBe(0);
  }, 90_000);

  it('a worker that reports no progress is killed (timeout) and a fresh one takes the rest', async () => {
    // A step that runs for ever inside a generous budget: the watchdog waits, the pool does not.
    const wedge = inEpisode(1, 'ctx.step === 10', 'for (;;) {}');
    const rep = await relabelStore({ storeDir: store, reward: { source: wedge, filename: 'wedge.js' }, save: false, tuning: { budgetMs: 10_000, graceMs: 60_000 }, stallMs: 3000 });
    expect(rep.errors).toEqual([expect.objectContaining({ episode: eps[1]!.episode, failure: 'timeout', error: expect.stringMatching(/reported no progress for \d+ ms \(limit 3000 ms\)/) })]);
    expect(rep.episodes.map((e) => e.episode)).toEqual([eps[0]!.episode, eps[2]!.episode, eps[3]!.episode]);
    expect(rep.failedSteps).toBe(0);
  }, 60_000);

  it('a worker killed by a signal (a segfault, a kill -9) fails its episode as crashed; one pool serves the next run', async () => {
    const pids: number[] = [];
    const pool = new RelabelPool({ workers: 1, onWorkerStart: (pid) => pids.push(pid) });
    try {
      // Episode 2 waits in a loop that the test ends by killing its worker.
      const wedge = inEpisode(2, 'ctx.step === 3', 'for (;;) {}');
      const run = relabelStore({ storeDir: store, reward: { source: wedge, filename: 'wedge.js' }, save: false, pool, tuning: { budgetMs: 10_000, graceMs: 60_000 }, onProgress: (done) => {
        if (done === 2) setTimeout(() => process.kill(pids[pids.length - 1]!, 'SIGSEGV'), 300);
      } });
      const rep = await run;
      expect(rep.errors).toEqual([expect.objectContaining({ episode: eps[2]!.episode, failure: 'crashed', error: expect.stringMatching(/killed by SIGSEGV \(segmentation fault\)/) })]);
      expect(rep.episodes.map((e) => e.episode)).toEqual([eps[0]!.episode, eps[1]!.episode, eps[3]!.episode]);
      expect(pids).toHaveLength(2);
      // The pool stays usable (and warm) for the next run.
      const next = await relabelStore({ storeDir: store, reward: { source: REACH, filename: 'reach.js' }, save: false, pool });
      expect(next.errors).toEqual([]);
      expect(next.episodes).toHaveLength(4);
      expect(pids).toHaveLength(2);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
