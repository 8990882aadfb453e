import type { StepHistory } from './step-history.js';

/**
 * Decimation in the page, per frame. A window with at most `rawMax` steps is
 * handed to the plot step by step. A denser one becomes one column per pixel:
 * for each series the min, the max and the mean of the steps in that column,
 * so a 1 kHz stream over a 2-minute window (120,000 steps) draws as one value
 * triple per pixel and series, every spike stays inside the drawn envelope,
 * and the mean shows the trend of a term that is mostly noise at that rate.
 *
 * The output arrays are reused from frame to frame (no garbage per frame):
 * their lengths are set to the point count.
 */
export interface Decimated {
  /** Raw: step times. Bucketed: the middle of each non-empty column. */
  x: number[];
  /** Per series (ys[0] the total, ys[1 + k] term column k): raw values, or column means. null draws a gap. */
  ys: (number | null)[][];
  /** Bucketed only: column min and max per series. */
  lo: (number | null)[][];
  hi: (number | null)[][];
  /** Steps that fell in the window. */
  steps: number;
  bucketed: boolean;
  /** Smallest and largest finite value drawn (NaN when none): the plot's y range. */
  yMin: number;
  yMax: number;
}

export const emptyDecimated = (): Decimated => ({ x: [], ys: [], lo: [], hi: [], steps: 0, bucketed: false, yMin: NaN, yMax: NaN });

const val = (v: number): number | null => (Number.isNaN(v) ? null : v);

function shape(a: (number | null)[][], n: number): void {
  while (a.length < n) a.push([]);
  a.length = n;
}

export function decimate(h: StepHistory, t0: number, t1: number, columns: number, out: Decimated, rawMax = 2 * columns): Decimated {
  const series = [h.total, ...h.terms];
  const ns = series.length;
  shape(out.ys, ns);
  shape(out.lo, ns);
  shape(out.hi, ns);
  const k0 = h.lowerBound(t0);
  const k1 = h.upperBound(t1);
  const n = Math.max(0, k1 - k0);
  out.steps = n;
  out.bucketed = n > rawMax;
  let yMin = Infinity;
  let yMax = -Infinity;
  let p = 0;
  if (!out.bucketed) {
    for (let k = k0; k < k1; k++, p++) {
      const r = h.at(k);
      out.x[p] = h.t[r]!;
      for (let s = 0; s < ns; s++) {
        const v = series[s]![r]!;
        out.ys[s]![p] = val(v);
        if (v < yMin) yMin = v;
        if (v > yMax) yMax = v;
      }
    }
  } else {
    const width = (t1 - t0) / columns;
    const sum = new Float64Array(ns);
    const cnt = new Uint32Array(ns);
    const min = new Float64Array(ns);
    const max = new Float64Array(ns);
    let col = -1;
    const flush = (): void => {
      if (col < 0) return;
      out.x[p] = t0 + (col + 0.5) * width;
      for (let s = 0; s < ns; s++) {
        const c = cnt[s]!;
        out.ys[s]![p] = c > 0 ? sum[s]! / c : null;
        out.lo[s]![p] = c > 0 ? min[s]! : null;
        out.hi[s]![p] = c > 0 ? max[s]! : null;
        if (c > 0 && min[s]! < yMin) yMin = min[s]!;
        if (c > 0 && max[s]! > yMax) yMax = max[s]!;
      }
      p++;
    };
    for (let k = k0; k < k1; k++) {
      const r = h.at(k);
      const j = Math.min(columns - 1, Math.max(0, Math.floor((h.t[r]! - t0) / width)));
      if (j !== col) {
        flush();
        col = j;
        sum.fill(0);
        cnt.fill(0);
        min.fill(Infinity);
        max.fill(-Infinity);
      }
      for (let s = 0; s < ns; s++) {
        const v = series[s]![r]!;
        if (Number.isNaN(v)) continue;
        sum[s] = sum[s]! + v;
        cnt[s] = cnt[s]! + 1;
        if (v < min[s]!) min[s] = v;
        if (v > max[s]!) max[s] = v;
      }
    }
    flush();
  }
  out.x.length = p;
  for (const a of [out.ys, out.lo, out.hi]) for (const y of a) y.length = out.bucketed ? p : a === out.ys ? p : 0;
  out.yMin = yMin <= yMax ? yMin : NaN;
  out.yMax = yMin <= yMax ? yMax : NaN;
  return out;
}
