import { grouped } from '../core/grouped.js';

/**
 * A progress line on stderr for long relabels, diffs and exports: drawn only
 * once the work has run for 2 s (short runs stay quiet). On a TTY it redraws
 * one line at most 10 times a second; otherwise (logs, CI) it prints a plain
 * line every 5 s. Monotonic clock: performance.now().
 */
export class ProgressLine {
  private readonly t0 = performance.now();
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly what: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quietMs = 2000,
  ) {}

  update(done: number, total: number, steps: number): void {
    const now = performance.now();
    const el = now - this.t0;
    if (el < this.quietMs) return;
    const tty = this.out.isTTY === true;
    if (now - this.last < (tty ? 100 : 5000) && done < total) return;
    this.last = now;
    const frac = total > 0 ? done / total : 1;
    const rate = steps / (el / 1000);
    const eta = frac > 0 ? (el / frac - el) / 1000 : NaN;
    const text = `${this.what} ${done}/${total} episodes, ${grouped(steps)} steps, ${grouped(rate)} steps/s${Number.isFinite(eta) && done < total ? `, ~${Math.ceil(eta)} s left` : ''}`;
    if (tty) {
      const width = 24;
      const fill = Math.round(frac * width);
      this.out.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${text}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /** Clears the TTY line so the report starts on a clean line. */
  end(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
