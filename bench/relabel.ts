import { packageRoot } from '../src/core/version.js';
/**
 * Relabel throughput: the example reward (rewards/reach-beacon.reward.js)
 * evaluated in batch mode in the sandbox over logged rover steps, in steps/s
 * per core, against a direct JS loop running the same program unsandboxed on
 * the host over the same data, in the same run. Also: reading stored MCAP
 * episodes into columns, and end to end (read + relabel) on 1 and 2 worker threads.
 *
 *   NODE_OPTIONS=--no-node-snapshot npx tsx bench/relabel.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_SCHEMA, StepFlag, RewardStatus, type EpisodeStart } from '../src/core/records.js';
import { shortHash, sha256Hex } from '../src/core/hash.js';
import { decodeStepBatch } from '../src/episode/batch-codec.js';
import { StepBatcher } from '../src/episode/step-batcher.js';
import { RoverModel, ROVER_SENSOR_NAMES } from '../src/link/sim/rover-model.js';
import { writeEpisodeMcap } from '../src/recorder/mcap-episode-writer.js';
import { hostStdlib, STDLIB_NAMES } from '../src/reward/index.js';
import type { EpisodeColumns } from '../src/relabel/episode-columns.js';
import { readEpisodeColumns } from '../src/relabel/episode-columns.js';
import { EpisodeJobRunner } from '../src/relabel/episode-job.js';
import { runEpisodeJobs } from '../src/relabel/pool.js';
import { dtColumn } from '../src/relabel/relabel-episode.js';
import { table } from './stats.js';

const OBS = [...ROVER_SENSOR_NAMES];
const ACT = ['wheel_left', 'wheel_right'];
const EPISODE_STEPS = 2000;
const EPISODES = 100; // 200k steps in memory
const FILE_EPISODES = 40; // 80k steps on disk
const REPS = 7;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function roverEpisode(index: number, steps: number): EpisodeColumns {
  const model = new RoverModel({ seed: 1 });
  model.reset(index);
  const no = OBS.length;
  const obs = new Float32Array(steps * no);
  const act = new Float32Array(steps * 2);
  const tNs = new BigInt64Array(steps);
  const sense = new Float64Array(no);
  let t = BigInt(index) * 10n ** 12n;
  for (let i = 0; i < steps; i++) {
    model.sense(sense);
    obs.set(sense, i * no);
    const bx = obs[i * no + 10]!;
    const by = obs[i * no + 11]!;
    const turn = Math.max(-1, Math.min(1, 2 * Math.atan2(by, bx)));
    const fwd = Math.max(0, Math.min(0.6, bx)) * 0.8;
    act[i * 2] = fwd - 0.4 * turn;
    act[i * 2 + 1] = fwd + 0.4 * turn;
    tNs[i] = t;
    t += 10_000_000n + BigInt((i * 7919) % 200) * 1000n - 100_000n;
    model.step(0.01, act[i * 2]!, act[i * 2 + 1]!);
    if (model.beaconDistance() < 0.2) model.reset(index + 1000 * (i + 1)); // keep driving: long episodes
  }
  const count = steps;
  return {
    episode: `bench-${index}`, robot: 'rover', start: undefined, observationNames: OBS, actionNames: ACT, count,
    seq: Uint32Array.from({ length: count }, (_, i) => i), tNs, obs, actionApplied: act, actionCommanded: act,
    flags: new Uint8Array(count), safety: new Uint16Array(count), loggedStatus: new Uint8Array(count), loggedTotal: new Float64Array(count),
    loggedSegments: [], loggedReasons: new Map(),
  };
}

/** The same reward file as a plain host function: the baseline a researcher would write. */
function hostProgram(source: string): { weights: Record<string, number>; reward: (o: object, a: object, c: object) => Record<string, number>; success?: (o: object, c: object) => boolean; done?: (o: object, c: object) => boolean } {
  const body = source.replace(/^\s*import\s+[^;]+;\s*$/gm, '').replace(/^export\s+/gm, '');
  const lib = hostStdlib() as Record<string, unknown>;
  const names = STDLIB_NAMES.filter((n) => n in lib);
  const make = new Function(...names, `${body}\nreturn { meta, reward, success: typeof success === 'function' ? success : undefined, done: typeof done === 'function' ? done : undefined };`) as (...a: unknown[]) => { meta: { weights: Record<string, number> }; reward: never; success: never; done: never };
  const p = make(...names.map((n) => lib[n]));
  return { weights: p.meta.weights, reward: p.reward, success: p.success, done: p.done };
}

function directLoop(p: ReturnType<typeof hostProgram>, ep: EpisodeColumns, dt: Float64Array, terms: string[], out: Float64Array): number {
  const w = terms.map((t) => p.weights[t] ?? 0);
  const no = OBS.length;
  let prev: Record<string, number> | null = null;
  const state = {};
  let sum = 0;
  for (let i = 0; i < ep.count; i++) {
    const obs: Record<string, number> = {};
    for (let k = 0; k < no; k++) obs[OBS[k]!] = ep.obs[i * no + k]!;
    const action = { wheel_left: ep.actionApplied[i * 2]!, wheel_right: ep.actionApplied[i * 2 + 1]! };
    const ctx = { dt: dt[i]!, step: i, prev, state, episode: { index: 0, id: ep.episode } };
    const r = p.reward(obs, action, ctx);
    let total = 0;
    for (let k = 0; k < terms.length; k++) total += w[k]! * r[terms[k]!]!;
    out[i] = total;
    if (p.success?.(obs, ctx)) sum++;
    if (p.done?.(obs, ctx)) sum++;
    prev = obs;
  }
  return sum;
}

async function writeStore(dir: string, eps: EpisodeColumns[], source: string): Promise<string[]> {
  const files: string[] = [];
  for (const [i, ep] of eps.entries()) {
    const batches: Uint8Array[] = [];
    const b = new StepBatcher({ robot: 'rover', observationNames: OBS, actionNames: ACT, capacity: 100 }, (x) => batches.push(x.bytes));
    b.beginEpisode(ep.episode);
    const terms = new Float64Array(4);
    for (let s = 0; s < ep.count; s++) {
      b.push({
        tNs: ep.tNs[s]!, wallMs: 1.8e12 + s * 10, obsTNs: ep.tNs[s]!, obs: ep.obs.subarray(s * 12, s * 12 + 12), actionCommanded: ep.actionApplied.subarray(s * 2, s * 2 + 2),
        actionApplied: ep.actionApplied.subarray(s * 2, s * 2 + 2), safety: 0, flags: s === 0 ? StepFlag.first : s === ep.count - 1 ? StepFlag.last : 0,
        rewardVersion: shortHash(source), termNames: ['distance', 'heading', 'progress', 'effort'], rewardStatus: RewardStatus.ok, rewardTotal: 0, rewardTerms: terms, rewardReason: '',
      });
    }
    b.flush();
    const start = {
      schema: RECORD_SCHEMA, episode: ep.episode, robot: 'rover', index: i, startedWallMs: 1.8e12, startedNs: '0', tickHz: 100, stepLimit: 1e6,
      observationNames: OBS, actionNames: ACT, robotDescription: { hash: 'r', sha256: 'r', content: {} }, calibration: { hash: 'c', sha256: 'c', content: {} },
      policy: { hash: 'p', sha256: 'p', content: {}, backend: 'none' },
      reward: { hash: shortHash(source), sha256: sha256Hex(source), content: source, name: 'reach-beacon', weights: {}, termNames: [], signer: null },
      link: { kind: 'bench', detail: {} }, software: { rewardd: 'bench', node: process.version }, scenario: {},
    } satisfies EpisodeStart;
    const file = join(dir, `${ep.episode}.mcap`);
    await writeEpisodeMcap(file, { episode: ep.episode, robot: 'rover', start, end: undefined, status: 'incomplete', batches: batches.map((x) => decodeStepBatch(x)) });
    files.push(file);
  }
  return files;
}

export async function run(): Promise<void> {
  const source = readFileSync(join(packageRoot(), 'rewards/reach-beacon.reward.js'), 'utf8');
  const eps = Array.from({ length: EPISODES }, (_, i) => roverEpisode(i, EPISODE_STEPS));
  const steps = EPISODES * EPISODE_STEPS;
  const dts = eps.map((e) => dtColumn(e.tNs, 100));
  const terms = ['distance', 'heading', 'progress', 'effort'];

  const runner = new EpisodeJobRunner([{ source, filename: 'reach-beacon.reward.js' }]);
  const host = hostProgram(source);
  const outs = eps.map((e) => new Float64Array(e.count));
  const batchS: number[] = [];
  const directS: number[] = [];
  let check = 0;
  for (let r = -1; r < REPS; r++) {
    // r = -1 is a warm-up (JIT on both sides), not counted.
    let t = performance.now();
    for (const ep of eps) await runner.evaluate(ep, { verify: false, keepColumns: false, tickHz: 100 });
    if (r >= 0) batchS.push((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < eps.length; i++) check += directLoop(host, eps[i]!, dts[i]!, terms, outs[i]!);
    if (r >= 0) directS.push((performance.now() - t) / 1000);
  }
  // Same numbers both ways (the sandbox is not a different reward).
  const one = (await runner.evaluate(eps[0]!, { verify: false, keepColumns: true, tickHz: 100 })).programs[0]!.result!;
  const sameTotals = one.total.every((v, i) => Object.is(v, outs[0]![i]));
  runner.dispose();

  // Stored episodes: read MCAP into columns; end to end on 1 and 2 threads.
  const dir = mkdtempSync(join(tmpdir(), 'rewardd-bench-relabel-'));
  const rows: Array<Record<string, string | number>> = [];
  try {
    const files = await writeStore(dir, eps.slice(0, FILE_EPISODES), source);
    const fileSteps = FILE_EPISODES * EPISODE_STEPS;
    const readS: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      for (const f of files) await readEpisodeColumns(f);
      readS.push((performance.now() - t) / 1000);
    }
    const e2e = async (threads: number): Promise<number> => {
      const xs: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        await runEpisodeJobs([{ source, filename: 'reach-beacon.reward.js' }], {}, files.map((file) => ({ file, robot: 'rover', verify: false, keepColumns: false })), threads, () => {});
        xs.push((performance.now() - t) / 1000);
      }
      return median(xs);
    };
    const e1 = await e2e(1);
    const e2 = await e2e(2);
    const b = median(batchS);
    const d = median(directS);
    rows.push(
      { measure: 'direct JS loop (host, unsandboxed; baseline)', steps, 'median s': d, 'steps/s per core': Math.round(steps / d), ratio: 1 },
      { measure: 'relabel batch mode in the sandbox (1 core)', steps, 'median s': b, 'steps/s per core': Math.round(steps / b), ratio: Number((b / d).toFixed(2)) },
      { measure: '  same, best of the runs', steps, 'median s': Math.min(...batchS), 'steps/s per core': Math.round(steps / Math.min(...batchS)), ratio: Number((Math.min(...batchS) / Math.min(...directS)).toFixed(2)) },
      { measure: 'read stored MCAP into columns', steps: fileSteps, 'median s': median(readS), 'steps/s per core': Math.round(fileSteps / median(readS)), ratio: '-' },
      { measure: 'end to end read + relabel, --jobs 1', steps: fileSteps, 'median s': e1, 'steps/s per core': Math.round(fileSteps / e1), ratio: '-' },
      { measure: 'end to end, --jobs 2 (per core; incl. worker start-up)', steps: fileSteps, 'median s': e2, 'steps/s per core': Math.round(fileSteps / e2 / 2), ratio: `${(e1 / e2).toFixed(2)}x total` },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`batch reps (s): ${batchS.map((x) => x.toFixed(3)).join(" ")}; direct reps (s): ${directS.map((x) => x.toFixed(3)).join(" ")}`);
  console.log(`relabel: reach-beacon over ${steps.toLocaleString('en-US')} logged rover steps (${EPISODES} episodes), median of ${REPS}; ratio = time / direct JS loop`);
  console.log(table(rows));
  console.log(`target >= 1,000,000 steps/s per core in batch mode: ${steps / median(batchS) >= 1e6 ? 'met' : 'NOT met'}; sandbox totals identical to the direct loop: ${sameTotals} (check ${check})`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
