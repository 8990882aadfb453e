import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relabelStore } from '../../src/relabel/relabel.js';
import { RelabelStore } from '../../src/relabel/result-store.js';
import { readEpisodeColumns } from '../../src/relabel/episode-columns.js';
import { RewardStatus } from '../../src/core/records.js';
import { shortHash } from '../../src/core/hash.js';
import { REACH, SMOOTH, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';

let store: string;
let recorded: RecordedEpisode[];
beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-relabel-'));
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 4, stepLimit: 400, swap: { episode: 3, atStep: 120, source: SMOOTH } });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

describe('relabel of recorded episodes', () => {
  it('reproduces the logged terms of every episode recorded with the same version, bit for bit', async () => {
    const rep = await relabelStore({ storeDir: store, reward: { source: REACH, filename: 'reach.js' }, verify: true });
    expect(rep.errors).toEqual([]);
    expect(rep.episodes.map((e) => e.episode)).toEqual(recorded.map((r) => r.episode));
    expect(rep.steps).toBe(recorded.reduce((a, r) => a + r.steps, 0));
    expect(rep.verify).toEqual({ compared: 4, matched: 4, mismatched: 0, notRecordedWithThisVersion: 0 });
    console.log(JSON.stringify(rep.terms), rep.episodes.map(e => [e.steps, e.return, e.success, e.verify?.comparedSteps, e.successSeq, e.doneSeq]));
  });
});
