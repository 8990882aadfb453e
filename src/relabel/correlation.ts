/**
 * Correlations and the canonicalised reward distance used by `reward diff`
 * (docs/relabel.md states the formulas and their assumptions).
 */

/** Streaming co-moments of paired values (Welford), mergeable, for per-term correlations. */
export class CoMoments {
  n = 0;
  mx = 0;
  my = 0;
  /** Σ(x−mx)², Σ(y−my)², Σ(x−mx)(y−my) */
  sxx = 0;
  syy = 0;
  sxy = 0;
  maxAbsDiff = 0;

  push(x: number, y: number): void {
    this.n++;
    const dx = x - this.mx;
    this.mx += dx / this.n;
    const dy = y - this.my;
    this.my += dy / this.n;
    this.sxx += dx * (x - this.mx);
    this.syy += dy * (y - this.my);
    this.sxy += dx * (y - this.my);
    const d = Math.abs(x - y);
    if (d > this.maxAbsDiff) this.maxAbsDiff = d;
  }

  merge(o: CoMoments): void {
    if (o.n === 0) return;
    if (this.n === 0) return void Object.assign(this, o);
    const n = this.n + o.n;
    const dx = o.mx - this.mx;
    const dy = o.my - this.my;
    const f = (this.n * o.n) / n;
    this.sxx += o.sxx + dx * dx * f;
    this.syy += o.syy + dy * dy * f;
    this.sxy += o.sxy + dx * dy * f;
    this.mx += (dx * o.n) / n;
    this.my += (dy * o.n) / n;
    this.n = n;
    this.maxAbsDiff = Math.max(this.maxAbsDiff, o.maxAbsDiff);
  }

  /** Pearson's r; NaN when either side is constant (or fewer than two pairs). */
  pearson(): number {
    return this.n < 2 || this.sxx <= 0 || this.syy <= 0 ? NaN : clamp1(this.sxy / Math.sqrt(this.sxx * this.syy));
  }

  /**
   * The canonical distance D = ½‖C(x) − C(y)‖ with C(r) = (r − mean) / std over
   * the pairs (C(r) = 0 for a constant r). Equals √((1 − r)/2) when neither is
   * constant; 0 when both are; ½ when exactly one is.
   */
  canonicalDistance(): number {
    if (this.n === 0) return NaN;
    const cx = this.sxx > 0;
    const cy = this.syy > 0;
    if (!cx && !cy) return 0;
    if (cx !== cy) return 0.5;
    return Math.sqrt(Math.max(0, (1 - clamp1(this.sxy / Math.sqrt(this.sxx * this.syy))) / 2));
  }
}

const clamp1 = (r: number): number => Math.max(-1, Math.min(1, r));

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const m = new CoMoments();
  for (let i = 0; i < x.length; i++) m.push(x[i]!, y[i]!);
  return m.pearson();
}

/** Fractional ranks (ties share their mean rank), 1-based. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && x[idx[j]!] === x[idx[i]!]) j++;
    const mean = (i + 1 + j) / 2; // ranks i+1..j
    for (let k = i; k < j; k++) r[idx[k]!] = mean;
    i = j;
  }
  return r;
}

/** Spearman's rho: Pearson of the fractional ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}

/**
 * The canonical distance computed from the values themselves (two passes), not
 * from r: for r near 1, √((1 − r)/2) turns rounding in r (~1e-16) into ~1e-8,
 * while ½‖C(x) − C(y)‖ stays at rounding level. Same conventions as
 * CoMoments.canonicalDistance for constant inputs.
 */
export function canonicalDistance(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n === 0 || y.length !== n) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) (mx += x[i]!), (my += y[i]!);
  mx /= n;
  my /= n;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) (vx += (x[i]! - mx) ** 2), (vy += (y[i]! - my) ** 2);
  const sx = Math.sqrt(vx / n);
  const sy = Math.sqrt(vy / n);
  const kx = sx > 0 ? 1 / sx : 0;
  const ky = sy > 0 ? 1 / sy : 0;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += ((x[i]! - mx) * kx - (y[i]! - my) * ky) ** 2;
  return Math.min(1, Math.sqrt(d2 / n) / 2);
}
