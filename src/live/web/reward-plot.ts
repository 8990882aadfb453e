import uPlot from 'uplot';
import { decimate, type Decimated } from './decimate.js';
import type { Markers } from './markers.js';
import type { StepHistory } from './step-history.js';

/**
 * The reward plot: total and every term on one time axis, with the markers.
 * Live, the window's right edge follows the newest step; paused (the pause
 * button, a drag-zoom, or the scrub slider), the view stays where it is while
 * steps keep arriving into the history. Double-click returns to live.
 */
export const PALETTE = ['#111827', '#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed', '#0891b2', '#65a30d', '#b91c1c', '#4f46e5', '#0d9488', '#ca8a04', '#9333ea', '#be123c', '#15803d', '#1d4ed8', '#a16207'];

export class RewardPlot {
  plot: uPlot;
  live = true;
  windowS = 30;
  /** The paused view's x range. */
  view: { min: number; max: number } | null = null;
  private readonly data: Decimated = { x: [], ys: [], steps: 0 };
  private programmatic = false;
  redraws = 0;
  lastRedrawMs = 0;

  constructor(private readonly el: HTMLElement, private readonly h: StepHistory, private readonly markers: Markers, private readonly onViewChange: () => void) {
    this.plot = this.build();
    new ResizeObserver(() => this.plot.setSize(this.size())).observe(el);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(300, this.el.clientWidth), height: 320 };
  }

  private build(): uPlot {
    const names = ['total', ...this.h.termNames];
    const series: uPlot.Series[] = [
      { label: 'time' },
      ...names.map((n, i) => ({ label: n, stroke: PALETTE[i % PALETTE.length]!, width: i === 0 ? 2 : 1.25, spanGaps: false, points: { show: false } })),
    ];
    const opts: uPlot.Options = {
      ...this.size(),
      series,
      scales: { x: { time: true } },
      axes: [{}, { label: 'reward', size: 60 }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: true } },
      hooks: {
        draw: [(u) => this.markers.draw(u)],
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
    const max = this.h.count > 0 ? this.h.newestT : Date.now() / 1000;
    // Until the history covers the window, the plot spans what there is (no empty left part).
    const min = this.h.count > 1 ? Math.max(max - this.windowS, this.h.oldestT) : max - this.windowS;
    return { min, max };
  }

  redraw(): void {
    const t0 = performance.now();
    const { min, max } = this.range();
    const u = this.plot;
    decimate(this.h, min, max, Math.max(100, Math.floor(u.bbox.width / devicePixelRatio) || 800), this.data);
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
