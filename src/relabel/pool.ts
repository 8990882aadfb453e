import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/worker-entry.js';
import { RewarddError } from '../core/errors.js';
import { EpisodeJobRunner, type EpisodeJob, type EpisodeOutcome, type ProgramSpec, type RuntimeTuning } from './episode-job.js';
import type { FromWorker, ToWorker } from './relabel-worker.js';

/**
 * Runs episode jobs on `jobs` threads and hands each outcome to `onOutcome`
 * in completion order. jobs = 1 runs in the calling thread (no copy, no
 * worker start-up). Bound: one episode in flight per thread, so memory is at
 * most `jobs` episodes' columns plus what onOutcome keeps.
 */
export async function runEpisodeJobs(
  programs: ProgramSpec[],
  tuning: RuntimeTuning,
  jobs: EpisodeJob[],
  threads: number,
  onOutcome: (o: EpisodeOutcome, index: number) => void,
): Promise<void> {
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RewarddError('E_CONFIG', `--jobs: expected an integer >= 1, found ${threads}`);
  if (threads === 1 || jobs.length <= 1) {
    const runner = new EpisodeJobRunner(programs, tuning);
    try {
      for (let i = 0; i < jobs.length; i++) onOutcome(await runner.run(jobs[i]!), i);
    } finally {
      runner.dispose();
    }
    return;
  }
  const n = Math.min(threads, jobs.length);
  const workers: Worker[] = [];
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      let failed = false;
      const fail = (e: Error): void => {
        if (!failed) (failed = true), reject(e);
      };
      for (let w = 0; w < n; w++) {
        const worker = startWorker(import.meta.url, 'relabel-worker');
        workers.push(worker);
        const give = (): void => {
          if (next >= jobs.length) return;
          const id = next++;
          worker.postMessage({ type: 'job', id, job: jobs[id]! } satisfies ToWorker);
        };
        worker.on('message', (m: FromWorker) => {
          if (m.type === 'ready') give();
          else if (m.type === 'fatal') fail(new RewarddError('E_CONFIG', m.message));
          else {
            try {
              onOutcome(m.outcome, m.id);
            } catch (e) {
              return fail(e as Error);
            }
            if (++finished === jobs.length) resolve();
            else give();
          }
        });
        worker.on('error', (e) => fail(e));
        worker.on('exit', (code) => {
          if (finished < jobs.length) fail(new RewarddError('E_CONFIG', `relabel worker exited with code ${code} before the work was done`));
        });
        worker.postMessage({ type: 'init', programs, tuning } satisfies ToWorker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
