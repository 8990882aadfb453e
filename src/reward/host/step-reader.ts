import { closeSync, constants, openSync, readSync } from 'node:fs';
import { monotonicMs } from './wire.js';

/**
 * Steps at rates above this are awaited by sleeping and looking; slower ones by a blocking read.
 * Below 50 Hz a period is 20 ms and the tick thread's wake-up cost (tens of µs) does not matter.
 */
const MAX_PACED_PERIOD_MS = 20;
/** The first look comes this long after the next step is due to be sent. */
const LOOK_AFTER_MS = 0.05;
/** Gap between later looks (plus the kernel's timer slack, ~50 µs). */
const LOOK_GAP_MS = 0.1;
/** A step this many periods overdue: the loop has paused (a reset phase, a swap); block instead. */
const OVERDUE_PERIODS = 3;

/**
 * The live host's end of the request FIFO, paced by the tick. A pipe write
 * that must wake a reader sleeping in read() makes the writer pay for the
 * wake-up: 20-37 µs at p50 and up to ~0.5 ms in the tail on the 2-core VM
 * this was measured on (docs/sandbox.md), on the tick thread, every tick.
 * So while steps come at a steady rate the host does not wait in read(): each
 * step frame carries the time it was sent (CLOCK_MONOTONIC, the same clock
 * here), the host learns the tick period from those times, sleeps until just
 * after the next step is due and then looks without blocking. The control
 * thread's write then finds nobody to wake; and the host is asleep, not
 * polling, while the tick thread wakes for its deadline (two cores: a host
 * busy at that moment delays the tick). When steps stop coming (an episode
 * reset, a retired version) the host falls back to a blocking read and
 * costs nothing.
 *
 * Two descriptors on the one FIFO: Node cannot switch O_NONBLOCK on an open
 * descriptor, and both read the same byte stream.
 */
export class StepReader {
  private readonly blocking: number;
  private readonly polling: number;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private lastSentMs = -Infinity;
  /** Smoothed time between the sending of two steps, ms; NaN until two have come close enough. */
  private periodMs = NaN;

  constructor(path: string) {
    // Blocks until the control thread has opened its end (read-write), as before.
    this.blocking = openSync(path, 'r');
    this.polling = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  }

  /** Tells the reader when the step just read was sent (its frame's sentAtMs). */
  stepSent(sentAtMs: number): void {
    const gap = sentAtMs - this.lastSentMs;
    this.lastSentMs = sentAtMs;
    if (!(gap > 0 && gap <= MAX_PACED_PERIOD_MS)) return;
    this.periodMs = Number.isNaN(this.periodMs) ? gap : 0.9 * this.periodMs + 0.1 * gap;
  }

  /** The next bytes of the stream into buf: their count, or 0 once the control thread has closed its end. */
  read(buf: Buffer): number {
    const p = this.periodMs;
    if (p <= MAX_PACED_PERIOD_MS) {
      const due = this.lastSentMs + p;
      const sleep = due + LOOK_AFTER_MS - monotonicMs();
      if (sleep > 0) Atomics.wait(this.sleeper, 0, 0, sleep);
      const giveUp = due + OVERDUE_PERIODS * p;
      for (;;) {
        const n = this.tryRead(buf);
        if (n >= 0) return n;
        if (monotonicMs() > giveUp) break;
        Atomics.wait(this.sleeper, 0, 0, LOOK_GAP_MS);
      }
      this.periodMs = NaN; // the rhythm is lost: learn it again from the next two steps
    }
    return readSync(this.blocking, buf, 0, buf.length, null);
  }

  close(): void {
    closeSync(this.polling);
    closeSync(this.blocking);
  }

  /** Bytes read, 0 at EOF, -1 when nothing is there yet. */
  private tryRead(buf: Buffer): number {
    try {
      return readSync(this.polling, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return -1;
      throw e;
    }
  }
}
