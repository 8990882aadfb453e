/**
 * `reward refine --sim` fitness: one candidate trained and evaluated in its own
 * child process (trainer-child.ts), killed if it outlives its time limit or
 * the run is interrupted. Fitness is the held-out task success rate; ties are
 * broken by fewer ticks to success (see compareSimFitness).
 */
import { fork } from 'node:child_process';
import { rewarddNodeFlags } from '../../core/node-flags.js';
import { fileURLToPath } from 'node:url';
import type { RobotDescription } from '../../core/robot.js';
import type { FromTrainer, TrainJob } from './trainer-child.js';
import type { SimTrainOptions, SimTrainResult } from './train-with-reward.js';

export interface SimRunOptions {
  robot: RobotDescription;
  train: SimTrainOptions;
  /** Wall-time limit for one candidate (monotonic), seconds. */
  timeoutS: number;
  signal?: AbortSignal;
  onProgress?: (generation: number, of: number) => void;
}

export type SimOutcome = { ok: true; result: SimTrainResult; seconds: number } | { ok: false; error: string; seconds: number };

/** The child's module beside this one: .js from dist/, .ts (through tsx) from source runs such as vitest. */
function childModule(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./trainer-child.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  // isolated-vm needs Node's startup snapshot off on Node 20.
  return { path: fileURLToPath(url), execArgv: [...rewarddNodeFlags(), ...(fromSource ? ['--import', 'tsx'] : [])] };
}

export function trainCandidateInChild(source: string, filename: string, o: SimRunOptions): Promise<SimOutcome> {
  const t0 = performance.now();
  const seconds = (): number => (performance.now() - t0) / 1000;
  return new Promise((resolve) => {
    const { path, execArgv } = childModule();
    const child = fork(path, [], { execArgv, detached: true, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    let settled = false;
    // The child's stderr, kept for the error message: the last 4 KiB only.
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-4096)));
    const finish = (r: SimOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `E_REWARD_TIMEOUT: training did not finish within ${o.timeoutS} s (--sim-timeout-s); the trainer was stopped`, seconds: seconds() }), o.timeoutS * 1000);
    const onAbort = (): void => finish({ ok: false, error: 'interrupted', seconds: seconds() });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) return onAbort();
    child.on('message', (m: FromTrainer) => {
      if (m.type === 'progress') o.onProgress?.(m.generation, m.of);
      else if (m.type === 'result') finish({ ok: true, result: m.result, seconds: seconds() });
      else finish({ ok: false, error: m.message, seconds: seconds() });
    });
    child.on('error', (e) => finish({ ok: false, error: `trainer process: ${e.message}`, seconds: seconds() }));
    child.on('close', (code, signal) => {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      finish({ ok: false, error: `trainer process exited (${signal ?? `code ${code}`}) before reporting a result${tail ? `: ${tail}` : ''}`, seconds: seconds() });
    });
    child.send({ type: 'train', source, filename, robot: o.robot, options: o.train } satisfies TrainJob);
  });
}
