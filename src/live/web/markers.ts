import type uPlot from 'uplot';

/**
 * Vertical marks on the time axis: episode starts and ends, reward swaps and
 * rollbacks, e-stops. Bound: MAX_MARKERS (the oldest is dropped first).
 */
export type MarkerKind = 'episode' | 'end' | 'swap' | 'rollback' | 'estop';

export interface Marker {
  /** Seconds since the epoch (the plot's x). */
  t: number;
  kind: MarkerKind;
  label: string;
}

export const MAX_MARKERS = 2000;

const STYLE: Record<MarkerKind, { color: string; dash: number[]; width: number }> = {
  episode: { color: 'rgba(90,90,90,0.55)', dash: [4, 4], width: 1 },
  end: { color: 'rgba(90,90,90,0.35)', dash: [2, 3], width: 1 },
  swap: { color: '#1f6feb', dash: [], width: 2 },
  rollback: { color: '#d97706', dash: [], width: 2 },
  estop: { color: '#dc2626', dash: [], width: 3 },
};

export class Markers {
  readonly list: Marker[] = [];

  add(m: Marker): void {
    this.list.push(m);
    if (this.list.length > MAX_MARKERS) this.list.splice(0, this.list.length - MAX_MARKERS);
  }

  /** Markers no longer inside the kept history are of no use. */
  dropBefore(t: number): void {
    let n = 0;
    while (n < this.list.length && this.list[n]!.t < t) n++;
    if (n > 0) this.list.splice(0, n);
  }

  inRange(kind: MarkerKind, t0: number, t1: number): Marker[] {
    return this.list.filter((m) => m.kind === kind && m.t >= t0 && m.t <= t1);
  }

  /** A uPlot draw hook: lines over the plot area, labels for swaps, rollbacks and e-stops. */
  draw(u: uPlot): void {
    const min = u.scales.x!.min;
    const max = u.scales.x!.max;
    if (min === undefined || max === undefined || min === null || max === null) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const labelled = this.list.filter((m) => m.t >= min && m.t <= max);
    // With thousands of short episodes in view, lines for each would be a grey wash.
    const episodes = labelled.filter((m) => m.kind === 'episode' || m.kind === 'end').length;
    for (const m of labelled) {
      if ((m.kind === 'episode' || m.kind === 'end') && episodes > width / 6) continue;
      const s = STYLE[m.kind];
      const x = Math.round(u.valToPos(m.t, 'x', true)) + 0.5;
      ctx.strokeStyle = s.color;
      ctx.lineWidth = s.width * devicePixelRatio;
      ctx.setLineDash(s.dash.map((d) => d * devicePixelRatio));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      if (m.kind === 'swap' || m.kind === 'rollback' || m.kind === 'estop') {
        ctx.setLineDash([]);
        ctx.fillStyle = s.color;
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.fillText(m.label, x + 4 * devicePixelRatio, top + 12 * devicePixelRatio);
      }
    }
    ctx.restore();
  }
}
