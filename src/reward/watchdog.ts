import ivm from '#isolated-vm';
import { registerCpuClock } from './cpu-clock.js';
import { CTL } from './harness.js';

/**
 * The hard per-call time budget, without isolated-vm's per-call `timeout`.
 *
 * Why not `applySync(..., { timeout })` on every tick: each call arms a timer
 * that stays queued until its deadline even after the call returns, and the
 * timer thread drains due timers recursively, so hundreds of thousands of
 * calls make a stack overflow (isolated-vm #572); very short timeouts can race
 * termination into "Script failed to terminate" (#301); the budget is whole
 * milliseconds of wall time, so a descheduled but innocent call times out on a
 * loaded 2-core robot.
 *
 * Instead, one watchdog per sandbox runs in its own small isolate on
 * isolated-vm's thread pool. It sleeps on a shared control word (Atomics.wait,
 * sub-millisecond) and, when it sees the SAME step still running on two polls,
 * measures the CPU time the evaluating thread spent in that step (sampled by
 * cpu-clock.ts from /proc; where that is unavailable, isolate.cpuTime, which
 * is wall time for a running call). Past the budget it counts the step as over
 * budget; past budget + grace (or a wall cap for a starved thread) it disposes
 * the sandbox isolate, which V8 terminates from any thread, through
 * try/finally, catch-and-retry loops and microtask chains. CPU rather than wall
 * time because on a loaded 2-core machine an innocent step is sometimes
 * descheduled for tens of ms (measured; docs/sandbox.md). Per-call cost on the
 * host: two stores into shared memory. The price: a killed sandbox is gone,
 * not merely interrupted; RewardRuntime rebuilds it at the next episode.
 */
const WATCHDOG_SOURCE = `(function (victim, ctlSab, budgetUs, killUs, pollMs, cpuMode, wallCapUs, gen, idleMs) {
  const ctl = new Int32Array(ctlSab);
  let lastSeq = -1, wall0 = 0n, cpu0 = -1, counted = false, idle = 0;
  for (;;) {
    Atomics.wait(ctl, ${CTL.STOP}, 0, pollMs);
    if (Atomics.load(ctl, ${CTL.STOP}) !== 0) return 'stopped';
    if (Atomics.load(ctl, ${CTL.ALIVE}) !== gen) return 'replaced';
    const busy = Atomics.load(ctl, ${CTL.BUSY}) === 1;
    const seq = Atomics.load(ctl, ${CTL.SEQ});
    // Idle for a while: step down so the process can exit; the host restarts us on its next
    // call. ALIVE is cleared before BUSY is re-read and the host sets BUSY before reading
    // ALIVE, so a call is never left unwatched (one side always sees the other).
    idle = busy ? 0 : idle + pollMs;
    if (idle > idleMs) {
      if (Atomics.compareExchange(ctl, ${CTL.ALIVE}, gen, 0) !== gen) return 'replaced';
      if (Atomics.load(ctl, ${CTL.BUSY}) !== 1) return 'idle';
      if (Atomics.compareExchange(ctl, ${CTL.ALIVE}, 0, gen) !== 0) return 'replaced';
      idle = 0;
    }
    let wall = 0n;
    try { wall = victim.cpuTime; } catch (e) { return 'victim gone'; }
    // Thread CPU time of this step, from the sampler (seqlock: CPU_SEQ, CPU_US, CPU_SEQ).
    let cpu = -1;
    if (cpuMode) {
      const a = Atomics.load(ctl, ${CTL.CPU_SEQ});
      const us = Atomics.load(ctl, ${CTL.CPU_US});
      if (a === seq && Atomics.load(ctl, ${CTL.CPU_SEQ}) === seq) cpu = us;
    }
    if (busy && seq === lastSeq) {
      const wallUs = Number(wall - wall0) / 1000;
      if (cpu0 < 0 && cpu >= 0) cpu0 = cpu;
      const spentUs = cpuMode ? (cpu0 >= 0 && cpu >= 0 ? (cpu - cpu0) | 0 : 0) : wallUs;
      // A columnar call (COLS rows in one program call) gets one step budget per row.
      const extra = Math.max(0, Atomics.load(ctl, ${CTL.COLS}) - 1);
      if (spentUs > killUs + extra * budgetUs || wallUs > wallCapUs + extra * budgetUs) {
        Atomics.store(ctl, ${CTL.KILLED}, 1);
        try { victim.dispose(); } catch (e) { /* already disposed */ }
        return 'killed';
      }
      if (!counted && spentUs > budgetUs * (1 + extra)) { counted = true; Atomics.add(ctl, ${CTL.OVER}, 1); }
    } else {
      lastSeq = busy ? seq : -1;
      wall0 = wall;
      cpu0 = busy ? cpu : -1;
      counted = false;
    }
  }
})`;

export interface WatchdogOptions {
  /** Per-step budget: steps seen running past it are counted (ctl OVER). */
  budgetMs: number;
  /** Extra time past the budget before the sandbox is killed (scheduler noise; see docs/sandbox.md). */
  graceMs: number;
}

/** A watchdog with no call to watch for this long steps down, so an idle runtime never keeps a process alive. */
const IDLE_EXIT_MS = 1000;

type WatchFn = (v: ivm.Isolate, c: SharedArrayBuffer, budgetUs: number, killUs: number, pollMs: number, cpuMode: boolean, wallCapUs: number, gen: number, idleMs: number) => string;

export class Watchdog {
  private gen = 0;

  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly fn: ivm.Reference<WatchFn>,
    private readonly ctl: Int32Array,
    private readonly args: readonly [SharedArrayBuffer, number, number, number, boolean, number],
    private readonly victim: ivm.Isolate,
    private readonly unregister: (() => void) | null,
  ) {}

  static start(victim: ivm.Isolate, ctl: Int32Array, o: WatchdogOptions): Watchdog {
    const isolate = new ivm.Isolate({ memoryLimit: 8 });
    const context = isolate.createContextSync();
    const fn = context.evalSync(WATCHDOG_SOURCE, { reference: true }) as ivm.Reference<WatchFn>;
    context.release();
    // Poll at half the budget (at least 0.25 ms) so detection lags the budget by at most ~one poll.
    const pollMs = Math.max(0.25, o.budgetMs / 2);
    const unregister = registerCpuClock(ctl, pollMs);
    const budgetUs = Math.round(o.budgetMs * 1000);
    const killUs = Math.round((o.budgetMs + o.graceMs) * 1000);
    const wallCapUs = Math.max(2000, 100 * (o.budgetMs + o.graceMs)) * 1000;
    const w = new Watchdog(isolate, fn, ctl, [ctl.buffer as SharedArrayBuffer, budgetUs, killUs, pollMs, unregister !== null, wallCapUs], victim, unregister);
    w.ensureRunning();
    return w;
  }

  /**
   * Called by the host right after it sets BUSY: (re)starts the loop if it stepped down.
   * applyIgnored, not apply: nothing is ever resolved back into the calling isolate, so
   * terminating the worker thread that owns this runtime cannot land isolated-vm's result
   * phase in a dying isolate (that aborts the process).
   */
  ensureRunning(): void {
    if (Atomics.load(this.ctl, CTL.ALIVE) !== 0 || this.isolate.isDisposed) return;
    const gen = ++this.gen;
    Atomics.store(this.ctl, CTL.ALIVE, gen);
    const [sab, budgetUs, killUs, pollMs, cpuMode, wallCapUs] = this.args;
    this.fn.applyIgnored(undefined, [this.victim, new ivm.ExternalCopy(sab).copyInto({ release: true }), budgetUs, killUs, pollMs, cpuMode, wallCapUs, gen, IDLE_EXIT_MS]);
  }

  /** Steps seen running past the budget (but inside the grace) since the sandbox was built. */
  get overBudget(): number {
    return Atomics.load(this.ctl, CTL.OVER);
  }

  get killed(): boolean {
    return Atomics.load(this.ctl, CTL.KILLED) === 1;
  }

  /** Ends the watchdog loop and disposes its isolate (which also ends the loop if it is mid-poll). */
  stop(): void {
    Atomics.store(this.ctl, CTL.STOP, 1);
    Atomics.notify(this.ctl, CTL.STOP);
    this.unregister?.();
    this.fn.release();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
