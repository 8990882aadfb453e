import { RewardStatus } from '../../core/records.js';
import { checkRewardProgramHere } from '../check.js';
import { compareForms } from '../columns-check.js';
import { diagnosticsOf } from '../diagnostics.js';
import { newRewardBatchOutput, type RewardBatchOutput } from '../output.js';
import { RewardRuntime, type RewardRuntimeOptions } from '../runtime.js';
import { startGuard } from './guard.js';
import { serveLive } from './host-live.js';
import type { FromHost, ToHost } from './messages.js';

/**
 * A reward host: a disposable child process in which untrusted reward code
 * runs (inside an isolated-vm isolate, as before). Whatever the program does
 * to this process (a V8 fatal out-of-memory abort, a stuck built-in, a crash),
 * the daemon or CLI that started it only sees "the reward host died"
 * (docs/sandbox.md). The parent passes the guard's limits in the environment.
 */
const send = (m: FromHost): void => {
  process.send?.(m);
};

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

// killedGraceMs: a live host whose sandbox the watchdog disposed ends itself after that step anyway
// (docs/sandbox.md), so waiting for a termination stuck inside a built-in only delays the rollback:
// 20 ms after the disposal, not 100, is when the guard kills (measured, `new Array(2e8).fill(1.5)`
// to the next ok step at p50: 215 → 135 ms with the fill at step 1500, 132 → 54 ms at step 5000).
startGuard({
  rssCapBytes: env('REWARDD_HOST_RSS_CAP_MB', 256) * 1048576,
  stuckMs: env('REWARDD_HOST_STUCK_MS', 3000),
  killedGraceMs: env('REWARDD_HOST_KILLED_GRACE_MS', 20),
  busyPollMs: 2,
});

let rt: RewardRuntime | null = null;
let loaded: { source: string; filename: string; options: RewardRuntimeOptions } | null = null;

async function handle(m: ToHost): Promise<void> {
  switch (m.t) {
    case 'load': {
      rt?.dispose();
      rt = null;
      try {
        rt = await RewardRuntime.create(m.source, m.filename, m.options);
        loaded = { source: m.source, filename: m.filename, options: m.options };
        send({ t: 'loaded', info: rt.info });
      } catch (e) {
        send({ t: 'load-failed', message: (e as Error).message, diagnostics: diagnosticsOf(e) ?? [] });
      }
      return;
    }
    case 'dry-run': {
      if (!rt) return send({ t: 'error', message: 'dry-run before load' });
      let steps = 0;
      const results: RewardBatchOutput[] = [];
      for (let s = 0; s < m.segments.length; s++) {
        const seg = m.segments[s]!;
        rt.beginEpisode({ index: 0, id: `dry-run:${seg.episode}` });
        const count = seg.obs.length / (loaded?.options.observationNames.length ?? 1);
        const res = rt.evaluateBatch(seg.obs, seg.actions, seg.dt, newRewardBatchOutput(count, rt.info.termNames.length), seg.raw);
        for (let k = 0; k < res.count; k++) {
          if (res.status[k] !== RewardStatus.ok) {
            return send({ t: 'dry-run', steps: steps + k, failure: { segment: s, step: steps + k, episode: seg.episode, status: res.status[k] as number, reason: res.reasons.get(k) ?? `status ${res.status[k]}` } });
          }
        }
        steps += res.count;
        results.push(res);
      }
      // A program with a columnar twin (relabel runs it) must compute the same numbers on the robot's own
      // steps: compared bit for bit with the reward() results above, segment by segment (docs/reward-columns.md).
      for (let s = 0, before = 0; s < m.segments.length; s++) {
        const seg = m.segments[s]!;
        const res = results[s]!;
        const dt = typeof seg.dt === 'number' ? new Float64Array(res.count).fill(seg.dt) : seg.dt;
        const d = compareForms(rt, seg.obs, seg.actions, dt, seg.raw, { index: 0, id: `dry-run:${seg.episode}` }, res);
        if (d) return send({ t: 'dry-run', steps, failure: { segment: s, step: before + (d.step ?? 0), episode: seg.episode, status: RewardStatus.bad_output, reason: `E_REWARD_COLUMNS: ${d.message}` } });
        before += res.count;
      }
      return send({ t: 'dry-run', steps, failure: null });
    }
    case 'check':
      return send({ t: 'check', report: await checkRewardProgramHere(m.options) });
    case 'live': {
      if (!loaded) return send({ t: 'error', message: 'live before load' });
      // A fresh sandbox: nothing the dry run left in module-level variables reaches the robot's steps.
      rt?.dispose();
      rt = await RewardRuntime.create(loaded.source, loaded.filename, loaded.options);
      send({ t: 'live' });
      serveLive(rt, m.requestFifo, m.replyFifo);
      process.exit(0);
    }
  }
}

process.on('message', (m: ToHost) => {
  handle(m).catch((e: unknown) => send({ t: 'error', message: (e as Error)?.message ?? String(e) }));
});
// The parent is gone (daemon or CLI exited): nothing left to serve.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready', pid: process.pid, rssBytes: process.memoryUsage.rss() });
