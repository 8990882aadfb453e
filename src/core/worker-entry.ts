import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread from a sibling module of the caller. Compiled code
 * (dist/) runs the sibling .js file directly; source runs (vitest, tsx) run
 * the .ts file through tsx's loader, registered inside the worker, because
 * Node 20 ignores `--import` in a worker's execArgv.
 */
export function startWorker(callerUrl: string, baseName: string, options: WorkerOptions = {}): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  const url = new URL(`./${baseName}.${fromSource ? 'ts' : 'js'}`, callerUrl);
  if (!fromSource) return new Worker(url, options);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
