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
 * Then `reward refine --store`, time per candidate: the store evaluator's
 * relabel workers kept warm across candidates (one pool for the loop) against a
 * relabel and a diff that each start their own worker (what 0.2 did), on the
 * same small store, interleaved.
 *
 *   npm run bench -- authoring
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreEvaluator } from '../src/authoring/evaluate-store.js';
import { activeProgram, diffRewards, relabelStore } from '../src/relabel/index.js';
import { EpisodeLabels } from '../src/store/labels.js';
import { makeBenchStore } from './relabel-store.js';
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
  await storeCandidates();
}

/** refine --store: seconds per candidate with warm workers against cold ones (a pool per relabel and per diff). */
async function storeCandidates(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rewardd-bench-refine-store-'));
  try {
    const source = readFileSync(join(packageRoot(), 'rewards', 'reach-beacon.reward.js'), 'utf8');
    const names = await makeBenchStore(dir, { episodes: 16, steps: 2000, source });
    // Operator labels, half and half: the store evaluator ranks against outcomes of both kinds.
    const labels = new EpisodeLabels(dir);
    try {
      names.forEach((ep, i) => labels.add(ep, i % 2 === 0 ? 'success' : 'failure', null, 'bench', Date.now()));
    } finally {
      labels.close();
    }
    const candidates = [REACH_FAST, SPIN, source].flatMap((c, i) => [0, 1].map((k) => ({ source: `${c}\n// candidate ${i}-${k}\n`, filename: `c${i}-${k}.reward.js` })));
    const current = activeProgram(dir)!;
    const warm: number[] = [];
    const cold: number[] = [];
    const ev = new StoreEvaluator({ storeDir: dir, outcome: 'labels', points: 5 });
    try {
      for (const c of candidates) {
        let t = performance.now();
        const e = await ev.evaluate(c, undefined);
        if (!e.ok) throw new Error(`${c.filename}: ${e.error}`);
        warm.push(performance.now() - t);
        t = performance.now();
        await relabelStore({ storeDir: dir, reward: c, save: false });
        await diffRewards({ storeDir: dir, a: current, b: c });
        cold.push(performance.now() - t);
      }
    } finally {
      await ev.close();
    }
    // The first warm candidate starts the pool: shown apart.
    const w = median(warm.slice(1));
    const c = median(cold.slice(1));
    process.stdout.write(
      `refine --store, per candidate (relabel + diff of 16 episodes x 2,000 steps), median of ${candidates.length - 1}: ` +
        `warm workers ${w.toFixed(0)} ms (the first, starting them: ${warm[0]!.toFixed(0)} ms), a worker per relabel and per diff ${c.toFixed(0)} ms; ${(c / w).toFixed(2)}x\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
