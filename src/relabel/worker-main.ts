import { setFlagsFromString } from 'node:v8';
import { diagnosticsOf } from '../reward/diagnostics.js';
import { startGuard } from '../reward/host/guard.js';
import { BufferPool } from './buffer-pool.js';
import { EpisodeJobRunner } from './episode-job.js';
import type { FromWorker, ToWorker } from './worker-messages.js';

/**
 * A relabel worker process (started by pool.ts with this Node binary and the
 * CLI's flags): the only place offline reward code runs. A V8 abort, a
 * segfault or a kill here costs one episode, never the CLI.
 *
 * It stays warm: compiled runtimes are kept per program set (the last
 * RUNNER_CACHE sets, each per robot shape) and the columns and results of each
 * episode go into the same reused buffers (BufferPool). It exits when its
 * parent goes away.
 */
const RUNNER_CACHE = 4;

// TurboFan compiles the sandbox's hot functions on the evaluating thread (synchronously) in this
// process, for the isolates it creates from now on. Compiled concurrently, the harness's step
// function (the program inlined into it: 50-600 ms of compile on this machine) sometimes never got
// installed on a loaded machine, and a whole relabel ran 2-5x slower (measured with --trace-opt:
// "compiling method oneCol" with no "completed"; docs/relabel.md). Offline, a synchronous compile
// costs nothing that matters; the online reward host keeps V8's default.
setFlagsFromString('--no-concurrent-recompilation');
/** At most one progress message per this many ms. */
const HEARTBEAT_MS = 250;

const send = (m: FromWorker): void => {
  process.send?.(m);
};

/**
 * Resident-set cap of a relabel worker (REWARDD_RELABEL_WORKER_MEMORY_MB, default 1024): well above
 * what its episode columns take (a million rover steps is ~100 MB), well below what an allocation
 * bomb reaches. Without it V8 spends seconds in last-resort GCs per bomb before aborting.
 */
const RELABEL_RSS_CAP_MB = Number(process.env.REWARDD_RELABEL_WORKER_MEMORY_MB) > 0 ? Number(process.env.REWARDD_RELABEL_WORKER_MEMORY_MB) : 1024;
// The reward host's guard (docs/sandbox.md): kills this worker at the cap, or 500 ms after a
// disposal that did not stop its step (an allocation inside a built-in); writes why on stderr first.
// A step merely running long is the pool's to judge (heartbeats, --stall), not the guard's.
if (process.send) startGuard({ rssCapBytes: RELABEL_RSS_CAP_MB * 1048576, stuckMs: 24 * 3600_000, killedGraceMs: 500, busyPollMs: 2 });

const pool = new BufferPool();
const runners = new Map<string, EpisodeJobRunner>();
let active: EpisodeJobRunner | undefined;

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'programs': {
      let r = runners.get(m.key);
      if (r) runners.delete(m.key);
      else r = new EpisodeJobRunner(m.programs, m.tuning, pool);
      runners.set(m.key, r); // most recent last
      while (runners.size > RUNNER_CACHE) {
        const [oldest, old] = runners.entries().next().value as [string, EpisodeJobRunner];
        old.dispose();
        runners.delete(oldest);
      }
      active = r;
      return;
    }
    case 'identify': {
      try {
        const rts = await active!.runtimesFor(m.observationNames, m.actionNames);
        send({
          type: 'identity',
          programs: rts.map(({ info: i }) => ({ version: i.version, sha256: i.sha256, name: i.name, goal: i.goal, weights: i.weights, termNames: i.termNames, ...(i.ranges ? { ranges: i.ranges } : {}), rawNames: i.rawNames, hasSuccess: i.hasSuccess, hasDone: i.hasDone, hasColumns: i.hasColumns })),
        });
      } catch (e) {
        send({ type: 'rejected', diagnostics: diagnosticsOf(e) ?? [], message: (e as Error).message });
      }
      return;
    }
    case 'job': {
      // News at the start, after reading and compiling, and every HEARTBEAT_MS of evaluation:
      // the pool kills a worker that goes quiet for its stallMs.
      let last = -Infinity;
      let evaluating = false;
      const progress = (steps: number, nowEvaluating: boolean): void => {
        const now = performance.now();
        // The start of evaluation always goes out: the pool times stalls more tightly from then on.
        if (now - last < HEARTBEAT_MS && nowEvaluating === evaluating) return;
        last = now;
        evaluating = nowEvaluating;
        send({ type: 'progress', id: m.id, steps, evaluating });
      };
      progress(0, false);
      const outcome = await active!.run(m.job, progress);
      send({ type: 'done', id: m.id, outcome });
      return;
    }
    case 'exit':
      for (const r of runners.values()) r.dispose();
      process.disconnect?.();
      return;
  }
}

if (process.send) {
  // Messages are handled one after another, in the order they came.
  let chain = Promise.resolve();
  process.on('message', (m: ToWorker) => {
    chain = chain.then(() => handle(m)).catch((e: unknown) => {
      process.stderr.write(`relabel worker: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(70);
    });
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}
