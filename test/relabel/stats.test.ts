import { describe, expect, it } from 'vitest';
import { summariseEpisode } from '../../src/relabel/stats.js';
import type { RelabelResult } from '../../src/relabel/relabel-episode.js';

/** A relabel result of n rows and nt terms with awkward values; every 7th row but the last two failed (status 2, NaN). */
function result(n: number, nt: number, seed: number): RelabelResult {
  let x = seed;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const status = new Uint8Array(n);
  const terms = new Float64Array(n * nt);
  const total = new Float64Array(n);
  const success = new Uint8Array(n);
  const done = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const bad = i % 7 === 3 && i < n - 2;
    status[i] = bad ? 2 : 0;
    let t = 0;
    for (let k = 0; k < nt; k++) {
      // Mixed magnitudes and a -0, so a sum taken in another order would differ in its last bits.
      const v = bad ? NaN : i === 5 && k === 0 ? -0 : rnd() * 10 ** ((i + k) % 9 - 4);
      terms[i * nt + k] = v;
      t += v;
    }
    total[i] = bad ? NaN : t;
    success[i] = i === n - 2 ? 1 : 0;
    done[i] = i === 3 || i === n - 1 ? 1 : 0;
  }
  return { count: n, status, terms, total, success, done, reasons: new Map([[3, 'step 3 threw']]), episode: 'ep', rewardVersion: 'v', termNames: Array.from({ length: nt }, (_, k) => `t${k}`) };
}

/** The definition, column by column in row order: what the kernels must equal bit for bit. */
function reference(r: RelabelResult, col: (i: number) => number): { sum: number; min: number; max: number; m2: number; ok: number } {
  let sum = 0, min = Infinity, max = -Infinity, ok = 0;
  for (let i = 0; i < r.count; i++) {
    if (r.status[i] !== 0) continue;
    const v = col(i);
    ok++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = ok > 0 ? sum / ok : 0;
  let m2 = 0;
  for (let i = 0; i < r.count; i++) if (r.status[i] === 0) m2 += (col(i) - mean) ** 2;
  return { sum, min, max, m2, ok };
}

describe('summariseEpisode', () => {
  // 1-9 terms: every remainder of the four-column passes, and more than one pass.
  for (const nt of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
    it(`equals the column-by-column definition bit for bit with ${nt} term(s)`, () => {
      const r = result(1000 + nt, nt, nt);
      const seq = Uint32Array.from({ length: r.count }, (_, i) => 100 + i);
      const { summary, terms, total } = summariseEpisode('rover', seq, r);
      for (let k = 0; k <= nt; k++) {
        const ref = reference(r, k < nt ? (i) => r.terms[i * nt + k]! : (i) => r.total[i]!);
        const got = k < nt ? terms[k]! : total;
        expect(Object.is(got.mean, ref.sum / ref.ok), `mean of column ${k}`).toBe(true);
        expect(Object.is(got.min, ref.min) && Object.is(got.max, ref.max), `min/max of column ${k}`).toBe(true);
        expect(Object.is(got.m2, ref.m2), `m2 of column ${k}`).toBe(true);
        expect(got.count).toBe(ref.ok);
        if (k < nt) expect(Object.is(summary.returnByTerm[`t${k}`], ref.sum)).toBe(true);
        else expect(Object.is(summary.return, ref.sum)).toBe(true);
      }
      expect(summary.failed).toBe(r.count - terms[0]!.count);
      expect(summary.failures).toEqual({ threw: r.status.filter((s) => s === 2).length });
      expect(summary.failed).toBeGreaterThan(100);
      expect(summary.firstFailure).toBe('step 3 threw');
      // done() held on failed row 3 first: only ok rows count.
      expect(summary.doneSeq).toBe(100 + r.count - 1);
      expect(summary.successSeq).toBe(100 + r.count - 2);
    });
  }

  it('keeps the first of equal extremes, as the definition does: -0 and 0 in every lane and the total', () => {
    for (const nt of [1, 2, 3, 4, 5]) {
      const r = result(64, nt, 3);
      r.status.fill(0);
      // Only ±0 and ±1, zeros of both signs first in different orders per column: min and max are
      // then decided by which zero came first.
      for (let i = 0; i < r.count; i++) {
        for (let k = 0; k < nt; k++) r.terms[i * nt + k] = i < 2 ? ((i + k) % 2 === 0 ? -0 : 0) : i % 3 === 0 ? 0 : i % 3 === 1 ? -0 : 0;
        r.total[i] = i === 0 ? 0 : -0;
      }
      const { terms, total } = summariseEpisode('rover', new Uint32Array(r.count), r);
      for (let k = 0; k <= nt; k++) {
        const ref = reference(r, k < nt ? (i) => r.terms[i * nt + k]! : (i) => r.total[i]!);
        const got = k < nt ? terms[k]! : total;
        expect(Object.is(got.min, ref.min) && Object.is(got.max, ref.max), `nt ${nt} column ${k}: min ${got.min} max ${got.max}`).toBe(true);
      }
    }
  });

  it('gives NaN-free figures for an episode whose every step failed', () => {
    const r = result(14, 3, 1);
    r.status.fill(2);
    const { summary, terms } = summariseEpisode('rover', new Uint32Array(14), r);
    expect(summary.failed).toBe(14);
    expect(summary.return).toBe(0);
    expect(terms[0]!.count).toBe(0);
    expect(summary.success).toBe(false);
  });
});
