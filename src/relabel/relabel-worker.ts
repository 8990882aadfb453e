import { parentPort } from 'node:worker_threads';
import { EpisodeJobRunner, type EpisodeJob, type EpisodeOutcome, type ProgramSpec, type RuntimeTuning } from './episode-job.js';

/**
 * A relabel worker thread: one EpisodeJobRunner (its own sandboxes), one
 * episode at a time. Per-step columns go back as transferred buffers, not copies.
 */
export type ToWorker = { type: 'init'; programs: ProgramSpec[]; tuning: RuntimeTuning } | { type: 'job'; id: number; job: EpisodeJob } | { type: 'close' };
export type FromWorker = { type: 'ready' } | { type: 'done'; id: number; outcome: EpisodeOutcome } | { type: 'fatal'; message: string };

export function transferablesOf(o: EpisodeOutcome): ArrayBuffer[] {
  const set = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView | undefined): void => {
    if (a && a.buffer instanceof ArrayBuffer) set.add(a.buffer);
  };
  add(o.seq);
  for (const p of o.programs) {
    const r = p.result;
    if (r) [r.status, r.total, r.terms, r.success, r.done].forEach(add);
  }
  return [...set];
}

const port = parentPort;
if (port) {
  let runner: EpisodeJobRunner | undefined;
  port.on('message', (m: ToWorker) => {
    if (m.type === 'init') {
      try {
        runner = new EpisodeJobRunner(m.programs, m.tuning);
        port.postMessage({ type: 'ready' } satisfies FromWorker);
      } catch (e) {
        port.postMessage({ type: 'fatal', message: (e as Error).message } satisfies FromWorker);
      }
    } else if (m.type === 'job') {
      const r = runner;
      if (!r) return port.postMessage({ type: 'fatal', message: 'relabel worker: job before init' } satisfies FromWorker);
      void r.run(m.job).then((outcome) => port.postMessage({ type: 'done', id: m.id, outcome } satisfies FromWorker, transferablesOf(outcome)));
    } else {
      runner?.dispose();
      port.close();
    }
  });
}
