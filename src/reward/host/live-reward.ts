import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { RewardStatus } from '../../core/records.js';
import type { RewardOutput } from '../output.js';
import type { RewardProgramInfo } from '../runtime.js';
import { deathOfStatus, statusOfDeath, type HostDeath } from './death.js';
import { FrameKind, FrameReader, encodeBegin, encodeStep, monotonicMs, stepFrameBytes, type StepLayout } from './wire.js';

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
 * hang check below will end it. The control loop gives up on a step (late)
 * well before this (its own pending ring is smaller). A FIFO holds 64 KiB:
 * ~500 rover steps; a write that does not fit is refused (EAGAIN), and that
 * step is unavailable too.
 */
export const MAX_IN_FLIGHT = 512;
/** Results remembered by ticket (a ring; a result is read within MAX_IN_FLIGHT tickets of its step or not at all). */
const RESULT_RING = 2 * MAX_IN_FLIGHT;
/** A host with a request unanswered this long is killed from here (its own guard failed to). */
export const HANG_KILL_MS = 5_000;
/**
 * A reply FIFO found empty is not read again for this long. An empty
 * non-blocking read costs the tick thread 3-12 µs when Node throws its EAGAIN
 * error with a stack, 1.7 µs with stack capture off (quietly(), as poll() reads),
 * and the tick asks several times per period: at its start, after its submit,
 * at its end. A result is ~90 µs away at best (bench isolation), so looking
 * again sooner finds nothing; 100 µs later is nothing next to the 250 ms a
 * step may be late.
 */
const EMPTY_POLL_GAP_MS = 0.1;

/**
 * The control thread's end of a live reward host: a step is submitted right
 * after its command is sent, and its result is read when the control loop
 * asks (normally at the start of the next tick: the host works while the tick
 * thread waits for its deadline). Nothing here blocks or waits: FIFO ends are
 * non-blocking, and a result not in yet is simply "not yet".
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
  /** Results by ticket % RESULT_RING, from the host or decided here (a step that could not be sent). */
  private readonly results: Array<{ id: number; status: number; flags: number; total: number; terms: Float64Array | null; reason: string }>;
  private lastAnswered = 0;
  /** Steps written to the host and steps it answered: every sent step gets exactly one RESULT, in order. */
  private sent = 0;
  private answered = 0;
  private oldestUnansweredMs = 0;
  private deathValue: HostDeath | null = null;
  /** The death was inferred from an EOF alone; the main thread's classification replaces it. */
  private deathProvisional = false;
  /** The step the death was first reported on; later steps are `unavailable`. */
  private diedAtStep = -1;
  private disposed = false;
  private step = 0;
  /** Episode step of each ticket in flight (for the death message). */
  private readonly stepOf = new Int32Array(RESULT_RING);
  /** When a read last found the reply FIFO empty (performance.now()); see EMPTY_POLL_GAP_MS. */
  private emptyAt = -Infinity;

  constructor(
    readonly handle: LiveHostHandle,
    private readonly onDispose: (pid: number) => void = () => {},
  ) {
    this.info = handle.info;
    this.layout = { nObs: handle.observationCount, nAct: handle.actionCount, withRaw: handle.info.rawNames.length > 0, nTerms: handle.info.termNames.length };
    this.reader = new FrameReader(this.layout);
    this.oldestUnansweredMs = performance.now();
    this.stepBuf = Buffer.alloc(stepFrameBytes(this.layout));
    this.results = Array.from({ length: RESULT_RING }, () => ({ id: 0, status: 0, flags: 0, total: NaN, terms: null, reason: '' }));
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
    this.poll();
    return this.deathValue;
  }

  get pid(): number {
    return this.handle.pid;
  }

  beginEpisode(episode: { index: number; id: string }): void {
    this.step = 0;
    if (this.deathValue || this.disposed) return;
    // Id 0: a BEGIN gets no reply, so it must not count as a step in flight.
    this.write(encodeBegin(0, episode.index, episode.id));
  }

  submit(obs: ArrayLike<number>, action: ArrayLike<number>, dt: number, raw?: ArrayLike<number> | null): number {
    const step = this.step++;
    const id = this.nextId++;
    if (this.disposed) return this.decide(id, RewardStatus.unavailable, `E_CONFIG: ${this.label} was retired`);
    this.poll();
    if (this.deathValue) return this.decideDead(id, step);
    const inFlight = this.sent - this.answered;
    if (inFlight > 0 && this.checkHang()) return this.decideDead(id, step);
    if (inFlight >= MAX_IN_FLIGHT) {
      return this.decide(id, RewardStatus.unavailable, `E_REWARD_LATE: ${this.label}: the reward host is ${inFlight} steps behind; step ${step} was not sent`);
    }
    const n = encodeStep(this.stepBuf, this.layout, id, monotonicMs(), dt, obs, action, raw ?? null);
    if (!this.write(this.stepBuf.subarray(0, n))) return this.decide(id, RewardStatus.unavailable, `E_REWARD_LATE: ${this.label}: the reward host is not reading its steps; step ${step} was not sent`);
    if (this.sent === this.answered) this.oldestUnansweredMs = performance.now();
    this.sent++;
    this.stepOf[id % RESULT_RING] = step;
    return id;
  }

  /** The result of `ticket` into out once it is known (true); false while the host is still on it. */
  result(ticket: number, out: RewardOutput): boolean {
    // A result already in needs no read (the tick's drains ask for each pending ticket).
    if (this.results[ticket % RESULT_RING]!.id !== ticket) this.poll();
    const r = this.results[ticket % RESULT_RING]!;
    if (r.id === ticket) {
      out.status = r.status;
      out.total = r.total;
      if (r.terms) out.terms.set(r.terms.subarray(0, out.terms.length));
      else out.terms.fill(NaN);
      out.success = (r.flags & 1) !== 0;
      out.done = (r.flags & 2) !== 0;
      out.reason = r.reason;
      return true;
    }
    if (this.deathValue && ticket > this.lastAnswered) {
      this.decideDead(ticket, this.stepOf[ticket % RESULT_RING] ?? 0);
      return this.result(ticket, out);
    }
    return false;
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

  /** Records a result decided here (not by the host) for ticket id; returns id. */
  private decide(id: number, status: number, reason: string): number {
    const r = this.results[id % RESULT_RING]!;
    r.id = id;
    r.status = status;
    r.flags = 0;
    r.total = NaN;
    r.terms = null;
    r.reason = reason;
    return id;
  }

  /** The first step that meets the death carries its cause; later ones are unavailable. */
  private decideDead(id: number, step: number): number {
    if (this.diedAtStep >= 0 && this.diedAtStep !== step) return this.decide(id, RewardStatus.unavailable, `${this.deathText(this.diedAtStep)}; no reward until a fresh host is up`);
    this.diedAtStep = step;
    return this.decide(id, this.deathValue!.status, this.deathText(step));
  }

  private write(b: Buffer): boolean {
    try {
      return quietly(() => writeSync(this.req, b)) === b.length;
    } catch {
      return false; // EAGAIN: the FIFO is full; EPIPE cannot happen (we hold a read end)
    }
  }

  private poll(): void {
    if (this.rep < 0) return;
    if (performance.now() - this.emptyAt < EMPTY_POLL_GAP_MS) return;
    let eof = false;
    for (;;) {
      let n: number;
      try {
        n = quietly(() => readSync(this.rep, this.readBuf, 0, this.readBuf.length, null));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.emptyAt = performance.now();
          break;
        }
        this.die({ reason: 'crashed', detail: `reading its results failed: ${(e as Error).message}`, status: RewardStatus.crashed });
        return;
      }
      if (n === 0) {
        eof = true;
        break;
      }
      this.reader.push(this.readBuf, n);
      // A short read emptied the FIFO: reading again now would only throw EAGAIN.
      if (n < this.readBuf.length) break;
    }
    // Frames first: a last RESULT or the guard's DEATH note may precede the EOF.
    try {
      for (let f = this.reader.next(); f !== null; f = this.reader.next()) {
        if (f.kind === FrameKind.HELLO) this.helloSeen = true;
        else if (f.kind === FrameKind.RESULT) {
          const r = this.results[f.id % RESULT_RING]!;
          r.id = f.id;
          r.status = f.status;
          r.flags = f.flags;
          r.total = f.total;
          r.terms = f.terms;
          r.reason = f.reason;
          this.lastAnswered = f.id;
          this.answered++;
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

  /** True when the host had a step unanswered for HANG_KILL_MS and was killed. */
  private checkHang(): boolean {
    if (performance.now() - this.oldestUnansweredMs < HANG_KILL_MS) return false;
    try {
      process.kill(this.handle.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    this.die({ reason: 'timeout', detail: `it answered nothing for ${HANG_KILL_MS / 1000} s and was killed`, status: RewardStatus.timeout });
    return true;
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

/**
 * Runs one FIFO call with stack capture off. An empty or full FIFO is the common answer, and Node
 * reports it by throwing: without a stack trace to capture, the throw costs the tick thread 1.7 µs
 * instead of 3-12 µs (deeper stacks cost more). Only the call itself: what the caller then does
 * with the error (die(), logging) has its stacks as usual.
 */
function quietly<T>(call: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return call();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
