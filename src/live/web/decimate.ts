import type { StepHistory } from './step-history.js';

/**
 * Decimation in the page, per frame: the visible steps become two points per
 * pixel column (the min and the max of each series in that column, in the
 * order they occurred), so a 1 kHz stream over a 2-minute window (120,000
 * steps) draws as ~2 × width points per series and every spike stays visible.
 * Windows with at most `rawMax` steps are drawn step by step (`bucketed` false).
 *
 * The output arrays are reused from frame to frame (no garbage per frame):
 * `x` and each `ys[s]` are plain arrays whose length is set to the point count.
 */
export interface Decimated {
  x: number[];
  /** ys[0] is the total, ys[1 + k] the term column k of the history. null draws a gap. */
  ys: (number | null)[][];
  /** Steps that fell in the window. */
  steps: number;
  /** True when x/ys hold (first, second) pairs per pixel column rather than steps. */
  bucketed: boolean;
}

const val = (v: number): number | null => (Number.isNaN(v) ? null : v);

export function decimate(h: StepHistory, t0: number, t1: number, columns: number, out: Decimated, rawMax = 2 * columns): Decimated {
  const series = [h.total, ...h.terms];
  while (out.ys.length < series.length) out.ys.push([]);
  out.ys.length = series.length;
  const k0 = h.lowerBound(t0);
  const k1 = h.upperBound(t1);
  const n = Math.max(0, k1 - k0);
  out.steps = n;
  let p = 0;
  out.bucketed = n > rawMax;
  if (!out.bucketed) {
    for (let k = k0; k < k1; k++, p++) {
      const r = h.at(k);
      out.x[p] = h.t[r]!;
      for (let s = 0; s < series.length; s++) out.ys[s]![p] = val(series[s]![r]!);
    }
  } else {
    const width = (t1 - t0) / columns;
    let k = k0;
    while (k < k1) {
      const r0 = h.at(k);
      const bucketEnd = h.t[r0]! + width;
      let kEnd = k + 1;
      while (kEnd < k1 && h.t[h.at(kEnd)]! < bucketEnd) kEnd++;
      out.x[p] = h.t[r0]!;
      out.x[p + 1] = h.t[h.at(kEnd - 1)]!;
      for (let s = 0; s < series.length; s++) {
        const col = series[s]!;
        let min = NaN;
        let max = NaN;
        let minAt = 0;
        let maxAt = 0;
        for (let j = k; j < kEnd; j++) {
          const v = col[h.at(j)]!;
          if (Number.isNaN(v)) continue;
          if (!(v >= min)) { min = v; minAt = j; }
          if (!(v <= max)) { max = v; maxAt = j; }
        }
        const first = minAt <= maxAt ? min : max;
        const second = minAt <= maxAt ? max : min;
        out.ys[s]![p] = val(first);
        out.ys[s]![p + 1] = val(second);
      }
      p += 2;
      k = kEnd;
    }
  }
  out.x.length = p;
  for (const y of out.ys) y.length = p;
  return out;
}
