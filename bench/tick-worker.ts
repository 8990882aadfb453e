import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { systemClock } from '../src/core/clock.js';
import { Mailbox } from '../src/core/mailbox.js';
import { loadRobot } from '../src/core/robot.js';
import { loadCalibration } from '../src/calibration/calibration.js';
import { SimLink } from '../src/link/sim-link.js';
import { RewardRuntime } from '../src/reward/index.js';
import { InThreadReward } from '../src/reward/in-thread-reward.js';
import { LiveReward, type LiveHostHandle } from '../src/reward/host/live-reward.js';
import type { RewardOutput } from '../src/reward/output.js';
import { SafetyFilter } from '../src/safety/index.js';
import { ControlLoop } from '../src/daemon/control-loop.js';
import { RewardSlot } from '../src/daemon/reward-slot.js';
import { TickScheduler } from '../src/daemon/tick-scheduler.js';
import type { RewardEvaluator } from '../src/daemon/ports.js';

/**
 * Runs the real control loop (sim link, calibration, sandboxed reward, safety
 * filter, step batching) on its own thread, as the daemon does, for a fixed
 * time at a fixed rate, and reports what the scheduler achieved. With
 * mode "setTimeout" it runs the naive drift-compensated setTimeout loop
 * instead: the baseline the scheduler is measured against.
 */
const { hz, seconds, mode, reward = 'in-thread', host, spinUs } = workerData as {
  hz: number;
  seconds: number;
  mode: 'scheduler' | 'setTimeout';
  /** host: a reward host process (what the daemon runs; `host` is its handle); in-thread: the sandbox on this thread; const: no sandbox. */
  reward?: 'host' | 'in-thread' | 'const';
  host?: LiveHostHandle;
  spinUs?: number;
};

const robot = loadRobot('robots/rover.json');
const source = readFileSync('rewards/reach-beacon.reward.js', 'utf8');
const names = robot.robot.observations.map((f) => f.name);
const actions = robot.robot.actions.map((f) => f.name);
const constant: RewardEvaluator = {
  info: { version: 'const', sha256: 'const', name: 'const', termNames: ['c'], weights: { c: 1 }, source: '', filename: '' },
  ready: true,
  beginEpisode: () => {},
  submit: () => 1,
  result: (_t: number, out: RewardOutput) => {
    out.status = 0;
    out.total = 1;
    out.terms[0] = 1;
    out.success = false;
    out.done = false;
    out.reason = '';
    return true;
  },
  dispose: () => {},
};
const inner: RewardEvaluator =
  reward === 'const'
    ? constant
    : reward === 'host'
      ? new LiveReward(host!)
      : new InThreadReward(await RewardRuntime.create(source, 'reach-beacon.reward.js', { observationNames: names, actionNames: actions }));
while (!inner.ready) await new Promise((r) => setTimeout(r, 2));
// The reward's share of each tick: submit (after the command) plus every result() poll until the
// next submit (the drains at the start and end of the next tick).
const costs = new Float64Array(hz * seconds + 10);
let nCost = 0;
let cur = 0;
const rt: RewardEvaluator = {
  info: inner.info,
  get ready() {
    return inner.ready;
  },
  beginEpisode: (e) => inner.beginEpisode(e),
  submit: (o, a, dt, raw) => {
    const t0 = performance.now();
    if (nCost < costs.length) costs[nCost++] = cur;
    const ticket = inner.submit(o, a, dt, raw);
    cur = performance.now() - t0;
    return ticket;
  },
  result: (t, out) => {
    const t0 = performance.now();
    const got = inner.result(t, out);
    cur += performance.now() - t0;
    return got;
  },
  dispose: () => inner.dispose(),
};
const slot = new RewardSlot(rt, 20, () => {});
const safety = new SafetyFilter(robot.robot, { latchFile: null });
let batches = 0;
const loop = new ControlLoop({
  robot,
  calibration: loadCalibration('calibration/rover.json', robot.robot),
  link: new SimLink({ rover: { seed: 3 } }),
  reward: slot,
  safety,
  observationMailbox: Mailbox.create(names.length),
  actionMailbox: Mailbox.create(actions.length),
  tickHz: hz,
  stepLimit: 1500,
  batchCapacity: 50,
  batchMaxAgeNs: 250_000_000n,
  maxEpisodes: 0,
  autoArm: true,
  policy: { hash: 'bench', sha256: 'bench', content: null, backend: 'none' },
  software: { rewardd: 'bench', node: process.version },
  rewardSigner: () => null,
  clock: systemClock,
  events: { episodeStart: () => {}, batch: () => batches++, episodeEnd: () => {}, notice: () => {} },
});
await loop.open();

const usage0 = process.cpuUsage();
const t0 = systemClock.nowNs();
if (mode === 'scheduler') {
  const s = new TickScheduler({ hz, clock: systemClock, window: hz * seconds + 10, ...(spinUs !== undefined ? { spinUs } : {}) }, (now) => {
    loop.tick(now);
    if (now - t0 > BigInt(seconds * 1e9)) s.stop();
  });
  await s.run();
  const st = s.stats();
  const cpu = process.cpuUsage(usage0);
  const wall = Number(systemClock.nowNs() - t0) / 1e9;
  const c = Float64Array.from(costs.subarray(Math.floor(nCost / 10), nCost)).sort();
  const at = (q: number): number => (c.length ? (c[Math.min(c.length - 1, Math.floor(q * c.length))] as number) * 1000 : NaN);
  parentPort!.postMessage({ hz: st.ticks / wall, p50: st.p50ErrorUs, p99: st.p99ErrorUs, max: st.maxErrorUs, late99: st.p99LateUs, spin: st.spinUs, skipped: st.skipped, cpu: (cpu.user + cpu.system) / 1e6 / wall, batches, rewardP50Us: at(0.5), rewardP99Us: at(0.99), rewardMaxUs: at(1), errorsUs: s.periodErrorsUs() });
} else {
  const periodMs = 1000 / hz;
  const errors: number[] = [];
  let ticks = 0;
  let last = 0n;
  let next = performance.now() + periodMs;
  await new Promise<void>((resolve) => {
    const step = () => {
      const now = systemClock.nowNs();
      if (last !== 0n) errors.push(Math.abs(Number(now - last) / 1000 - periodMs * 1000));
      last = now;
      loop.tick(now);
      ticks++;
      if (now - t0 > BigInt(seconds * 1e9)) return resolve();
      next += periodMs;
      setTimeout(step, Math.max(0, next - performance.now()));
    };
    setTimeout(step, periodMs);
  });
  const cpu = process.cpuUsage(usage0);
  const wall = Number(systemClock.nowNs() - t0) / 1e9;
  errors.sort((a, b) => a - b);
  parentPort!.postMessage({
    late99: NaN,
    hz: ticks / wall,
    p50: errors[Math.floor(errors.length * 0.5)] ?? NaN,
    p99: errors[Math.floor(errors.length * 0.99)] ?? NaN,
    max: errors[errors.length - 1] ?? NaN,
    skipped: 0,
    cpu: (cpu.user + cpu.system) / 1e6 / wall,
    batches,
  });
}
slot.dispose();
