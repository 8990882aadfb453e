import { describe, expect, it } from 'vitest';
import { RewardStatus, StepFlag } from '../../src/core/records.js';
import type { StepBatch } from '../../src/episode/batch.js';
import { decimate, emptyDecimated } from '../../src/live/web/decimate.js';
import { EpisodeBook, KEEP_EPISODES, TRACE_POINTS } from '../../src/live/web/episodes.js';
import { CAPACITY, MAX_TERMS, StepHistory } from '../../src/live/web/step-history.js';
import { merge, newStats, push } from '../../src/relabel/stats.js';

/**
 * The page's models, in Node (they are plain TypeScript): the bounded step
 * history, the per-pixel min/max decimation, and the per-episode statistics.
 */
function batch(episode: string, seq0: number, count: number, t0Ms: number, dtMs: number, terms: string[], value: (seq: number, k: number) => number, o: { failAt?: number; version?: string } = {}): StepBatch {
  const nt = terms.length;
  const rewardTerms = new Float64Array(count * nt);
  const rewardTotal = new Float64Array(count);
  const rewardStatus = new Uint8Array(count);
  const flags = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const seq = seq0 + i;
    for (let k = 0; k < nt; k++) rewardTerms[i * nt + k] = value(seq, k);
    rewardTotal[i] = terms.reduce((s, _n, k) => s + value(seq, k), 0);
    if (seq === o.failAt) {
      rewardStatus[i] = RewardStatus.threw;
      rewardTotal[i] = NaN;
      for (let k = 0; k < nt; k++) rewardTerms[i * nt + k] = NaN;
    }
    if (seq === 0) flags[i] = StepFlag.first;
  }
  return {
    episode, robot: 'rover', seq0, count, rewardVersion: o.version ?? 'v1', termNames: terms, observationNames: [], actionNames: [],
    tNs: new BigInt64Array(count), obsTNs: new BigInt64Array(count),
    wallMs: Float64Array.from({ length: count }, (_v, i) => t0Ms + (seq0 + i) * dtMs),
    obs: new Float32Array(0), actionCommanded: new Float32Array(0), actionApplied: new Float32Array(0),
    safety: new Uint16Array(count), flags, rewardStatus, rewardTotal, rewardTerms, rewardReasons: [],
  };
}

describe('StepHistory', () => {
  it('keeps the newest CAPACITY steps in time order, skips replayed rows, and caps the term columns', () => {
    const h = new StepHistory();
    const n = CAPACITY + 5000;
    for (let s = 0; s < n; s += 1000) h.append(batch('e1', s, Math.min(1000, n - s), 1e12, 1, ['a', 'b'], (seq, k) => seq + k));
    expect(h.count).toBe(n);
    expect(h.size).toBe(CAPACITY);
    expect(h.terms[1]![h.at(h.first)]).toBe(n - CAPACITY + 1);
    expect(h.oldestT).toBe((1e12 + (n - CAPACITY)) / 1000);
    // A replayed batch (already seen seqs) adds nothing.
    h.append(batch('e1', n - 10, 10, 1e12, 1, ['a', 'b'], () => 0));
    expect(h.count).toBe(n);
    expect(h.skippedRows).toBe(10);
    // Terms beyond the cap are not kept.
    const many = Array.from({ length: MAX_TERMS + 3 }, (_v, k) => `t${k}`);
    h.append(batch('e2', 0, 1, 2e12, 1, many, () => 1));
    expect(h.termNames).toHaveLength(MAX_TERMS);
    expect(h.droppedTerms).toBe(1);
  });

  it('a failed step is a gap (NaN), never a made-up value', () => {
    const h = new StepHistory();
    h.append(batch('e1', 0, 10, 1e12, 10, ['a'], () => 2, { failAt: 4 }));
    expect(Number.isNaN(h.total[h.at(4)]!)).toBe(true);
    expect(h.total[h.at(5)]).toBe(2);
  });
});

describe('decimate', () => {
  it('draws at most two points per column and keeps every extreme', () => {
    const h = new StepHistory();
    // 120 s at 1 kHz: a sine with one spike up and one down.
    const n = 120_000;
    const v = (seq: number): number => (seq === 70_123 ? 50 : seq === 90_456 ? -40 : Math.sin(seq / 500));
    for (let s = 0; s < n; s += 1000) h.append(batch('e1', s, 1000, 1e12, 1, ['a'], (seq) => v(seq)));
    const out = emptyDecimated();
    decimate(h, h.oldestT, h.newestT, 800, out);
    expect(out.bucketed).toBe(true);
    expect(out.steps).toBe(CAPACITY < n ? CAPACITY : n);
    expect(out.x.length).toBeLessThanOrEqual(800);
    // Every spike is inside a column's envelope; the means stay between them.
    const his = out.hi[1]!.filter((y): y is number => y !== null);
    const los = out.lo[1]!.filter((y): y is number => y !== null);
    expect(Math.max(...his)).toBe(50);
    expect(Math.min(...los)).toBe(-40);
    expect([out.yMin, out.yMax]).toEqual([-40, 50]);
    for (let i = 0; i < out.x.length; i++) expect(out.ys[1]![i]!).toBeGreaterThanOrEqual(out.lo[1]![i]!);
    for (let i = 1; i < out.x.length; i++) expect(out.x[i]!).toBeGreaterThan(out.x[i - 1]!);
    // A short window is drawn step by step.
    decimate(h, h.newestT - 0.5, h.newestT, 800, out);
    expect(out.steps).toBe(501);
    expect(out.bucketed).toBe(false);
    expect(out.x.length).toBe(501);
    // Or in columns, when the caller says so (the plot draws dense windows as column bars).
    decimate(h, h.newestT - 0.5, h.newestT, 100, out, 25);
    expect(out.bucketed).toBe(true);
    expect(out.x.length).toBeLessThanOrEqual(100);
  });
});

describe('EpisodeBook', () => {
  it('per-term statistics over ok steps equal the relabel reflection merge, and traces stay bounded', () => {
    const book = new EpisodeBook();
    const expected = newStats();
    for (let e = 0; e < 3; e++) {
      for (let s = 0; s < 5000; s += 500) {
        const b = batch(`ep${e}`, s, 500, 1e12 + e * 1e7, 1, ['a'], (seq) => Math.cos(seq + e), { failAt: 1234 });
        book.onBatch(b);
        for (let i = 0; i < b.count; i++) if (b.rewardStatus[i] === RewardStatus.ok) push(expected, b.rewardTerms[i]!);
      }
    }
    const r = book.rolling(10);
    expect(r.episodes).toBe(3);
    const got = r.byTerm.get('a')!;
    expect(got.count).toBe(3 * 4999);
    expect(got.mean).toBeCloseTo(expected.mean, 12);
    expect(got.min).toBe(expected.min);
    expect(got.max).toBe(expected.max);
    expect(merge(got, newStats()).m2).toBeCloseTo(expected.m2, 6);
    for (const ep of book.episodes.values()) expect(ep.trace.x.length).toBeLessThan(TRACE_POINTS);
    // The overlay's trace is the return so far: its running sum is Σ of the ok steps.
    const ep0 = book.episodes.get('ep0')!;
    const okSum = Array.from({ length: 5000 }, (_v, seq) => (seq === 1234 ? 0 : Math.cos(seq))).reduce((a, b) => a + b, 0);
    expect(ep0.trace.sums.get('a')).toBeCloseTo(okSum, 9);
    const lastSeq = Math.round(ep0.trace.x.at(-1)! * 1000);
    const upToLast = Array.from({ length: lastSeq + 1 }, (_v, seq) => (seq === 1234 ? 0 : Math.cos(seq))).reduce((a, b) => a + b, 0);
    expect(ep0.trace.y.get('a')!.at(-1)).toBeCloseTo(upToLast, 9);
    for (let e = 3; e < KEEP_EPISODES + 5; e++) book.onBatch(batch(`ep${e}`, 0, 1, 1e12, 1, ['a'], () => 1));
    expect(book.episodes.size).toBe(KEEP_EPISODES);
  });
});
