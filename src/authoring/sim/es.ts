/**
 * OpenAI-style evolution strategies (Salimans et al. 2017): antithetic
 * Gaussian perturbations of the parameter vector, centred-rank fitness
 * shaping, Adam on the estimated gradient, L2 weight decay. Black-box: it
 * needs only episode returns, so the rover model runs as is, no gradients.
 */
import { SeededRandom } from '../../link/sim/random.js';

export interface EsOptions {
  /** Number of antithetic pairs per generation (population = 2 × pairs). */
  pairs: number;
  sigma: number;
  learningRate: number;
  weightDecay: number;
  seed: number;
}

export class EvolutionStrategy {
  readonly theta: Float64Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  private readonly rng: SeededRandom;
  private readonly noise: Float64Array[];

  constructor(initial: ArrayLike<number>, readonly opts: EsOptions) {
    this.theta = Float64Array.from(initial);
    this.m = new Float64Array(this.theta.length);
    this.v = new Float64Array(this.theta.length);
    this.rng = new SeededRandom(opts.seed);
    this.noise = Array.from({ length: opts.pairs }, () => new Float64Array(this.theta.length));
  }

  /** The 2 × pairs candidate parameter vectors of the next generation (+eps, -eps interleaved). */
  ask(): Float64Array[] {
    const out: Float64Array[] = [];
    for (const eps of this.noise) {
      for (let i = 0; i < eps.length; i++) eps[i] = this.rng.gaussian();
      const plus = new Float64Array(this.theta.length);
      const minus = new Float64Array(this.theta.length);
      for (let i = 0; i < eps.length; i++) {
        plus[i] = this.theta[i]! + this.opts.sigma * eps[i]!;
        minus[i] = this.theta[i]! - this.opts.sigma * eps[i]!;
      }
      out.push(plus, minus);
    }
    return out;
  }

  /** Fitness of each candidate from ask(), same order. Returns the gradient norm (for the log). */
  tell(fitness: readonly number[]): number {
    const n = fitness.length;
    // Centred ranks in [-0.5, 0.5]: invariant to the scale of the return, robust to outliers.
    const order = fitness.map((f, i) => [f, i] as const).sort((a, b) => a[0] - b[0]);
    const rank = new Float64Array(n);
    order.forEach(([, i], r) => (rank[i] = r / (n - 1) - 0.5));
    const g = new Float64Array(this.theta.length);
    this.noise.forEach((eps, k) => {
      const w = rank[2 * k]! - rank[2 * k + 1]!;
      for (let i = 0; i < g.length; i++) g[i]! += w * eps[i]!;
    });
    const { learningRate: lr, weightDecay: wd, sigma } = this.opts;
    this.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    let norm = 0;
    for (let i = 0; i < g.length; i++) {
      // Ascent direction; weight decay pulls toward 0.
      const gi = g[i]! / (n * sigma) - wd * this.theta[i]!;
      norm += gi * gi;
      this.m[i] = b1 * this.m[i]! + (1 - b1) * gi;
      this.v[i] = b2 * this.v[i]! + (1 - b2) * gi * gi;
      const mh = this.m[i]! / (1 - b1 ** this.t);
      const vh = this.v[i]! / (1 - b2 ** this.t);
      this.theta[i]! += (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
    return Math.sqrt(norm);
  }
}
