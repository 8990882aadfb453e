import { describe, expect, it } from 'vitest';
import { cosineSimilarity, goalBaselineReward, GoalScorer } from '../../src/vision/goal-reward.js';
import { vision } from '../../src/index.js';

const f = (...v: number[]) => Float32Array.from(v);

/** VLM-RM written out with the projection matrix built explicitly: an independent check of the O(D) form. */
function withMatrix(x: number[], goals: number[][], bases: number[][], alpha: number): number {
  const unit = (v: number[]) => v.map((a) => a / Math.hypot(...v));
  const mean = (l: number[][]) => l[0]!.map((_, i) => l.reduce((s, v) => s + unit(v)[i]!, 0) / l.length);
  const g = mean(goals);
  const b = mean(bases);
  const d = g.map((v, i) => v - b[i]!);
  const dd = d.reduce((s, v) => s + v * v, 0);
  const n = x.length;
  const P = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (alpha * d[i]! * d[j]!) / dd + (i === j ? 1 - alpha : 0)));
  const v = unit(x).map((a, i) => a - g[i]!);
  const vP = Array.from({ length: n }, (_, j) => v.reduce((s, vi, i) => s + vi * P[i]![j]!, 0));
  return 1 - 0.5 * vP.reduce((s, a) => s + a * a, 0);
}

describe('VLM-RM goal-baseline reward', () => {
  // x = (3, 4) -> x̂ = (0.6, 0.8); g = (1, 0), b = (0, 1), d = (1, -1), |d|² = 2, v = x̂ - g = (-0.4, 0.8).
  it('matches hand-computed values for α = 0, 0.5 and 1', () => {
    const x = f(3, 4);
    // α = 0: P = I, R = 1 - ½|v|² = 1 - ½(0.16 + 0.64) = 0.6, the cosine similarity to the single goal.
    expect(goalBaselineReward(x, [f(1, 0)], [f(0, 1)], 0)).toBeCloseTo(0.6, 12);
    expect(cosineSimilarity(x, f(1, 0))).toBeCloseTo(0.6, 12);
    // α = 1: vP = (v·d / |d|²) d = -0.6 (1, -1); R = 1 - ½ · 0.72 = 0.64.
    expect(goalBaselineReward(x, [f(1, 0)], [f(0, 1)], 1)).toBeCloseTo(0.64, 12);
    // α = 0.5: vP = (-0.3, 0.3) + (-0.2, 0.4) = (-0.5, 0.7); R = 1 - ½ · 0.74 = 0.63.
    expect(goalBaselineReward(x, [f(1, 0)], [f(0, 1)], 0.5)).toBeCloseTo(0.63, 12);
  });

  it('averages normalised goals without renormalising the mean (so R differs from the cosine)', () => {
    // g = mean((1,0), (0,1)) = (0.5, 0.5), |g| = 0.707; x̂ = (1/√2, 1/√2): v = x̂ - g, R = 1 - |v|²/2.
    const r = goalBaselineReward(f(1, 1), [f(1, 0), f(0, 1)], [], 0);
    const v = Math.SQRT1_2 - 0.5;
    expect(r).toBeCloseTo(1 - v * v, 12);
    expect(cosineSimilarity(f(1, 1), f(0.5, 0.5))).toBeCloseTo(1, 12);
    expect(r).toBeLessThan(0.96);
    // Embedding scale never matters: every input is normalised.
    expect(goalBaselineReward(f(10, 10), [f(5, 0), f(0, 0.1)], [], 0)).toBe(r);
  });

  it('equals the explicit projection-matrix form on random embeddings', () => {
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    for (let t = 0; t < 20; t++) {
      const n = 8;
      const vec = () => Array.from({ length: n }, rnd);
      const x = vec();
      const goals = [vec(), vec()];
      const bases = [vec(), vec(), vec()];
      const alpha = t / 19;
      const got = goalBaselineReward(Float32Array.from(x), goals.map((g) => Float32Array.from(g)), bases.map((b) => Float32Array.from(b)), alpha);
      const want = withMatrix(Array.from(Float32Array.from(x)), goals.map((g) => Array.from(Float32Array.from(g))), bases.map((b) => Array.from(Float32Array.from(b))), alpha);
      expect(got).toBeCloseTo(want, 10);
    }
  });

  it('is exported from the package and scores a frame the same way every time', () => {
    expect(vision.goalBaselineReward).toBe(goalBaselineReward);
    const sc = new GoalScorer([f(1, 2, 3)], [f(3, 2, 1)], 0.25);
    expect(Object.is(sc.score(f(0.1, 0.2, 0.3)), goalBaselineReward(f(0.1, 0.2, 0.3), [f(1, 2, 3)], [f(3, 2, 1)], 0.25))).toBe(true);
  });

  it('refuses what has no meaning, with one line', () => {
    expect(() => goalBaselineReward(f(1, 0), [f(1, 0)], [f(0, 1)], 1.5)).toThrow(/^E_CONFIG: alpha: expected a number in \[0, 1\], found 1.5$/);
    expect(() => goalBaselineReward(f(1, 0), [], [f(0, 1)], 0.5)).toThrow(/goal embeddings: expected at least one embedding/);
    expect(() => goalBaselineReward(f(1, 0), [f(1, 0)], [], 0.5)).toThrow(/baseline embeddings: expected at least one when alpha > 0/);
    expect(() => goalBaselineReward(f(1, 0), [f(1, 0)], [f(2, 0)], 0.5)).toThrow(/d = g − b is zero/);
    expect(() => goalBaselineReward(f(1, 0, 0), [f(1, 0)], [f(0, 1)], 0.5)).toThrow(/image embedding: expected size 2, found 3/);
  });
});
