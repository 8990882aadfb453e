import { readFileSync } from 'node:fs';
import { startWorker } from '../src/core/worker-entry.js';
import { loadRobot } from '../src/core/robot.js';
import { RewardStatus } from '../src/core/records.js';
import { RewardHost } from '../src/reward/host/reward-host.js';
import { LiveReward, type LiveHostHandle } from '../src/reward/host/live-reward.js';
import { newRewardOutput } from '../src/reward/output.js';
import { RewardSlot } from '../src/daemon/reward-slot.js';
import { table } from './stats.js';

/**
 * What process isolation costs and buys (issue 14), in one run:
 * - the control loop at 1 kHz with the reward in a host process against the
 *   same loop with the sandbox on the tick thread (the 0.1 design), rounds
 *   alternated: period error, and the reward's cost on the tick thread
 *   (submit after the command + reading the result at the next tick);
 * - the host's answer latency (a step submitted -> its result readable);
 * - the time from a host crash to the next good reward step (rollback to the
 *   warm previous version): for a host killed from outside (SIGKILL) and for
 *   a program that allocates in one uninterruptible built-in.
 */
const robot = loadRobot('robots/rover.json');
const OBS = robot.robot.observations.map((f) => f.name);
const ACT = robot.robot.actions.map((f) => f.name);
const GOOD = readFileSync('rewards/reach-beacon.reward.js', 'utf8');

async function liveHost(source: string, filename: string): Promise<{ host: RewardHost; handle: LiveHostHandle }> {
  const host = await RewardHost.start();
  const loaded = await host.load(source, filename, { observationNames: OBS, actionNames: ACT });
  if (!loaded.ok) throw new Error(loaded.message);
  const fifos = await host.goLive();
  return { host, handle: { ...fifos, info: loaded.info, observationCount: OBS.length, actionCount: ACT.length } };
}

type TickRun = Record<string, number> & { errorsUs: Float64Array };

function tickRun(hz: number, seconds: number, reward: 'host' | 'in-thread', host?: LiveHostHandle): Promise<TickRun> {
  return new Promise((resolve, reject) => {
    const w = startWorker(import.meta.url, 'tick-worker', { workerData: { hz, seconds, mode: 'scheduler', reward, ...(host ? { host } : {}) } });
    w.once('message', (m: TickRun) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

const spinUntil = (t: number): void => {
  while (performance.now() < t) {
    /* pace */
  }
};
const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

async function tickComparison(): Promise<void> {
  const seconds = Number(process.env.BENCH_ISOLATION_SECONDS ?? 4);
  // Seven short alternating rounds: the p99 of a 1 kHz period on this VM swings 10-900 µs from one round to the next, and a median of seven per-round ratios says more than three.
  const rounds = Number(process.env.BENCH_ISOLATION_ROUNDS ?? 7);
  const rows: Array<Record<string, string | number>> = [];
  const ratios: number[] = [];
  // Every period of every round, per arm: the per-round p99 of a period error that is mostly under
  // 1 µs swings by 100x with whatever else the VM runs in those 4 s, so the median of per-round
  // ratios moves between runs; percentiles of the pooled periods are what the rounds measured together.
  const pooled: Record<'inThread' | 'hosted', number[]> = { inThread: [], hosted: [] };
  for (let r = 0; r < rounds; r++) {
    const inThread = await tickRun(1000, seconds, 'in-thread');
    const { host, handle } = await liveHost(GOOD, 'reach-beacon.reward.js');
    const hosted = await tickRun(1000, seconds, 'host', handle);
    host.kill();
    for (const [name, m] of [['sandbox on the tick thread (0.1)', inThread], ['reward host process (0.2)', hosted]] as const) {
      rows.push({ round: r + 1, reward: name, 'Hz': m.hz!, 'period err p50 us': m.p50!, 'p99 us': m.p99!, 'max us': m.max!, 'reward on tick p50 us': m.rewardP50Us!, 'p99 us ': m.rewardP99Us!, 'max us ': m.rewardMaxUs! });
    }
    ratios.push(hosted.p99! / Math.max(1, inThread.p99!));
    for (const x of inThread.errorsUs) pooled.inThread.push(x);
    for (const x of hosted.errorsUs) pooled.hosted.push(x);
  }
  process.stdout.write(`${table(rows)}\n`);
  process.stdout.write(`1 kHz period error p99, host / in-thread, per round: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${pct(ratios, 0.5).toFixed(2)} (target <= 1.2)\n`);
  const late = (xs: number[], us: number): number => xs.filter((x) => x > us).length / Math.max(1, xs.length);
  const q = (k: 'inThread' | 'hosted', p: number): number => pct(pooled[k], p);
  process.stdout.write(
    `1 kHz period error, all ${rounds} rounds pooled (${pooled.inThread.length} and ${pooled.hosted.length} periods): ` +
      `p99 in-thread ${q('inThread', 0.99).toFixed(2)} us, host ${q('hosted', 0.99).toFixed(2)} us, ratio ${(q('hosted', 0.99) / Math.max(1, q('inThread', 0.99))).toFixed(2)} (target <= 1.2; a p99 under 1 us counts as 1 us); ` +
      `p99.9 ${q('inThread', 0.999).toFixed(1)} vs ${q('hosted', 0.999).toFixed(1)} us; periods off by > 100 us: ${(100 * late(pooled.inThread, 100)).toFixed(2)}% vs ${(100 * late(pooled.hosted, 100)).toFixed(2)}%\n`,
  );
  const hostRows = rows.filter((x) => String(x.reward).startsWith('reward host'));
  process.stdout.write(`reward cost on the tick thread with the host, p99 per round: ${hostRows.map((x) => Number(x['p99 us ']).toFixed(1)).join(' ')} us (target <= 200 us)\n\n`);
}

async function answerLatency(): Promise<void> {
  const { host, handle } = await liveHost(GOOD, 'reach-beacon.reward.js');
  const rt = new LiveReward(handle);
  while (!rt.ready) await new Promise((r) => setTimeout(r, 2));
  rt.beginEpisode({ index: 0, id: 'bench' });
  const out = newRewardOutput(rt.info.termNames.length);
  const obs = new Float32Array(OBS.length).fill(0.5);
  const act = new Float32Array(ACT.length).fill(0.1);
  const lat: number[] = [];
  let next = performance.now();
  for (let i = 0; i < 3000; i++) {
    spinUntil((next += 1));
    const t0 = performance.now();
    const ticket = rt.submit(obs, act, 0.001);
    while (!rt.result(ticket, out)) {
      /* the answer */
    }
    if (i >= 300) lat.push((performance.now() - t0) * 1000);
  }
  rt.dispose();
  host.kill();
  process.stdout.write(`reward host answer latency at 1 kHz (submit -> result readable; the tick reads it a period later): p50 ${pct(lat, 0.5).toFixed(1)} us, p99 ${pct(lat, 0.99).toFixed(1)} us, max ${pct(lat, 1).toFixed(1)} us\n\n`);
}

/**
 * The step that crashes (default 300, as in every figure before; BENCH_ISOLATION_CRASH_STEP to move
 * it). The array fill's figure depends on it: p50 135-152 ms at steps 300 and 1500, 54-56 ms at 3000
 * and 5000 (2026-12-05). In the slow trials the host's watchdog and guard both first saw the step ~80 ms
 * after it began, while every earlier step was answered within a period: their threads did not run
 * (suspected: the fill's huge allocations holding the process's memory map; not confirmed).
 */
const CRASH_STEP = Number(process.env.BENCH_ISOLATION_CRASH_STEP ?? 300);

/** Steps at 1 kHz through a RewardSlot: `bad` active over a warm `good`; returns ms from the crash to the next ok step. */
async function crashToGoodStep(kind: 'sigkill' | 'array-fill'): Promise<number> {
  const good = await liveHost(GOOD, 'reach-beacon.reward.js');
  // The program's call CRASH_STEP + 1 is episode step CRASH_STEP (the first is step 0).
  const badSource = kind === 'sigkill' ? `${GOOD}\n// bad twin\n` : GOOD.replace('export function reward(obs, action, ctx) {', `let calls = 0;\nexport function reward(obs, action, ctx) {\n  if (++calls === ${CRASH_STEP + 1}) new Array(2e8).fill(1.5);`);
  const bad = await liveHost(badSource, 'bad.reward.js');
  const goodRt = new LiveReward(good.handle);
  const badRt = new LiveReward(bad.handle);
  while (!goodRt.ready || !badRt.ready) await new Promise((r) => setTimeout(r, 2));
  const slot = new RewardSlot(goodRt, 20, () => {});
  const ep = { index: 0, id: 'bench' };
  goodRt.beginEpisode(ep);
  slot.offer(badRt, 'now');
  const obs = new Float32Array(OBS.length).fill(0.5);
  const act = new Float32Array(ACT.length).fill(0.1);
  const pending: Array<{ rt: LiveReward; ticket: number; step: number }> = [];
  const outs = new Map([goodRt, badRt].map((r) => [r, newRewardOutput(r.info.termNames.length)]));
  let crashAt = NaN;
  let next = performance.now();
  const deadline = performance.now() + 20_000;
  for (let step = 0; performance.now() < deadline; step++) {
    spinUntil((next += 1));
    while (pending.length > 0) {
      const p = pending[0]!;
      const out = outs.get(p.rt)!;
      if (!p.rt.result(p.ticket, out)) break;
      pending.shift();
      slot.afterStep(p.rt, out, ep);
      if (!Number.isNaN(crashAt) && p.rt === goodRt && out.status === RewardStatus.ok) {
        const ms = performance.now() - crashAt;
        goodRt.dispose();
        good.host.kill();
        bad.host.kill();
        return ms;
      }
    }
    slot.beforeStep(step === 0, ep);
    const rt = slot.active as LiveReward;
    if (kind === 'sigkill' && step === CRASH_STEP) {
      crashAt = performance.now();
      process.kill(bad.handle.pid, 'SIGKILL');
    }
    if (kind === 'array-fill' && rt === badRt && step === CRASH_STEP && Number.isNaN(crashAt)) crashAt = performance.now();
    pending.push({ rt, ticket: rt.submit(obs, act, 0.001), step });
  }
  good.host.kill();
  bad.host.kill();
  return NaN;
}

async function crashRecovery(): Promise<void> {
  const trials = Number(process.env.BENCH_ISOLATION_CRASHES ?? 7);
  const rows: Array<Record<string, string | number>> = [];
  for (const kind of ['sigkill', 'array-fill'] as const) {
    const ms: number[] = [];
    for (let i = 0; i < trials; i++) ms.push(await crashToGoodStep(kind));
    rows.push({ crash: kind === 'sigkill' ? 'host killed (SIGKILL) from outside' : 'new Array(2e8).fill(1.5) in a step', trials, 'p50 ms': pct(ms, 0.5), 'max ms': Math.max(...ms) });
  }
  process.stdout.write(`${table(rows)}\n(time from the crash, or from submitting the crashing step, to the next ok reward step, from the warm previous version, at 1 kHz; the crash at step ${CRASH_STEP})\n\n`);
}

export async function run(): Promise<void> {
  await answerLatency();
  await tickComparison();
  await crashRecovery();
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
