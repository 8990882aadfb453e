import uPlot from 'uplot';
import type { EpisodeBook } from './episodes.js';

/**
 * The last episodes on top of each other: x is seconds since each episode's
 * first step, y the return so far (Σ of the total, or of one term). Redrawn
 * once a second from the thinned traces of EpisodeBook.
 */
export const OVERLAY_EPISODES = 6;
const COLORS = ['#111827', '#2563eb', '#16a34a', '#db2777', '#ea580c', '#7c3aed'];

export class OverlayPlot {
  plot: uPlot | null = null;
  series = 'total';
  shown: string[] = [];

  constructor(private readonly el: HTMLElement, private readonly book: EpisodeBook) {
    let width = el.clientWidth;
    new ResizeObserver(() => {
      if (el.clientWidth === width) return;
      width = el.clientWidth;
      this.plot?.setSize(this.size());
    }).observe(el);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(300, this.el.clientWidth), height: 220 };
  }

  setSeries(name: string): void {
    this.series = name;
    this.shown = [];
    this.redraw();
  }

  redraw(): void {
    const eps = this.book.recent(OVERLAY_EPISODES).filter((e) => e.trace.y.has(this.series)).reverse();
    const tables = eps.map((e) => [e.trace.x, e.trace.y.get(this.series)!] as uPlot.AlignedData);
    const ids = eps.map((e) => e.id);
    const data = tables.length > 0 ? uPlot.join(tables) : ([[]] as unknown as uPlot.AlignedData);
    if (!this.plot || ids.join() !== this.shown.join()) {
      this.plot?.destroy();
      const newest = ids.length - 1;
      this.plot = new uPlot(
        {
          ...this.size(),
          series: [
            { label: 's' },
            ...ids.map((id, i) => ({
              label: `${id.slice(-4)}${this.book.episodes.get(id)?.end ? '' : ' (running)'}`,
              stroke: COLORS[(newest - i) % COLORS.length]!,
              width: i === newest ? 2 : 1,
              spanGaps: true,
              points: { show: false },
            })),
          ],
          scales: { x: { time: false } },
          axes: [{ label: 'seconds since episode start' }, { label: `Σ ${this.series}`, size: 60 }],
          legend: { live: true },
        },
        data,
        this.el,
      );
      this.shown = ids;
    } else {
      this.plot.setData(data);
    }
  }
}
