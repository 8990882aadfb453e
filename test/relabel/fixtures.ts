import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_SCHEMA, RewardStatus, StepFlag, type EpisodeEnd, type EpisodeEndReason, type EpisodeStart } from '../../src/core/records.js';
import { shortHash, sha256Hex } from '../../src/core/hash.js';
import { StepBatcher, type EncodedBatch } from '../../src/episode/step-batcher.js';
import { RoverModel, ROVER_SENSOR_NAMES } from '../../src/link/sim/rover-model.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { startEmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { RewardRuntime, newRewardOutput } from '../../src/reward/index.js';
import { until } from '../helpers/wait.js';

/**
 * Real episodes for relabel tests: the sim rover driven by a P controller,
 * its reward evaluated online step by step (RewardRuntime.evaluate, the
 * control loop's path), encoded by the StepBatcher, published through the
 * EpisodePublisher (disk outbox, MQTT) to an embedded broker, and stored by
 * the Recorder: the same files and catalog a field recording leaves.
 */
export const OBS = [...ROVER_SENSOR_NAMES];
export const ACT = ['wheel_left', 'wheel_right'];
/** rewards/reach-beacon.reward.js as shipped: reward() and its columnar twin rewardColumns (docs/reward-columns.md). */
export const REACH_FILE = readFileSync(new URL('../../rewards/reach-beacon.reward.js', import.meta.url), 'utf8');
const COLUMNS_AT = REACH_FILE.indexOf('\n// The same reward over n consecutive steps');
if (COLUMNS_AT < 0) throw new Error('fixtures: rewards/reach-beacon.reward.js no longer has its rewardColumns section');
/**
 * The same program with reward() alone. The tests that edit reward() (a throw at step 50, a changed
 * clamp) use this one: with rewardColumns still there, relabel would evaluate the unedited twin.
 */
export const REACH = REACH_FILE.slice(0, COLUMNS_AT + 1);
export const TICK_HZ = 100;

/** A second, different program (a swap target), LLM-style. */
export const SMOOTH = `
import { tolerance, clamp } from 'rewardd';
export const meta = { name: 'smooth', goal: 'drive smoothly', weights: { calm: 1, speed: 0.2 } };
export function reward(obs, action, ctx) {
  const calm = tolerance(obs.gyro_z, { bounds: [-0.5, 0.5], margin: 2, sigmoid: 'gaussian' });
  const speed = clamp((obs.wheel_speed_left + obs.wheel_speed_right) / 40, -1, 1);
  ctx.state.n = (ctx.state.n ?? 0) + 1;
  return { calm, speed };
}
`;

export interface RecordedEpisode {
  episode: string;
  steps: number;
  versions: string[];
}

export interface RecordOptions {
  storeDir: string;
  robot?: string;
  episodes: number;
  stepLimit: number;
  /** Swap to this program at this step of episode `swap.episode` (fresh state, as the reward slot does). */
  swap?: { episode: number; atStep: number; source: string };
  source?: string;
  seed?: number;
  /** Never publish the first `batches` step batches of episode `episode`: the recorder stores it incomplete, its first steps missing. */
  dropFirst?: { episode: number; batches: number };
}

export async function recordRoverEpisodes(o: RecordOptions): Promise<RecordedEpisode[]> {
  const robot = o.robot ?? 'rover-test';
  const source = o.source ?? REACH;
  const rtA = await RewardRuntime.create(source, 'reach-beacon.reward.js', { observationNames: OBS, actionNames: ACT });
  const rtB = o.swap ? await RewardRuntime.create(o.swap.source, 'swap.reward.js', { observationNames: OBS, actionNames: ACT }) : undefined;
  const model = new RoverModel({ seed: o.seed ?? 7 });
  const out: RecordedEpisode[] = [];
  const produced: Array<{ start: EpisodeStart; batches: EncodedBatch[]; end: EpisodeEnd }> = [];
  const sense = new Float64Array(OBS.length);
  try {
    for (let e = 0; e < o.episodes; e++) {
      const episode = `20261127T1200${String(e).padStart(2, '0')}Z-test-${String(e).padStart(4, '0')}`;
      model.reset(e);
      const batches: EncodedBatch[] = [];
      const batcher = new StepBatcher({ robot, observationNames: OBS, actionNames: ACT, capacity: 50 }, (b) => batches.push(b));
      batcher.beginEpisode(episode);
      let rt = rtA;
      rt.beginEpisode({ index: e, id: episode });
      let out1 = newRewardOutput(rt.info.termNames.length);
      const obs = new Float32Array(OBS.length);
      const act = new Float32Array(2);
      let tNs = BigInt(e) * 1_000_000_000_000n;
      let prevNs = 0n;
      let ret = 0;
      let reason: EpisodeEndReason = 'step_limit';
      let steps = 0;
      const versions = new Set<string>();
      for (let t = 0; t < o.stepLimit; t++) {
        if (o.swap && rtB && e === o.swap.episode && t === o.swap.atStep) {
          rt = rtB;
          rt.beginEpisode({ index: e, id: episode });
          out1 = newRewardOutput(rt.info.termNames.length);
        }
        model.sense(sense);
        obs.set(sense); // rounded to float32 once, as the observation stage does
        const bx = obs[10]!;
        const by = obs[11]!;
        const turn = Math.max(-1, Math.min(1, 2 * Math.atan2(by, bx)));
        const fwd = Math.max(0, Math.min(0.6, bx)) * 0.8;
        act[0] = Math.max(-1, Math.min(1, fwd - 0.4 * turn));
        act[1] = Math.max(-1, Math.min(1, fwd + 0.4 * turn));
        const dt = t === 0 ? 1 / TICK_HZ : Number(tNs - prevNs) / 1e9;
        rt.evaluate(obs, act, dt, out1, obs); // identity calibration: raw = calibrated
        versions.add(rt.info.version);
        const ok = out1.status === RewardStatus.ok;
        let end: EpisodeEndReason | null = null;
        if (ok && out1.success) end = 'success';
        else if (ok && out1.done) end = 'done';
        else if (t + 1 >= o.stepLimit) end = 'step_limit';
        let flags = t === 0 ? StepFlag.first : 0;
        if (end) flags |= StepFlag.last;
        if (end === 'success' || end === 'done') flags |= StepFlag.terminal;
        if (ok && out1.success) flags |= StepFlag.success;
        batcher.push({
          tNs, wallMs: 1_790_000_000_000 + e * 100_000 + t * 10, obsTNs: tNs - 2_000_000n, obs, actionCommanded: act, actionApplied: act, obsRaw: obs, safety: 0, flags,
          rewardVersion: rt.info.version, termNames: rt.info.termNames, rewardStatus: out1.status, rewardTotal: out1.total, rewardTerms: out1.terms, rewardReason: out1.reason,
        });
        if (ok) ret += out1.total;
        steps++;
        prevNs = tNs;
        // 100 Hz with scheduler jitter, so dt is not a constant
        tNs += 10_000_000n + BigInt(((t * 7919) % 200) * 1000 - 100_000);
        model.step(0.01, act[0]!, act[1]!);
        if (end) {
          reason = end;
          break;
        }
      }
      batcher.flush();
      const start = startRecord(robot, episode, e, source, rtA.info);
      const endRec: EpisodeEnd = {
        schema: RECORD_SCHEMA, episode, robot, steps, endedWallMs: 1_790_000_000_000 + e * 100_000 + steps * 10, endedNs: String(tNs), reason,
        success: reason === 'success', return: ret, returnByTerm: {}, rewardFailures: 0, rewardVersions: [...versions], safetyInterventions: 0, linkCounters: {},
      };
      produced.push({ start, batches: o.dropFirst?.episode === e ? batches.slice(o.dropFirst.batches) : batches, end: endRec });
      out.push({ episode, steps, versions: [...versions] });
    }
  } finally {
    rtA.dispose();
    rtB?.dispose();
  }
  await storeThroughRecorder(o.storeDir, robot, produced, o.dropFirst ? 1 : 0);
  return out;
}

/** Publishes episodes as the daemon does and waits until the recorder has stored every one. */
async function storeThroughRecorder(storeDir: string, robot: string, eps: Array<{ start: EpisodeStart; batches: EncodedBatch[]; end: EpisodeEnd }>, incomplete = 0): Promise<void> {
  const broker = await startEmbeddedBroker({ port: 0 });
  const prefix = `rewardd-relabel-${Math.random().toString(16).slice(2, 10)}/v1`;
  const outbox = mkdtempSync(join(tmpdir(), 'rewardd-relabel-outbox-'));
  // An episode with steps that never come is written incomplete once nothing has arrived for it for incompleteTimeoutMs.
  const rec = new Recorder({ mqttUrl: broker.url, outDir: storeDir, prefix, finalizeIntervalMs: 50, ...(incomplete > 0 ? { incompleteTimeoutMs: 500 } : {}) });
  let pub: EpisodePublisher | undefined;
  try {
    await until(() => rec.stats().connected, 'recorder connected');
    await new Promise((r) => setTimeout(r, 100)); // let the SUBSCRIBE land
    pub = await EpisodePublisher.open({ mqttUrl: broker.url, robot, prefix, outboxDir: outbox });
    for (const e of eps) {
      pub.publishStart(e.start);
      for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      pub.publishEnd(e.end);
    }
    await until(() => rec.catalog.list({ status: 'complete' }).length === eps.length - incomplete && rec.catalog.list({ status: 'incomplete' }).length === incomplete, `${eps.length - incomplete} complete and ${incomplete} incomplete episodes`);
  } finally {
    await pub?.close();
    await rec.close();
    await broker.close();
    rmSync(outbox, { recursive: true, force: true });
  }
}


function startRecord(robot: string, episode: string, index: number, source: string, info: { name: string; weights: Record<string, number>; termNames: string[] }): EpisodeStart {
  const prov = <T>(content: T) => ({ hash: shortHash(JSON.stringify(content)), sha256: sha256Hex(JSON.stringify(content)), content });
  return {
    schema: RECORD_SCHEMA, episode, robot, index, startedWallMs: 1_790_000_000_000 + index * 100_000, startedNs: String(BigInt(index) * 1_000_000_000_000n),
    tickHz: TICK_HZ, stepLimit: 100_000, observationNames: OBS, actionNames: ACT,
    robotDescription: prov({ name: robot }), calibration: prov({ identity: true }), policy: { ...prov({ name: 'p-controller' }), backend: 'none' },
    reward: { hash: shortHash(source), sha256: sha256Hex(source), content: source, name: info.name, weights: info.weights, termNames: info.termNames, signer: null },
    link: { kind: 'sim', detail: {} }, software: { rewardd: 'test', node: process.version }, scenario: { index },
  };
}
