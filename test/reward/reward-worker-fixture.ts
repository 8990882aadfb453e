import { parentPort, workerData } from 'node:worker_threads';
import { RewardRuntime, loadRewardFile, newRewardOutput } from '../../src/reward/index.js';

/**
 * Runs inside a worker_threads Worker, the way the daemon's control loop will:
 * load the default program, evaluate steps synchronously, then check that a
 * runaway program is stopped by the watchdog in this thread too.
 */
const { file, obsNames, actNames } = workerData as { file: string; obsNames: string[]; actNames: string[] };
const { source, filename } = await loadRewardFile(file);
const rt = await RewardRuntime.create(source, filename, { observationNames: obsNames, actionNames: actNames });
rt.beginEpisode({ index: 0, id: 'worker' });
const out = newRewardOutput(rt.info.termNames.length);
const obs = new Float32Array(obsNames.length).fill(1);
const act = new Float32Array(actNames.length).fill(0.5);
const totals: number[] = [];
for (let i = 0; i < 1000; i++) {
  obs[obsNames.indexOf('beacon_x')] = 3 - i * 0.001;
  rt.evaluate(obs, act, 0.001, out);
  if (i % 250 === 0) totals.push(out.total);
  if (out.status !== 0) break;
}
const okStatus = out.status;
rt.dispose();
const loop = await RewardRuntime.create(
  `export const meta = { name: 'loop', goal: 'g', weights: { a: 1 } }; export function reward() { for (;;) {} }`,
  'loop.reward.js',
  { observationNames: obsNames, actionNames: actNames },
);
loop.evaluate(obs, act, 0.001, out);
const loopStatus = out.status;
loop.dispose();
parentPort?.postMessage({ version: rt.info.version, okStatus, totals, loopStatus, loopReason: out.reason });
