import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { checkRewardOnStore } from '../../src/relabel/check.js';
import { canonicalDistance, ranks, spearman } from '../../src/relabel/correlation.js';
import { diffRewards } from '../../src/relabel/diff.js';
import { formatStoreCheck } from '../../src/relabel/format.js';
import { resolveProgramRef } from '../../src/relabel/program-ref.js';
import { REACH, SMOOTH, recordRoverEpisodes } from './fixtures.js';

let store: string;
const reach = { source: REACH, filename: 'reach-beacon.reward.js' };
/** The same reward times 2.5: every weight scaled by a positive constant. */
const SCALED = REACH.replace('weights: { distance: 1.0, heading: 0.3, progress: 0.5, effort: -0.05 }', 'weights: { distance: 2.5, heading: 0.75, progress: 1.25, effort: -0.125 }');

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-diff-'));
  await recordRoverEpisodes({ storeDir: store, episodes: 5, stepLimit: 300, seed: 11 });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

describe('rewardd reward diff', () => {
  it('the diff of a program with itself is zero', async () => {
    const d = await diffRewards({ storeDir: store, a: reach, b: { ...reach, filename: 'copy.js' } });
    expect(d.episodes).toBe(5);
    expect(d.comparedSteps).toBe(d.steps);
    expect(d.perStep.pearson).toBeCloseTo(1, 12);
    expect(d.perStep.spearman).toBe(1);
    expect(d.perStep.canonicalDistance).toBe(0);
    expect(d.perStep.maxAbsDiff).toBe(0);
    expect(d.returns.spearman).toBe(1);
    expect(d.success.agreement).toBe(1);
    expect(d.terms.map((t) => [t.term, t.change, t.maxAbsDiff])).toEqual([['distance', 'unchanged', 0], ['heading', 'unchanged', 0], ['progress', 'unchanged', 0], ['effort', 'unchanged', 0]]);
  });

  it('a reward times a positive constant is at canonical distance zero while the raw totals differ', async () => {
    const d = await diffRewards({ storeDir: store, a: reach, b: { source: SCALED, filename: 'scaled.js' } });
    expect(d.a.version).not.toBe(d.b.version);
    expect(d.perStep.maxAbsDiff).toBeGreaterThan(0.1);
    expect(d.perStep.meanB / d.perStep.meanA).toBeCloseTo(2.5, 10);
    expect(d.returns.meanB / d.returns.meanA).toBeCloseTo(2.5, 10);
    expect(d.perStep.canonicalDistance).toBeLessThan(1e-12);
    expect(d.perStep.spearman).toBe(1);
    expect(d.terms.every((t) => t.change === 'reweighted')).toBe(true);
    // A constant added to every step: also distance zero.
    const shifted = SCALED.replace('return { distance, heading, progress, effort };', 'return { distance: distance + 0.5, heading, progress, effort };');
    const s = await diffRewards({ storeDir: store, a: reach, b: { source: shifted, filename: 'shifted.js' } });
    expect(s.perStep.meanB).toBeCloseTo(2.5 * s.perStep.meanA + 1.25, 9);
    expect(s.perStep.canonicalDistance).toBeLessThan(1e-12);
  });

  it('a different reward is at a positive distance, with its terms reported as removed and added', async () => {
    const d = await diffRewards({ storeDir: store, a: reach, b: { source: SMOOTH, filename: 'smooth.js' }, jobs: 2 });
    expect(d.perStep.canonicalDistance).toBeGreaterThan(0.05);
    expect(d.perStep.canonicalDistance).toBeLessThanOrEqual(1);
    expect(d.terms.map((t) => `${t.term}:${t.change}`)).toEqual(['distance:removed', 'heading:removed', 'progress:removed', 'effort:removed', 'calm:added', 'speed:added']);
    // Negating a reward is the farthest it can be.
    const neg = REACH.replace('weights: { distance: 1.0, heading: 0.3, progress: 0.5, effort: -0.05 }', 'weights: { distance: -1.0, heading: -0.3, progress: -0.5, effort: 0.05 }');
    const n = await diffRewards({ storeDir: store, a: reach, b: { source: neg, filename: 'neg.js' } });
    expect(n.perStep.canonicalDistance).toBeCloseTo(1, 12);
  }, 60_000);

  it('names versions by hash from the episodes\' start records', async () => {
    const p = await resolveProgramRef(shortHash(REACH), store);
    expect(p.source).toBe(REACH);
    await expect(resolveProgramRef('0123456789ab', store)).rejects.toThrow(/E_FILE/);
  });
});

describe('correlation helpers', () => {
  it('ranks ties by their mean rank, and Spearman sees monotone maps as 1', () => {
    expect(Array.from(ranks([3, 1, 3, 2]))).toEqual([3.5, 1, 3.5, 2]);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBe(1);
    expect(canonicalDistance([1, 2, 3], [5, 5, 5])).toBeCloseTo(0.5, 12);
    expect(canonicalDistance([7, 7], [5, 5])).toBe(0);
    expect(canonicalDistance([1, 2, 3], [13, 12, 11])).toBeCloseTo(1, 12);
  });
});

describe('reward check against the store', () => {
  it('passes a good version and states time per step, term ranges and distance to the active version', async () => {
    const r = await checkRewardOnStore({ storeDir: store, program: { source: SCALED, filename: 'scaled.js' } });
    expect(r.ok).toBe(true);
    expect(r.episodes).toBe(5);
    expect(r.failures.count).toBe(0);
    expect(r.timePerStepUs).toBeGreaterThan(0);
    expect(r.terms.map((t) => t.term)).toEqual(['distance', 'heading', 'progress', 'effort']);
    expect(r.baseline!.version).toBe(shortHash(REACH));
    expect(r.baseline!.canonicalDistance).toBeLessThan(1e-12);
    const text = formatStoreCheck(r);
    expect(text).toMatch(new RegExp(`distance to the active version v${shortHash(REACH)}: canonical (0|[0-9.]+e-1[0-9]),`));
    expect(text).toMatch(/^distance\s+2\.5\s/m);
  });

  it('fails a version whose steps throw, with the reason', async () => {
    const bad = REACH.replace('const effort =', 'if (obs.beacon_x < 0.5) throw new Error("beacon too close");\n  const effort =');
    const r = await checkRewardOnStore({ storeDir: store, program: { source: bad, filename: 'bad.js' } });
    expect(r.ok).toBe(false);
    expect(r.failures.byStatus.threw).toBeGreaterThan(0);
    expect(formatStoreCheck(r)).toMatch(/: FAILED$/m);
    expect(r.errors[0]).toMatch(/expected no failed steps, found \d+ \(\d+ threw\); first: .*beacon too close/);
  });
});
