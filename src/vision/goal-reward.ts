import { RewarddError } from '../core/errors.js';

/**
 * VLM-RM's goal-baseline reward (Rocamonde et al., 2023, eq. 3) and plain
 * cosine similarity (LIV-style goal-image rewards), over CLIP-style embeddings.
 *
 *   x̂ = x / ‖x‖, every goal and baseline embedding normalised the same way;
 *   g = mean of the goal embeddings, b = mean of the baseline embeddings (the means are NOT
 *   renormalised, as in VLM-RM's code); d = g − b;
 *   P = α·d dᵀ/‖d‖² + (1−α)·I;
 *   R = 1 − ½‖(x̂ − g) P‖².
 *
 * P is never built: with v = x̂ − g, vP = α (v·d / ‖d‖²) d + (1−α) v (P is symmetric), which is
 * O(D) instead of O(D²). All sums are float64, in index order, so the online scorer and an
 * offline rescoring of the same Float32Array embeddings give the same bits.
 */
export function normalise(x: ArrayLike<number>): Float64Array {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (x[i] as number);
  const n = Math.sqrt(s);
  const out = new Float64Array(x.length);
  if (!(n > 0) || !Number.isFinite(n)) return out.fill(NaN);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) / n;
  return out;
}

function meanOfNormalised(list: readonly ArrayLike<number>[], dim: number, what: string): Float64Array {
  if (list.length === 0) throw new RewarddError('E_CONFIG', `${what}: expected at least one embedding, found none`);
  const m = new Float64Array(dim);
  for (const e of list) {
    if (e.length !== dim) throw new RewarddError('E_CONFIG', `${what}: expected embeddings of size ${dim}, found one of ${e.length}`);
    const u = normalise(e);
    for (let i = 0; i < dim; i++) m[i] = (m[i] as number) + (u[i] as number);
  }
  for (let i = 0; i < dim; i++) m[i] = (m[i] as number) / list.length;
  return m;
}

/**
 * The prompts' side of the reward, computed once per prompt set (text embeddings change only
 * when the prompts do), then `score(image)` per frame. goalBaselineReward() is this, once.
 */
export class GoalScorer {
  readonly dim: number;
  readonly alpha: number;
  private readonly g: Float64Array;
  private readonly d: Float64Array;
  private readonly dd: number;

  constructor(goals: readonly ArrayLike<number>[], baselines: readonly ArrayLike<number>[], alpha: number) {
    if (!(alpha >= 0 && alpha <= 1)) throw new RewarddError('E_CONFIG', `alpha: expected a number in [0, 1], found ${alpha}`);
    const dim = goals[0]?.length ?? 0;
    this.dim = dim;
    this.alpha = alpha;
    this.g = meanOfNormalised(goals, dim, 'goal embeddings');
    // α = 0 needs no baseline (P = I): VLM-RM's plain goal similarity.
    const b = baselines.length > 0 ? meanOfNormalised(baselines, dim, 'baseline embeddings') : null;
    if (!b && alpha > 0) throw new RewarddError('E_CONFIG', `baseline embeddings: expected at least one when alpha > 0 (alpha ${alpha}), found none`);
    this.d = new Float64Array(dim);
    let dd = 0;
    if (b) {
      for (let i = 0; i < dim; i++) {
        const v = (this.g[i] as number) - (b[i] as number);
        this.d[i] = v;
        dd += v * v;
      }
    }
    if (alpha > 0 && !(dd > 0)) throw new RewarddError('E_CONFIG', 'goal and baseline embeddings: expected different means (d = g − b is zero, so the projection is undefined)');
    this.dd = dd;
  }

  /** R = 1 − ½‖(x̂ − g) P‖², as a float64. No allocation: x̂ is x[i] / ‖x‖ inline. */
  score(image: ArrayLike<number>): number {
    const dim = this.dim;
    if (image.length !== dim) throw new RewarddError('E_CONFIG', `image embedding: expected size ${dim}, found ${image.length}`);
    let nn = 0;
    for (let i = 0; i < dim; i++) nn += (image[i] as number) * (image[i] as number);
    const n = Math.sqrt(nn);
    if (!(n > 0) || !Number.isFinite(n)) return NaN;
    const g = this.g;
    const d = this.d;
    const a = this.alpha;
    let vd = 0;
    if (a > 0) for (let i = 0; i < dim; i++) vd += ((image[i] as number) / n - (g[i] as number)) * (d[i] as number);
    const k = a > 0 ? (a * vd) / this.dd : 0;
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const w = k * (d[i] as number) + (1 - a) * ((image[i] as number) / n - (g[i] as number));
      s += w * w;
    }
    return 1 - 0.5 * s;
  }
}

/** VLM-RM's reward for one image embedding. All arguments are raw (unnormalised) embeddings. */
export function goalBaselineReward(image: Float32Array, goals: readonly Float32Array[], baselines: readonly Float32Array[], alpha: number): number {
  return new GoalScorer(goals, baselines, alpha).score(image);
}

/** Cosine similarity of two embeddings (LIV / goal-image rewards): x̂ · ŷ. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RewarddError('E_CONFIG', `cosine similarity: expected embeddings of one size, found ${a.length} and ${b.length}`);
  const x = normalise(a);
  const y = normalise(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] as number) * (y[i] as number);
  return s;
}
