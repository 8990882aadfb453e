/**
 * The relabel bench's store: rover episodes driven by a P controller in the
 * simulator, written by the recorder's own finalisation code (MCAP file +
 * columns file, src/recorder/episode-files.ts) and indexed in a real catalog,
 * so `relabelStore` opens it exactly as it opens a field recording.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RECORD_SCHEMA, RewardStatus, StepFlag, type EpisodeEnd, type EpisodeStart } from '../src/core/records.js';
import { sha256Hex, shortHash } from '../src/core/hash.js';
import type { StepBatch } from '../src/episode/batch.js';
import { RoverModel, ROVER_SENSOR_NAMES } from '../src/link/sim/rover-model.js';
import { writeEpisodeFiles } from '../src/recorder/episode-files.js';
import type { EpisodeSteps } from '../src/relabel/episode-columns.js';
import { Catalog } from '../src/store/catalog.js';
import { Staging } from '../src/store/staging.js';

export const OBS = [...ROVER_SENSOR_NAMES];
export const ACT = ['wheel_left', 'wheel_right'];
export const TERMS = ['distance', 'heading', 'progress', 'effort'];

/** One simulated episode as columns (also what the in-memory evaluation bench uses). */
export function roverEpisode(index: number, steps: number): EpisodeSteps & { wallMs: Float64Array; obsTNs: BigInt64Array } {
  const model = new RoverModel({ seed: 1 });
  model.reset(index);
  const no = OBS.length;
  const obs = new Float32Array(steps * no);
  const act = new Float32Array(steps * 2);
  const tNs = new BigInt64Array(steps);
  const wallMs = new Float64Array(steps);
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
    wallMs[i] = 1.8e12 + index * 1e6 + i * 10;
    t += 10_000_000n + BigInt((i * 7919) % 200) * 1000n - 100_000n;
    model.step(0.01, act[i * 2]!, act[i * 2 + 1]!);
    if (model.beaconDistance() < 0.2) model.reset(index + 1000 * (i + 1)); // keep driving: long episodes
  }
  return {
    episode: `bench-${String(index).padStart(4, '0')}`, robot: 'rover', start: undefined, observationNames: OBS, actionNames: ACT, count: steps,
    seq: Uint32Array.from({ length: steps }, (_, i) => i), tNs, obs, actionApplied: act, wallMs, obsTNs: tNs,
  };
}

function startRecord(ep: EpisodeSteps, index: number, source: string): EpisodeStart {
  return {
    schema: RECORD_SCHEMA, episode: ep.episode, robot: 'rover', index, startedWallMs: 1.8e12 + index * 1e6, startedNs: String(ep.tNs[0] ?? 0n), tickHz: 100, stepLimit: 1e7,
    observationNames: OBS, actionNames: ACT, robotDescription: { hash: 'r', sha256: 'r', content: {} }, calibration: { hash: 'c', sha256: 'c', content: {} },
    policy: { hash: 'p', sha256: 'p', content: {}, backend: 'none' },
    reward: { hash: shortHash(source), sha256: sha256Hex(source), content: source, name: 'reach-beacon', weights: {}, termNames: TERMS, signer: null },
    link: { kind: 'bench', detail: {} }, software: { rewardd: 'bench', node: process.version }, scenario: {},
  };
}

/** The episode as decoded step batches of `size` rows (views, no copies), as the recorder hands them to its writer. */
function* batchesOf(ep: ReturnType<typeof roverEpisode>, version: string, size: number): Generator<StepBatch> {
  const no = OBS.length;
  for (let s = 0; s < ep.count; s += size) {
    const n = Math.min(size, ep.count - s);
    const flags = new Uint8Array(n);
    if (s === 0) flags[0] = StepFlag.first;
    if (s + n === ep.count) flags[n - 1]! |= StepFlag.last;
    const obs = ep.obs.subarray(s * no, (s + n) * no);
    const act = ep.actionApplied.subarray(s * 2, (s + n) * 2);
    yield {
      episode: ep.episode, robot: 'rover', seq0: s, count: n, rewardVersion: version, termNames: TERMS, observationNames: OBS, actionNames: ACT,
      tNs: ep.tNs.subarray(s, s + n), wallMs: ep.wallMs.subarray(s, s + n), obsTNs: ep.obsTNs.subarray(s, s + n), obs, obsRaw: obs, actionCommanded: act, actionApplied: act,
      safety: new Uint16Array(n), flags, rewardStatus: new Uint8Array(n).fill(RewardStatus.ok), rewardTotal: new Float64Array(n), rewardTerms: new Float64Array(n * TERMS.length), rewardReasons: [],
    };
  }
}

/** Writes `episodes` episodes of `steps` steps into `dir` (catalog, MCAP and columns files). Returns the episodes' ids. */
export async function makeBenchStore(dir: string, o: { episodes: number; steps: number; source: string }): Promise<string[]> {
  const cat = new Catalog(dir);
  const staging = new Staging(dir, 'bench');
  const version = shortHash(o.source);
  const ids: string[] = [];
  try {
    for (let e = 0; e < o.episodes; e++) {
      const ep = roverEpisode(e, o.steps);
      const start = startRecord(ep, e, o.source);
      const endedWallMs = ep.wallMs[ep.count - 1]!;
      const end: EpisodeEnd = {
        schema: RECORD_SCHEMA, episode: ep.episode, robot: 'rover', steps: ep.count, endedWallMs, endedNs: String(ep.tNs[ep.count - 1]), reason: 'step_limit',
        success: false, return: 0, returnByTerm: {}, rewardFailures: 0, rewardVersions: [version], safetyInterventions: 0, linkCounters: {},
      };
      cat.ingest([{ kind: 'start', robot: 'rover', episode: ep.episode, start, json: JSON.stringify(start) }, { kind: 'end', robot: 'rover', episode: ep.episode, end, json: JSON.stringify(end) }], staging);
      const activity = cat.pending().find((p) => p.episode === ep.episode)!.activity;
      cat.claim(ep.episode, 'bench', endedWallMs);
      const file = join(dir, 'rover', `${ep.episode}.mcap`);
      mkdirSync(join(dir, 'rover'), { recursive: true });
      const w = await writeEpisodeFiles(file, { episode: ep.episode, robot: 'rover', start, end, status: 'complete', batches: batchesOf(ep, version, 4096) });
      cat.finish(ep.episode, { file, ...w.summary, columns: w.columns ? { ...w.columns, wallMs: endedWallMs } : null }, activity);
      ids.push(ep.episode);
    }
  } finally {
    staging.close();
    cat.close();
  }
  return ids;
}
