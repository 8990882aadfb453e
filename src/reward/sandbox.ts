import ivm from '#isolated-vm';
import { locate, sourceLine, type Diagnostic } from './diagnostics.js';
import { CTL, harnessSource, ioLength, type Layout } from './harness.js';
import { PRELUDE_SOURCE, STDLIB_MODULE_SOURCE, STDLIB_SPECIFIERS } from './prelude.js';
import { DESCRIBE_SOURCE, checkDescribed, type ProgramMeta } from './program-info.js';
import type { Transpiled } from './transpile.js';
import { Watchdog } from './watchdog.js';
import { watchSandbox } from './sandbox-watch.js';

/**
 * One isolate holding one reward program, its harness and its watchdog.
 * Built synchronously (a few ms) so a rebuild can happen at an episode
 * boundary of a worker whose event loop is busy ticking.
 */
export interface SandboxOptions {
  observationNames: readonly string[];
  actionNames: readonly string[];
  budgetMs: number;
  graceMs: number;
  memoryMb: number;
  /** Steps per harness call in batch mode (bounds the shared buffer). */
  chunk: number;
}

/** Why a call did not come back: the sandbox is gone in every case. */
export type Death = 'timeout' | 'memory' | 'broken';
export class SandboxDeath extends Error {
  constructor(readonly kind: Death, readonly atStep: number, message: string) {
    super(message);
  }
}

/** Setup code (prelude, module body, describe) gets a generous one-off budget; never used per tick. */
const SETUP_TIMEOUT_MS = 1000;

export class Sandbox {
  readonly io: Float64Array;
  /** The same memory as float32: a columnar call's float32 rows (run's f32). */
  readonly io32: Float32Array;
  private readonly ctl: Int32Array;
  private disposed = false;
  private readonly unwatch: () => void;

  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly context: ivm.Context,
    private readonly runRef: ivm.Reference<() => 0 | string>,
    private readonly beginRef: ivm.Reference<(index: number, id: string) => void>,
    ioBuf: SharedArrayBuffer,
    ctlBuf: SharedArrayBuffer,
    private readonly watchdog: Watchdog,
    readonly layout: Layout,
    readonly meta: ProgramMeta,
  ) {
    this.io = new Float64Array(ioBuf);
    this.io32 = new Float32Array(ioBuf);
    this.ctl = new Int32Array(ctlBuf);
    this.unwatch = watchSandbox(this.ctl);
  }

  static build(t: Transpiled, source: string, file: string, o: SandboxOptions): { sandbox?: Sandbox; meta?: ProgramMeta; diagnostics: Diagnostic[] } {
    // isolated-vm's limit is soft, and an allocation that jumps past it (a Map
    // or array doubling its backing store) is a V8 *fatal* OOM for the whole
    // process. So the isolate gets 4x headroom (>= 128 MB) and the limit we
    // promise, memoryMb, is enforced by heap checks between steps; a one-step
    // bomb is normally stopped by the watchdog long before it reaches the
    // headroom (docs/sandbox.md). No onCatastrophicError handler: with one,
    // isolated-vm parks the thread forever on a fatal error; without, the
    // process aborts, which a supervisor restarts and the MCU watchdog survives.
    const isolate = new ivm.Isolate({ memoryLimit: isolateLimitMb(o.memoryMb) });
    const diag = (message: string, at: { line: number; column: number; lineText: string }): { diagnostics: Diagnostic[] } => {
      if (!isolate.isDisposed) isolate.dispose();
      return { diagnostics: [{ severity: 'error', code: 'E_REWARD_COMPILE', file, line: at.line, column: at.column, message, lineText: at.lineText }] };
    };
    try {
      const context = isolate.createContextSync();
      const views = context.evalSync(PRELUDE_SOURCE, { timeout: SETUP_TIMEOUT_MS, reference: true }) as ivm.Reference<unknown>;
      const stdlib = isolate.compileModuleSync(STDLIB_MODULE_SOURCE, { filename: 'rewardd:stdlib' });
      stdlib.instantiateSync(context, () => {
        throw new Error('the stdlib has no imports');
      });
      let module: ivm.Module;
      try {
        module = isolate.compileModuleSync(t.code, { filename: file });
      } catch (e) {
        return diag(`syntax error: ${firstLine(e)}`, errorPosition(e, file, source, t));
      }
      for (const spec of module.dependencySpecifiers) {
        if (!STDLIB_SPECIFIERS.includes(spec)) {
          return diag(`import of "${spec}": expected only 'rewardd' (the reward stdlib); reward programs cannot import other modules`, locate(source, new RegExp(`['"]${spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`)));
        }
      }
      // import() would reach isolated-vm's host-side loader, which throws past the harness.
      const dyn = locate(source, /(^|[^.\w$])import\s*\(/m);
      if (dyn.line > 0) return diag('dynamic import() is not available in reward programs: use a static `import { ... } from \'rewardd\'` of the stdlib', dyn);
      module.instantiateSync(context, () => stdlib);
      try {
        module.evaluateSync({ timeout: SETUP_TIMEOUT_MS });
      } catch (e) {
        return diag(`top-level code failed while loading: ${firstLine(e)}`, errorPosition(e, file, source, t));
      }
      const ns = module.namespace;
      const describe = context.evalSync(DESCRIBE_SOURCE, { reference: true }) as ivm.Reference<(ns: unknown) => string>;
      const described = describe.applySync(undefined, [ns.derefInto()], { timeout: SETUP_TIMEOUT_MS }) as string;
      const checked = checkDescribed(described, source, file, o.observationNames);
      if (!checked.meta) {
        isolate.dispose();
        return { diagnostics: checked.diagnostics };
      }
      const meta = checked.meta;
      const layout: Layout = { observationNames: o.observationNames, actionNames: o.actionNames, termNames: meta.termNames, rawNames: meta.rawNames, chunk: o.chunk };
      const ioBuf = new SharedArrayBuffer(ioLength(layout) * 8);
      const ctlBuf = new SharedArrayBuffer(CTL.WORDS * 4);
      const factory = context.evalSync(harnessSource(layout, meta.hasSuccess, meta.hasDone), { reference: true }) as ivm.Reference<
        (views: unknown, io: SharedArrayBuffer, ctl: SharedArrayBuffer, ns: unknown) => unknown
      >;
      const harness = factory.applySync(
        undefined,
        [views.derefInto(), new ivm.ExternalCopy(ioBuf).copyInto({ release: true }), new ivm.ExternalCopy(ctlBuf).copyInto({ release: true }), ns.derefInto()],
        { result: { reference: true }, timeout: SETUP_TIMEOUT_MS },
      ) as ivm.Reference<Record<string, unknown>>;
      const runRef = harness.getSync('run', { reference: true }) as ivm.Reference<() => 0 | string>;
      const beginRef = harness.getSync('begin', { reference: true }) as ivm.Reference<(index: number, id: string) => void>;
      const watchdog = Watchdog.start(isolate, new Int32Array(ctlBuf), { budgetMs: o.budgetMs, graceMs: o.graceMs });
      return { sandbox: new Sandbox(isolate, context, runRef, beginRef, ioBuf, ctlBuf, watchdog, layout, meta), meta, diagnostics: [] };
    } catch (e) {
      if (!isolate.isDisposed) isolate.dispose();
      const msg = String((e as Error).message ?? e);
      const what = /memory limit/i.test(msg) ? 'ran out of memory while loading' : /timed out/i.test(msg) ? `did not finish loading within ${SETUP_TIMEOUT_MS} ms` : 'could not be loaded';
      return { diagnostics: [{ severity: 'error', code: 'E_REWARD_COMPILE', file, line: 0, column: 0, message: `program ${what}: ${msg.split('\n')[0] ?? ''}` }] };
    }
  }

  /**
   * Evaluates `n` steps already written into `io`. Returns 0 when all were ok,
   * else a flat list [stepInChunk, status, message, ...] of (some of) the failures
   * (built by the harness, so its text is only as trustworthy as the program).
   * Throws SandboxDeath when the sandbox had to be disposed mid-call.
   * columns: call the program's rewardColumns once over the -n rows of the block layout;
   * f32: its observations and actions are float32 rows in io32 (columns-harness.ts).
   */
  run(n: number, columns = false, f32 = false): 0 | unknown[] {
    this.ctl[CTL.N] = n;
    // A columnar call (n < 0: rows in the block layout) runs rewardColumns over all of them at once.
    this.ctl[CTL.COLS] = columns ? -n : 0;
    this.ctl[CTL.F32] = f32 ? 1 : 0;
    Atomics.store(this.ctl, CTL.BUSY, 1);
    this.watchdog.ensureRunning();
    let r: 0 | string;
    try {
      r = this.runRef.applySync() as 0 | string;
    } catch (e) {
      const atStep = this.ctl[CTL.CUR] ?? 0;
      const msg = String((e as Error)?.message ?? e);
      const kind: Death = this.watchdog.killed ? 'timeout' : /memory limit/i.test(msg) ? 'memory' : 'broken';
      this.dispose();
      throw new SandboxDeath(kind, atStep, msg);
    } finally {
      Atomics.store(this.ctl, CTL.BUSY, 0);
      this.ctl[CTL.COLS] = 0;
    }
    if (r === 0) return 0;
    try {
      const list: unknown = JSON.parse(r);
      return Array.isArray(list) ? list : [0, 2, 'unreadable failure list'];
    } catch {
      return [0, 2, 'unreadable failure list'];
    }
  }

  /**
   * Resets per-episode state in the isolate. Watched like a step (BUSY, a new SEQ): isolated-vm
   * drains the isolate's microtask queue on any entry, so a program's promise flood can run here.
   */
  begin(index: number, id: string): void {
    Atomics.add(this.ctl, CTL.SEQ, 1);
    Atomics.store(this.ctl, CTL.BUSY, 1);
    this.watchdog.ensureRunning();
    try {
      this.beginRef.applySync(undefined, [index, id]);
    } catch (e) {
      const msg = String((e as Error)?.message ?? e);
      const kind: Death = this.watchdog.killed ? 'timeout' : /memory limit/i.test(msg) ? 'memory' : 'broken';
      this.dispose();
      throw new SandboxDeath(kind, 0, msg);
    } finally {
      Atomics.store(this.ctl, CTL.BUSY, 0);
    }
  }

  /** Heap in use, for the soft-limit check (isolated-vm's own limit can overshoot 2-3x). */
  heapBytes(): number {
    const h = this.isolate.getHeapStatisticsSync();
    return h.used_heap_size + h.externally_allocated_size;
  }

  get overBudget(): number {
    return this.watchdog.overBudget;
  }

  get alive(): boolean {
    return !this.disposed && !this.isolate.isDisposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.unwatch();
    this.watchdog.stop();
    this.runRef.release();
    this.beginRef.release();
    this.context.release();
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

export const isolateLimitMb = (memoryMb: number): number => Math.max(128, 4 * memoryMb);

function firstLine(e: unknown): string {
  const err = e as Error | null;
  const msg = String(err?.message ?? e).split('\n')[0] ?? '';
  const name = typeof err?.name === 'string' && err.name !== 'Error' && !msg.startsWith(err.name) ? `${err.name}: ` : '';
  return name + msg;
}

/** Line of a compile or load error: V8 puts `[file:line:col]` in messages and `file:line:col` in stacks. */
function errorPosition(e: unknown, file: string, source: string, t: Transpiled): { line: number; column: number; lineText: string } {
  const text = `${String((e as Error)?.message ?? '')}\n${String((e as Error)?.stack ?? '')}`;
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${esc}:(\\d+):(\\d+)`).exec(text);
  if (!m) return { line: 0, column: 0, lineText: '' };
  const line = t.mapLine(Number(m[1]));
  return { line, column: t.exactColumns ? Number(m[2]) : 0, lineText: sourceLine(source, line) };
}
