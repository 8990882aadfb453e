import uPlot from 'uplot';
import { decimate, emptyDecimated } from './decimate.js';
import type { Markers } from './markers.js';
import type { StepHistory } from './step-history.js';

/**
 * The reward plot: total and every term on one time axis, with the markers.
 *
 * Dense windows (more than one step per 4 pixels) are drawn per pixel column:
 * a faint bar from the column's min to its max (the envelope: no spike is
 * lost) and, over it, the column means joined column to column (the trend).
 * Both are filled rectangles, not stroked paths: a term that swings from -1 to
 * 1 every step, stroked as a line through thousands of points, costs a
 * software rasterizer seconds per frame (measured 0.5–1 fps in headless
 * Chromium); the rectangles cost milliseconds.
 * Live, the window's right edge follows the newest step; paused (the pause
 * button, a drag-zoom, or the scrub slider), the view stays where it is while
 * steps keep arriving into the history. Double-click returns to live.
 */
const linear = uPlot.paths.linear!();
/** How far past the newest step the live window may slide while waiting for the next batch, s. */
const MAX_GLIDE_S = 0.3;

export const PALETTE = ['#111827', '#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed', '#0891b2', '#65a30d', '#b91c1c', '#4f46e5', '#0d9488', '#ca8a04', '#9333ea', '#be123c', '#15803d', '#1d4ed8', '#a16207'];

export class RewardPlot {
  plot: uPlot;
  live = true;
  windowS = 30;
  /** The paused view's x range. */
  view: { min: number; max: number } | null = null;
  private readonly data = emptyDecimated();
  private programmatic = false;
  redraws = 0;
  lastRedrawMs = 0;

  constructor(private readonly el: HTMLElement, private readonly h: StepHistory, private readonly markers: Markers, private readonly onViewChange: () => void) {
    this.plot = this.build();
    // Only a change of width resizes the plot: uPlot's own resize changes the element's height,
    // and answering that would loop once per frame.
    let width = el.clientWidth;
    new ResizeObserver(() => {
      if (el.clientWidth === width) return;
      width = el.clientWidth;
      this.resizes++;
      this.plot.setSize(this.size());
    }).observe(el);
  }

  resizes = 0;

  private size(): { width: number; height: number } {
    return { width: Math.max(300, this.el.clientWidth), height: 320 };
  }

  private build(): uPlot {
    const names = ['total', ...this.h.termNames];
    const series: uPlot.Series[] = [
      { label: 'time' },
      ...names.map((n, i) => ({
        label: n,
        stroke: PALETTE[i % PALETTE.length]!,
        width: i === 0 ? 2 : 1.25,
        spanGaps: false,
        points: { show: false },
        // Dense: no line path; drawBars (the draw hook) paints the columns.
        paths: (u: uPlot, si: number, i0: number, i1: number) => (this.data.bucketed ? null : linear(u, si, i0, i1)),
      })),
    ];
    const opts: uPlot.Options = {
      ...this.size(),
      series,
      scales: {
        x: { time: true },
        // Dense: the range of the envelopes, not only of the means uPlot holds as data.
        y: { range: (_u, min, max) => uPlot.rangeNum(this.data.bucketed && Number.isFinite(this.data.yMin) ? this.data.yMin : min, this.data.bucketed && Number.isFinite(this.data.yMax) ? this.data.yMax : max, 0.1, true) },
      },
      axes: [{}, { label: 'reward', size: 60 }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: true } },
      hooks: {
        draw: [
          (u) => {
            // Terms first, half transparent, then the total on top: a noisy term must not hide it.
            if (this.data.bucketed) for (let si = u.series.length - 1; si >= 1; si--) if (u.series[si]!.show) this.drawBars(u, si);
            this.markers.draw(u);
          },
        ],
        setScale: [
          (u, key) => {
            if (key !== 'x' || this.programmatic) return;
            // A drag-zoom by the user: hold that view.
            const min = u.scales.x!.min;
            const max = u.scales.x!.max;
            if (min !== undefined && max !== undefined && min !== null && max !== null) {
              this.live = false;
              this.view = { min, max };
              this.onViewChange();
            }
          },
        ],
      },
    };
    const old = this.plot as uPlot | undefined;
    old?.destroy();
    const u = new uPlot(opts, [[], ...names.map(() => [])] as uPlot.AlignedData, this.el);
    u.over.addEventListener('dblclick', () => this.goLive());
    return u;
  }

  private drawBars(u: uPlot, si: number): void {
    const d = this.data;
    const xs = d.x;
    const mean = d.ys[si - 1];
    const lo = d.lo[si - 1];
    const hi = d.hi[si - 1];
    if (!mean || !lo || !hi) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const w = Math.max(1, Math.round(devicePixelRatio));
    const line = (si === 1 ? 2 : 1.5) * devicePixelRatio;
    const colW = width / Math.max(1, xs.length);
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.fillStyle = PALETTE[(si - 1) % PALETTE.length]!;
    ctx.globalAlpha = si === 1 ? 0.3 : 0.18;
    for (let p = 0; p < xs.length; p++) {
      const a = lo[p];
      const b = hi[p];
      if (a === null || a === undefined || b === null || b === undefined) continue;
      const y0 = u.valToPos(b, 'y', true);
      const x = Math.round(u.valToPos(xs[p]!, 'x', true));
      // Up to the next column with steps (a few pixels at most), so a window with fewer steps than
      // pixels reads as a band rather than a comb.
      const next = p + 1 < xs.length ? Math.round(u.valToPos(xs[p + 1]!, 'x', true)) : x + w;
      ctx.fillRect(x, y0, Math.min(Math.max(w, next - x), 4 * w), Math.max(1, u.valToPos(a, 'y', true) - y0));
    }
    ctx.globalAlpha = 1;
    let prevY: number | null = null;
    let prevX = -Infinity;
    for (let p = 0; p < xs.length; p++) {
      const m = mean[p];
      if (m === null || m === undefined) {
        prevY = null;
        continue;
      }
      const x = Math.round(u.valToPos(xs[p]!, 'x', true));
      const y = u.valToPos(m, 'y', true);
      // Joined to the previous column's mean unless a gap (no steps) lies between them.
      const from = prevY !== null && x - prevX <= 2 * colW + 1 ? prevY : y;
      const y0 = Math.min(from, y) - line / 2;
      ctx.fillRect(x, y0, w, Math.abs(from - y) + line);
      prevY = y;
      prevX = x;
    }
    ctx.restore();
  }

  /** A new term appeared (a reward version with other terms): the series are rebuilt. */
  rebuild(): void {
    this.plot = this.build();
  }

  goLive(): void {
    this.live = true;
    this.view = null;
    this.onViewChange();
    this.redraw();
  }

  pause(): void {
    if (!this.live) return;
    const max = this.h.newestT;
    this.live = false;
    this.view = { min: max - this.windowS, max };
    this.onViewChange();
  }

  /** Shows the window ending at `t` (the scrub slider). */
  scrubTo(t: number): void {
    this.live = false;
    this.view = { min: t - this.windowS, max: t };
    this.onViewChange();
    this.redraw();
  }

  setWindow(s: number): void {
    this.windowS = s;
    if (this.view) this.view = { min: this.view.max - s, max: this.view.max };
    this.redraw();
  }

  range(): { min: number; max: number } {
    if (!this.live && this.view) return this.view;
    // Steps arrive in batches (every 20–250 ms); between two, the window slides on at the
    // page's frame rate, so the plot scrolls smoothly instead of jumping once per batch.
    const max = this.h.count > 0 ? this.h.newestT + Math.min(MAX_GLIDE_S, (performance.now() - this.h.lastAppendMs) / 1000) : Date.now() / 1000;
    // Until the history covers the window, the plot spans what there is (no empty left part).
    const min = this.h.count > 1 ? Math.max(max - this.windowS, this.h.oldestT) : max - this.windowS;
    return { min, max };
  }

  redraw(): void {
    const t0 = performance.now();
    const { min, max } = this.range();
    const u = this.plot;
    const columns = Math.max(100, Math.floor(u.bbox.width / devicePixelRatio) || 800);
    decimate(this.h, min, max, columns, this.data, Math.floor(columns / 4));
    this.programmatic = true;
    try {
      u.batch(() => {
        u.setData([this.data.x, ...this.data.ys] as uPlot.AlignedData, false);
        u.setScale('x', { min, max });
      });
    } finally {
      this.programmatic = false;
    }
    this.redraws++;
    this.lastRedrawMs = performance.now() - t0;
  }

  /** Points drawn per series in the last frame, and steps behind them. */
  get drawn(): { points: number; steps: number } {
    return { points: this.data.x.length, steps: this.data.steps };
  }
}
