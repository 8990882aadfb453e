/**
 * Time per candidate of `reward refine --sim` at the default budget
 * (SIM_TRAIN_DEFAULTS), for three reward programs that end their episodes at
 * different times, each trained in its own child process as refine does,
 * against the same training of the first program run in this process (the
 * baseline, measured in the same run: what the child process and the sandbox
 * set-up add). Medians of REPS runs; "training alone" is the time measured
 * inside the child (the rest is process start-up and module loading). Held-out
 * success is printed beside.
 *
 *   npm run bench -- authoring
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainCandidateInChild } from '../src/authoring/sim/sim-fitness.js';
import { loadCandidate, SIM_TRAIN_DEFAULTS, trainWithReward } from '../src/authoring/sim/train-with-reward.js';
import { loadRobot } from '../src/core/robot.js';
import { packageRoot } from '../src/core/version.js';
import { table } from './stats.js';

const REPS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const REACH_FAST = `import { clamp, hypot } from 'rewardd';
export const meta = { name: 'reach-fast', goal: 'Drive to the beacon and stop within 0.25 m of it.', weights: { progress: 1, time: -0.2 } };
const dist = (o) => hypot(o.beacon_x, o.beacon_y);
export function reward(obs, action, ctx) {
  const progress = ctx.prev === null ? 0 : clamp((dist(ctx.prev) - dist(obs)) / ctx.dt, -1, 1);
  return { progress, time: 1 };
}
export function success(obs) { return dist(obs) < 0.25; }
`;
const SPIN = `export const meta = { name: 'spin', goal: 'Spin on the spot.', weights: { spin: 1 } };
export function reward(obs) { return { spin: Math.min(Math.abs(obs.gyro_z), 5) / 5 }; }
`;

export async function run(): Promise<void> {
  const robot = loadRobot(join(packageRoot(), 'robots', 'rover.json')).robot;
  const programs = [
    { name: 'reach-fast (ends at the beacon)', source: REACH_FAST },
    { name: 'reach-beacon.reward.js (shipped)', source: readFileSync(join(packageRoot(), 'rewards', 'reach-beacon.reward.js'), 'utf8') },
    { name: 'spin (never ends early)', source: SPIN },
  ];
  const base: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const rt = await loadCandidate(REACH_FAST, 'reach-fast.reward.js', robot);
    const t0 = performance.now();
    await trainWithReward(rt, robot, SIM_TRAIN_DEFAULTS);
    base.push((performance.now() - t0) / 1000);
    rt.dispose();
  }
  const b = median(base);
  const rows: Array<Record<string, string | number>> = [{ candidate: 'baseline: reach-fast, in this process', 'seconds (median)': b, 'x baseline': 1, 'training alone, s': b, 'held-out success': '-', 'ticks simulated': '-' }];
  for (const p of programs) {
    const secs: number[] = [];
    const inside: number[] = [];
    let held = '';
    let ticks = 0;
    for (let i = 0; i < REPS; i++) {
      const r = await trainCandidateInChild(p.source, `${p.name}.reward.js`, { robot, train: SIM_TRAIN_DEFAULTS, timeoutS: 600 });
      if (!r.ok) throw new Error(`${p.name}: ${r.error}`);
      secs.push(r.seconds);
      inside.push(r.result.seconds);
      held = `${r.result.heldOut.successes}/${r.result.heldOut.episodes}`;
      ticks = r.result.ticksSimulated;
    }
    const m = median(secs);
    rows.push({ candidate: `${p.name}, child process`, 'seconds (median)': m, 'x baseline': m / b, 'training alone, s': median(inside), 'held-out success': held, 'ticks simulated': ticks });
  }
  process.stdout.write(`refine --sim, time per candidate at the default budget (${SIM_TRAIN_DEFAULTS.generations} generations x ${2 * SIM_TRAIN_DEFAULTS.pairs} policies x ${SIM_TRAIN_DEFAULTS.episodesPerCandidate} episodes, ${SIM_TRAIN_DEFAULTS.evalEpisodes} held-out), median of ${REPS}\n`);
  process.stdout.write(`${table(rows)}\n`);
}
