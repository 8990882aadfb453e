/**
 * Streaming statistics for captures: procedures fold every sample into these
 * as it arrives, so memory stays bounded (a few numbers per channel) however
 * long the capture runs.
 */
export class RunningStats {
  count = 0;
  private m = 0;
  private s = 0;

  /** Welford's update: stable for long captures of values with a large mean (gravity). */
  add(x: number): void {
    this.count++;
    const d = x - this.m;
    this.m += d / this.count;
    this.s += d * (x - this.m);
  }

  get mean(): number {
    return this.count > 0 ? this.m : Number.NaN;
  }

  /** Sample standard deviation (0 for fewer than 2 samples). */
  get std(): number {
    return this.count > 1 ? Math.sqrt(this.s / (this.count - 1)) : 0;
  }
}

/** Least-squares line y = a·x + b through the points, with the largest |residual|. */
export function fitLine(xs: readonly number[], ys: readonly number[]): { a: number; b: number; maxError: number; rmsError: number } {
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const a = sxy / sxx;
  const b = my - a * mx;
  let maxError = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(a * xs[i]! + b - ys[i]!);
    maxError = Math.max(maxError, e);
    sq += e * e;
  }
  return { a, b, maxError, rmsError: Math.sqrt(sq / n) };
}

/** Least-squares gain k of y = k·x (a line through the origin), with the largest |residual|. */
export function fitGain(xs: readonly number[], ys: readonly number[]): { k: number; maxError: number } {
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += xs[i]! * ys[i]!;
    sxx += xs[i]! * xs[i]!;
  }
  const k = sxy / sxx;
  let maxError = 0;
  for (let i = 0; i < xs.length; i++) maxError = Math.max(maxError, Math.abs(k * xs[i]! - ys[i]!));
  return { k, maxError };
}

/** Rounds for printing and for the file: measured values carry no more digits than the noise supports. */
export const round = (x: number, digits = 6): number => Number(x.toPrecision(digits));
