import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { RewardStatus } from '../../core/records.js';
import type { RewardOutput } from '../output.js';
import type { RewardProgramInfo } from '../runtime.js';
import { deathOfStatus, statusOfDeath, type HostDeath } from './death.js';
import { FrameKind, FrameReader, encodeBegin, encodeStep, stepFrameBytes, type StepLayout } from './wire.js';

/** What the main thread hands the control thread for one live reward host. */
export interface LiveHostHandle {
  pid: number;
  requestFifo: string;
  replyFifo: string;
  info: RewardProgramInfo;
  observationCount: number;
  actionCount: number;
}

/**
 * Steps sent and not yet answered, at most. Past it a step is not sent
 * (status unavailable): a host this far behind is stuck, and the guard or the
 * hang check below will end it. At 1 kHz this is 64 ms of steps; the bytes
 * queued (64 × ~250) stay well inside a FIFO's 64 KiB.
 */
export const MAX_IN_FLIGHT = 64;
/** A host with a request unanswered this long is killed from here (its own guard failed to). */
export const HANG_KILL_MS = 10_000;

/**
 * The control thread's end of a live reward host: one step at a time is
 * submitted after the command is sent, and its result is collected at the
 * start of the next tick (the host works while the tick thread waits for its
 * next deadline). Nothing here blocks: FIFO ends are non-blocking, and
 * collect() waits at most until the deadline it is given.
 *
 * Death: the reply FIFO reads EOF once the host is gone. If the host's guard
 * wrote a DEATH frame first, its status (memory, timeout) is the step's; else
 * the step is `crashed`, and the main thread's classification of the exit
 * (V8 out of memory, a signal) arrives later through noteDeath().
 */
export class LiveReward {
  readonly info: RewardProgramInfo;
  private req = -1;
  private rep = -1;
  private readonly layout: StepLayout;
  private readonly reader: FrameReader;
  private readonly stepBuf: Buffer;
  private readonly readBuf = Buffer.alloc(16 * 1024);
  private helloSeen = false;
  private nextId = 1;
  /** id of the step whose result collect() will look for; 0 when nothing is pending. */
  private pendingId = 0;
  private pendingFail: { status: number; reason: string } | null = null;
  private result: { id: number; status: number; flags: number; total: number; terms: Float64Array; reason: string } | null = null;
  private lastAnswered = 0;
  private oldestUnansweredMs = 0;
  private deathValue: HostDeath | null = null;
  /** The death was inferred from an EOF alone; the main thread's classification replaces it. */
  private deathProvisional = false;
  /** The step the death was first reported on; later steps are `unavailable`. */
  private diedAtStep = -1;
  private disposed = false;
  private step = 0;
  /** Results that came after their step was logged as late (counted, dropped). */
  lateResults = 0;

  constructor(
    readonly handle: LiveHostHandle,
    private readonly onDispose: (pid: number) => void = () => {},
  ) {
    this.info = handle.info;
    this.layout = { nObs: handle.observationCount, nAct: handle.actionCount, withRaw: handle.info.rawNames.length > 0, nTerms: handle.info.termNames.length };
    this.reader = new FrameReader(this.layout);
    this.stepBuf = Buffer.alloc(stepFrameBytes(this.layout));
    try {
      // Read-write: never blocks and never fails for want of a reader; closing it is the host's EOF.
      this.req = openSync(handle.requestFifo, constants.O_RDWR | constants.O_NONBLOCK);
      this.rep = openSync(handle.replyFifo, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      this.die({ reason: 'crashed', detail: `its FIFOs could not be opened: ${(e as Error).message}`, status: RewardStatus.crashed });
    }
  }

  /** True once the host has answered HELLO (or is known dead, so a swap does not wait forever). */
  get ready(): boolean {
    this.poll();
    return this.helloSeen || this.deathValue !== null;
  }

  get death(): HostDeath | null {
    return this.deathValue;
  }

  get pid(): number {
    return this.handle.pid;
  }

  beginEpisode(episode: { index: number; id: string }): void {
    this.step = 0;
    if (this.deathValue || this.disposed) return;
    this.write(encodeBegin(this.nextId++, episode.index, episode.id));
  }

  submit(obs: ArrayLike<number>, action: ArrayLike<number>, dt: number, raw?: ArrayLike<number> | null): void {
    const step = this.step++;
    this.pendingFail = null;
    this.pendingId = 0;
    if (this.disposed) return this.failNext(RewardStatus.unavailable, `E_CONFIG: ${this.label} was retired`);
    if (this.deathValue) {
      if (this.diedAtStep >= 0) return this.failNext(RewardStatus.unavailable, `${this.deathText(this.diedAtStep)}; no reward until a fresh host is up`);
      this.diedAtStep = step;
      return this.failNext(this.deathValue.status, this.deathText(step));
    }
    const inFlight = this.nextId - 1 - this.lastAnswered;
    if (inFlight >= MAX_IN_FLIGHT) {
      this.checkHang();
      return this.failNext(RewardStatus.unavailable, `E_REWARD_LATE: ${this.label}: the reward host is ${inFlight} steps behind; step ${step} was not sent`);
    }
    const id = this.nextId++;
    const n = encodeStep(this.stepBuf, this.layout, id, dt, obs, action, raw ?? null);
    if (!this.write(this.stepBuf.subarray(0, n))) return this.failNext(RewardStatus.unavailable, `E_REWARD_LATE: ${this.label}: the reward host is not reading its steps; step ${step} was not sent`);
    if (this.lastAnswered === id - 1) this.oldestUnansweredMs = performance.now();
    this.pendingId = id;
  }

  /**
   * The result of the step submitted last, into out. Waits (spinning on a
   * non-blocking read) until `deadlineMs` (performance.now() time) at most.
   */
  collect(out: RewardOutput, deadlineMs: number): void {
    if (this.pendingFail) return fill(out, this.pendingFail.status, this.pendingFail.reason);
    const id = this.pendingId;
    if (id === 0) return fill(out, RewardStatus.unavailable, `E_CONFIG: ${this.label}: no step was submitted`);
    for (;;) {
      this.poll();
      const r = this.result;
      if (r !== null && r.id === id) {
        this.pendingId = 0;
        out.status = r.status;
        out.total = r.total;
        out.terms.set(r.terms.subarray(0, out.terms.length));
        out.success = (r.flags & 1) !== 0;
        out.done = (r.flags & 2) !== 0;
        out.reason = r.reason;
        return;
      }
      if (this.deathValue) {
        this.pendingId = 0;
        this.diedAtStep = this.step - 1;
        return fill(out, this.deathValue.status, this.deathText(this.step - 1));
      }
      if (performance.now() >= deadlineMs) {
        this.pendingId = 0;
        return fill(out, RewardStatus.late, `E_REWARD_LATE: ${this.label}: no answer from the reward host by the next tick for step ${this.step - 1}`);
      }
    }
  }

  /** The main thread's classification of this host's exit (more precise than "crashed" after an EOF). */
  noteDeath(d: HostDeath): void {
    if (this.deathValue === null || this.deathProvisional) {
      this.deathValue = d;
      this.deathProvisional = false;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const fd of [this.req, this.rep]) if (fd >= 0) closeSync(fd);
    this.req = this.rep = -1;
    this.onDispose(this.handle.pid);
  }

  private get label(): string {
    return `reward "${this.info.name}" v${this.info.version}`;
  }

  private deathText(step: number): string {
    const d = this.deathValue!;
    const code = d.reason === 'out_of_memory' ? 'E_REWARD_MEMORY' : d.reason === 'timeout' ? 'E_REWARD_TIMEOUT' : 'E_REWARD_CRASHED';
    return `${code}: ${this.label}: its reward host died (${d.reason}) at step ${step}: ${d.detail}`;
  }

  private failNext(status: number, reason: string): void {
    this.pendingFail = { status, reason };
  }

  private write(b: Buffer): boolean {
    try {
      return writeSync(this.req, b) === b.length;
    } catch {
      return false; // EAGAIN: the FIFO is full; EPIPE cannot happen (we hold a read end)
    }
  }

  private poll(): void {
    if (this.rep < 0) return;
    let eof = false;
    for (;;) {
      let n: number;
      try {
        n = readSync(this.rep, this.readBuf, 0, this.readBuf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        this.die({ reason: 'crashed', detail: `reading its results failed: ${(e as Error).message}`, status: RewardStatus.crashed });
        return;
      }
      if (n === 0) {
        eof = true;
        break;
      }
      this.reader.push(this.readBuf, n);
    }
    // Frames first: a last RESULT or the guard's DEATH note may precede the EOF.
    try {
      for (let f = this.reader.next(); f !== null; f = this.reader.next()) {
        if (f.kind === FrameKind.HELLO) this.helloSeen = true;
        else if (f.kind === FrameKind.RESULT) {
          if (f.id !== this.pendingId) this.lateResults++;
          this.result = f;
          this.lastAnswered = f.id;
          this.oldestUnansweredMs = performance.now();
        } else if (f.kind === FrameKind.DEATH) {
          const reason = deathOfStatus(f.status);
          this.die({ reason, detail: f.detail, status: statusOfDeath(reason) });
        }
      }
    } catch (e) {
      this.die({ reason: 'crashed', detail: (e as Error).message, status: RewardStatus.crashed });
    }
    // EOF before HELLO only means the host has not opened its end yet.
    if (eof && this.helloSeen && this.deathValue === null) {
      this.die({ reason: 'crashed', detail: 'the reward host process is gone', status: RewardStatus.crashed });
      this.deathProvisional = true;
    }
  }

  private checkHang(): void {
    if (performance.now() - this.oldestUnansweredMs < HANG_KILL_MS) return;
    try {
      process.kill(this.handle.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    this.die({ reason: 'timeout', detail: `it answered nothing for ${HANG_KILL_MS / 1000} s and was killed`, status: RewardStatus.timeout });
  }

  private die(d: HostDeath): void {
    if (this.deathValue === null) this.deathValue = d;
    if (this.rep >= 0) {
      closeSync(this.rep);
      this.rep = -1;
    }
  }
}

function fill(out: RewardOutput, status: number, reason: string): void {
  out.status = status;
  out.total = NaN;
  out.terms.fill(NaN);
  out.success = false;
  out.done = false;
  out.reason = reason;
}
