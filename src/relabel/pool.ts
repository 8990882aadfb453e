import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RewarddError } from '../core/errors.js';
import { missingNodeFlags } from '../core/node-flags.js';
import { diagnosticsError } from '../reward/diagnostics.js';
import type { EpisodeJob, EpisodeOutcome, ProgramSpec, RuntimeTuning } from './episode-job.js';
import { classifyDeath, TailBuffer } from './worker-death.js';
import type { FromWorker, ProgramIdentity, ToWorker } from './worker-messages.js';

/**
 * Relabel worker processes (worker-main.ts): untrusted reward code never runs
 * in the CLI's process. Each worker holds one episode at a time; a worker that
 * dies under one (a V8 out-of-memory abort, a segfault, a kill, or killed here
 * after `stallMs` without news) fails that episode with a reason
 * (out_of_memory, crashed, timeout) and a fresh worker takes the rest.
 *
 * A pool can serve many runs (relabel, diff, export, check) with different
 * programs: workers keep what they compiled. Memory: per worker, the longest
 * episode's columns and results (BufferPool) plus its isolates.
 */
export interface PoolOptions {
  /** Worker processes. Default 1. */
  workers?: number;
  /**
   * A worker evaluating an episode that reports nothing for this long is killed; the episode
   * fails with `timeout`. Before evaluation starts (start-up, reading, compiling: slow on a
   * loaded machine, and not the program's doing) it gets START_ALLOWANCE_MS more. Default 120,000 ms.
   */
  stallMs?: number;
  /** Called with each worker's pid when it is started (tests kill workers with it). */
  onWorkerStart?: (pid: number) => void;
}

export const POOL_DEFAULTS = { workers: 1, stallMs: 120_000 } as const;
/** Extra quiet time allowed before a job's evaluation starts (see stallMs). */
export const START_ALLOWANCE_MS = 30_000;
/** Set in a worker's environment: a pool refuses to start there. */
const WORKER_ENV = 'REWARDD_RELABEL_WORKER';
/** Workers that die before saying they are ready, in a row, before a run gives up. */
const MAX_BOOT_FAILURES = 3;

interface Slot {
  proc: ChildProcess;
  ready: boolean;
  dead: boolean;
  key: string;
  tail: TailBuffer;
  job: { id: number; lastNews: number; evaluating: boolean } | null;
  killedFor: string | null;
  onMessage: (m: FromWorker) => void;
  onExit: (failure: ReturnType<typeof classifyDeath>) => void;
}

const idle = (): void => {};

export class RelabelPool {
  private readonly slots: Slot[] = [];
  private readonly o: Required<Omit<PoolOptions, 'onWorkerStart'>> & Pick<PoolOptions, 'onWorkerStart'>;
  private bootFailures = 0;
  private closed = false;

  constructor(o: PoolOptions = {}) {
    const workers = o.workers ?? POOL_DEFAULTS.workers;
    const stallMs = o.stallMs ?? POOL_DEFAULTS.stallMs;
    if (!(Number.isInteger(workers) && workers >= 1)) throw new RewarddError('E_CONFIG', `--jobs: expected an integer >= 1, found ${workers}`);
    if (!(stallMs > 0)) throw new RewarddError('E_CONFIG', `stallMs: expected > 0, found ${stallMs}`);
    // A worker never starts workers: if code that starts a pool ever runs inside one (a flag that
    // re-runs the caller's script, see inheritableExecArgv), it stops here instead of multiplying.
    if (process.env[WORKER_ENV] === '1') throw new RewarddError('E_CONFIG', 'relabel pool: started inside a relabel worker (expected only in the process that runs relabel, diff or export)');
    this.o = { workers, stallMs, ...(o.onWorkerStart ? { onWorkerStart: o.onWorkerStart } : {}) };
    // Started now, so their start-up overlaps the caller's own (catalog, episode list).
    for (let i = 0; i < workers; i++) this.slots.push(this.spawn());
  }

  get size(): number {
    return this.o.workers;
  }

  /** Compiles the programs in a worker for one robot shape and returns what they are; throws their diagnostics if they do not load. */
  async identify(programs: ProgramSpec[], tuning: RuntimeTuning, shape: { observationNames: string[]; actionNames: string[] }): Promise<ProgramIdentity[]> {
    const slot = this.live(0);
    return new Promise<ProgramIdentity[]>((resolve, reject) => {
      slot.onMessage = (m) => {
        if (m.type === 'identity') resolve(m.programs);
        else if (m.type === 'rejected') reject(m.diagnostics.length > 0 ? diagnosticsError(m.diagnostics) : new RewarddError('E_REWARD_COMPILE', m.message.replace(/^E_[A-Z_]+: /, '')));
      };
      slot.onExit = (d) => reject(new RewarddError('E_REWARD_COMPILE', `${programs.map((p) => p.filename).join(', ')}: could not be loaded: ${d.detail} (${d.failure})`));
      this.load(slot, programs, tuning);
      this.send(slot, { type: 'identify', observationNames: shape.observationNames, actionNames: shape.actionNames });
    }).finally(() => {
      slot.onMessage = idle;
      slot.onExit = idle;
    });
  }

  /**
   * Runs episode jobs, one in flight per worker, handing each outcome to
   * `onOutcome` (with the job's index) in completion order. An episode whose
   * worker died comes back with `error` and `failure` set.
   */
  async run(programs: ProgramSpec[], tuning: RuntimeTuning, jobs: EpisodeJob[], onOutcome: (o: EpisodeOutcome, index: number) => void, onProgress?: (steps: number) => void): Promise<void> {
    if (jobs.length === 0) return;
    let next = 0;
    let finished = 0;
    const stall = setInterval(() => this.killStalled(), Math.min(1000, this.o.stallMs / 4));
    try {
      await new Promise<void>((resolve, reject) => {
        let failed = false;
        const fail = (e: Error): void => {
          if (!failed) (failed = true), reject(e);
        };
        const complete = (o: EpisodeOutcome, id: number): void => {
          try {
            onOutcome(o, id);
          } catch (e) {
            return fail(e as Error);
          }
          if (++finished === jobs.length) resolve();
        };
        const give = (i: number): void => {
          if (failed || next >= jobs.length) return;
          const slot = this.live(i);
          const id = next++;
          slot.onMessage = (m) => {
            if (m.type === 'progress' && slot.job) {
              slot.job.lastNews = performance.now();
              slot.job.evaluating = m.evaluating;
              onProgress?.(m.steps);
            } else if (m.type === 'done') {
              slot.job = null;
              slot.onMessage = slot.onExit = idle;
              complete(m.outcome, m.id);
              give(i);
            }
          };
          slot.onExit = (d) => {
            slot.onMessage = slot.onExit = idle;
            const job = jobs[id]!;
            complete({ episode: '', robot: job.robot, file: job.file, steps: 0, programs: [], readMs: 0, error: `${d.detail} (${d.failure})`, failure: d.failure }, id);
            if (this.bootFailures >= MAX_BOOT_FAILURES) return fail(new RewarddError('E_CONFIG', `relabel workers could not start (${MAX_BOOT_FAILURES} in a row): ${d.detail}`));
            give(i);
          };
          this.load(slot, programs, tuning);
          slot.job = { id, lastNews: performance.now(), evaluating: false };
          this.send(slot, { type: 'job', id, job: jobs[id]! });
        };
        for (let i = 0; i < Math.min(this.o.workers, jobs.length); i++) give(i);
      });
    } finally {
      clearInterval(stall);
      for (const s of this.slots) s.onMessage = s.onExit = idle;
    }
  }

  /** Asks every worker to exit; kills those still there after 2 s. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.dead) return resolve();
            const t = setTimeout(() => s.proc.kill('SIGKILL'), 2000);
            s.proc.once('exit', () => (clearTimeout(t), resolve()));
            if (s.proc.connected) this.send(s, { type: 'exit' });
            else s.proc.kill('SIGKILL');
          }),
      ),
    );
  }

  private killStalled(): void {
    const now = performance.now();
    for (const s of this.slots) {
      const limit = this.o.stallMs + (s.job?.evaluating ? 0 : START_ALLOWANCE_MS);
      if (s.job && !s.dead && s.killedFor === null && now - s.job.lastNews > limit) {
        s.killedFor = `the relabel worker reported no progress for ${Math.round(now - s.job.lastNews)} ms (limit ${limit} ms${s.job.evaluating ? '' : ', before evaluating'}) and was killed`;
        s.proc.kill('SIGKILL');
      }
    }
  }

  /** Slot i, replaced by a fresh worker if it died. */
  private live(i: number): Slot {
    if (this.closed) throw new RewarddError('E_CONFIG', 'relabel pool: used after close()');
    if (this.slots[i]!.dead) this.slots[i] = this.spawn();
    return this.slots[i]!;
  }

  private load(slot: Slot, programs: ProgramSpec[], tuning: RuntimeTuning): void {
    const key = JSON.stringify([programs, tuning]);
    if (slot.key === key) return;
    slot.key = key;
    this.send(slot, { type: 'programs', key, programs, tuning });
  }

  private send(slot: Slot, m: ToWorker): void {
    slot.proc.send(m);
  }

  private spawn(): Slot {
    const { entry, execArgv } = workerCommand();
    // esbuild's sync API (reward-file syntax checks) starts a helper thread and a service process on its
    // first call, 0.25-0.5 s here; a worker makes a few such calls, each a plain child process with
    // ESBUILD_WORKER_THREADS=0 (50-100 ms): start-up counts in every relabel.
    const env = { ...process.env, ESBUILD_WORKER_THREADS: '0', [WORKER_ENV]: '1' };
    const proc = fork(entry, [], { execPath: process.execPath, execArgv, detached: true, env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const slot: Slot = { proc, ready: false, dead: false, key: '', tail: new TailBuffer(), job: null, killedFor: null, onMessage: idle, onExit: idle };
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => slot.tail.push(d));
    proc.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        slot.ready = true;
        this.bootFailures = 0;
        // Start-up is not a stall: a job sent before the worker was ready is timed from now.
        if (slot.job) slot.job.lastNews = performance.now();
      } else slot.onMessage(m);
    });
    // A send to a worker that just died fails here; its 'exit' reports the death.
    proc.on('error', () => {});
    proc.on('exit', (code, signal) => {
      slot.dead = true;
      if (!slot.ready) this.bootFailures++;
      const died = slot.onExit !== idle;
      slot.job = null;
      // stderr may still hold the last lines (V8's out-of-memory report): read them first.
      const report = (): void => {
        if (died) slot.onExit(classifyDeath(code, signal, slot.tail.toString(), slot.killedFor));
      };
      if (proc.stderr && !proc.stderr.readableEnded) proc.stderr.once('end', report);
      else report();
    });
    if (proc.pid !== undefined) this.o.onWorkerStart?.(proc.pid);
    return slot;
  }
}

/** This Node binary with the CLI's flags; from source (vitest, tsx) the .ts entry through tsx. */
function workerCommand(): { entry: string; execArgv: string[] } {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./worker-main.${fromSource ? 'ts' : 'js'}`, here));
  const execArgv = inheritableExecArgv(process.execArgv);
  // rewardd's own flags (the sandbox needs the startup snapshot off), unless the caller's or NODE_OPTIONS have them.
  execArgv.push(...missingNodeFlags(execArgv));
  if (fromSource && !execArgv.some((f) => /tsx/.test(f))) execArgv.push('--import', pathToFileURL(createRequire(here).resolve('tsx/esm')).href);
  return { entry, execArgv };
}

/**
 * The caller's Node flags a worker starts with (heap size, profiling, loaders), less those that
 * must not be repeated: inspector flags (every worker would fight for one port) and the flags that
 * make Node run code other than the entry point. `node -e "…relabel…"` puts `-e` and its script in
 * execArgv: a worker started with them ran the script again, which started a worker... (seen: 530
 * processes in a minute).
 */
export function inheritableExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (/^--(inspect|debug)/.test(f)) {
      // Their port and uid forms take the value as the next argument when written without `=`.
      if (/^--(inspect-port|debug-port|inspect-publish-uid)$/.test(f)) i++;
      continue;
    }
    // Flags that take the code (or a mode) as their next argument, and their `=` forms.
    if (f === '-e' || f === '--eval' || f === '-p' || f === '--print' || f === '-pe' || f === '--input-type') {
      i++;
      continue;
    }
    if (/^--(eval|print|input-type)=/.test(f) || f === '-i' || f === '--interactive' || f === '-c' || f === '--check' || f === '--test' || f === '--watch') continue;
    out.push(f);
  }
  return out;
}

/**
 * The one-call form: a pool of `workers` for one run of `jobs`, closed after.
 * (relabel, diff and export keep a pool across their own calls instead.)
 */
export async function runEpisodeJobs(
  programs: ProgramSpec[],
  tuning: RuntimeTuning,
  jobs: EpisodeJob[],
  workers: number,
  onOutcome: (o: EpisodeOutcome, index: number) => void,
  opts: Omit<PoolOptions, 'workers'> = {},
): Promise<void> {
  const pool = new RelabelPool({ ...opts, workers: Math.max(1, Math.min(workers, jobs.length)) });
  try {
    await pool.run(programs, tuning, jobs, onOutcome);
  } finally {
    await pool.close();
  }
}
