import { RewarddError } from '../core/errors.js';

/**
 * The last `max` lines a child process printed, and promises waiting for a line matching a
 * pattern: how the firmware-in-the-loop wrappers (host build, AVR emulator) follow their child.
 */
export class LineLog {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve: (line: string) => void }[] = [];

  constructor(
    private readonly max: number,
    /** Names the output in a timeout error, e.g. "firmware output". */
    private readonly what: string,
    /** Append the last lines to a timeout error (the emulator's are worth reading). */
    private readonly showLast = false,
  ) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** Resolves with the first line (from now on, or already seen if `seen`) matching re. */
  waitFor(re: RegExp, timeoutMs: number, seen = false): Promise<string> {
    if (seen) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const w = { re, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const last = this.showLast ? ` (last: ${JSON.stringify(this.lines.slice(-3))})` : '';
        reject(new RewarddError('E_LINK', `expected ${this.what} matching ${re} within ${timeoutMs} ms, found none${last}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}
