import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame, HelloFrame } from '../../src/protocol/index.js';
import type { LinkSink } from '../../src/link/link.js';

/** A unique symlink path per test: the stable name a restarted firmware reuses (like /dev/serial/by-id). */
export const uniqueLinkPath = (): string => join(mkdtempSync(join(tmpdir(), 'rewardd-serial-')), 'tty');

type Event = { kind: 'hello'; hello: HelloFrame; bootChanged: boolean; at: number } | { kind: 'lost'; reason: string; at: number };

/** A LinkSink that records everything, with waits that fail with a clear message instead of hanging. */
export class RecordingSink implements LinkSink {
  readonly frames: Frame[] = [];
  readonly events: Event[] = [];
  private waiters: (() => void)[] = [];

  onFrame(frame: Frame): void {
    this.frames.push(frame);
    this.wake();
  }
  onLost(reason: string): void {
    this.events.push({ kind: 'lost', reason, at: Date.now() });
    this.wake();
  }
  onHello(hello: HelloFrame, bootChanged: boolean): void {
    this.events.push({ kind: 'hello', hello, bootChanged, at: Date.now() });
    this.wake();
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Waits until pred() holds; rejects after timeoutMs saying what was awaited. */
  async until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${what} within ${timeoutMs} ms, found it not`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }
  samples(): Extract<Frame, { type: 'SAMPLE' }>[] {
    return this.frames.filter((f): f is Extract<Frame, { type: 'SAMPLE' }> => f.type === 'SAMPLE');
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
