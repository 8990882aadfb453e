import { StepBatcher, type EncodedBatch } from '../../src/episode/step-batcher.js';
import { RECORD_SCHEMA, RewardStatus, StepFlag, type EpisodeEnd, type EpisodeStart } from '../../src/core/records.js';

/**
 * Synthetic episodes with real encoded batches, whose values are a function
 * of (episode index, seq) so a stored step can be checked on its own:
 * obs[0] = seq, obs[1] = episodeIndex, reward term "progress" = seq / 1000.
 */
export const OBS_NAMES = Array.from({ length: 48 }, (_, i) => (i === 0 ? 'seq_echo' : i === 1 ? 'episode_echo' : `f${i}`));
export const ACTION_NAMES = ['wheel_left', 'wheel_right'];
export const TERMS = ['progress', 'effort'];

export interface SyntheticEpisode {
  start: EpisodeStart;
  batches: EncodedBatch[];
  end: EpisodeEnd;
}

export function syntheticStart(robot: string, episode: string, index: number): EpisodeStart {
  const prov = <T>(content: T, hash: string) => ({ hash, sha256: hash.padEnd(64, '0'), content });
  return {
    schema: RECORD_SCHEMA,
    episode,
    robot,
    index,
    startedWallMs: 1_700_000_000_000 + index * 1000,
    startedNs: String(index * 1e9),
    tickHz: 100,
    stepLimit: 100000,
    observationNames: OBS_NAMES,
    actionNames: ACTION_NAMES,
    robotDescription: prov({ name: robot }, 'robot0000001'),
    calibration: prov({ identity: true }, 'calib0000001'),
    policy: { ...prov({ name: 'p' }, 'policy000001'), backend: 'test' },
    reward: { ...prov('export const meta = {}', 'reward000001'), name: 'synthetic', weights: { progress: 1, effort: -0.1 }, termNames: TERMS, signer: null },
    link: { kind: 'test', detail: {} },
    software: { rewardd: 'test', node: process.version },
    scenario: {},
  };
}

export function syntheticEpisode(robot: string, episode: string, index: number, steps: number, batchSize = 100): SyntheticEpisode {
  const batches: EncodedBatch[] = [];
  const batcher = new StepBatcher({ robot, observationNames: OBS_NAMES, actionNames: ACTION_NAMES, capacity: batchSize }, (b) => batches.push(b));
  batcher.beginEpisode(episode, 0);
  const obs = new Float32Array(OBS_NAMES.length);
  const act = new Float32Array(ACTION_NAMES.length);
  const terms = new Float64Array(TERMS.length);
  let ret = 0;
  for (let seq = 0; seq < steps; seq++) {
    obs.fill(0.5);
    obs[0] = seq;
    obs[1] = index;
    act[0] = 0.1;
    act[1] = -0.1;
    terms[0] = seq / 1000;
    terms[1] = 0.02;
    const total = terms[0] - 0.1 * terms[1];
    ret += total;
    batcher.push({
      tNs: BigInt(index * 1e9 + seq * 1e7), wallMs: 1_700_000_000_000 + index * 1000 + seq * 10, obsTNs: BigInt(index * 1e9 + seq * 1e7 - 1000),
      obs, actionCommanded: act, actionApplied: act, safety: 0,
      flags: (seq === 0 ? StepFlag.first : 0) | (seq === steps - 1 ? StepFlag.last : 0),
      rewardVersion: 'reward000001', termNames: TERMS, rewardStatus: RewardStatus.ok, rewardTotal: total, rewardTerms: terms, rewardReason: '',
    });
  }
  batcher.flush();
  const end: EpisodeEnd = {
    schema: RECORD_SCHEMA, episode, robot, steps, endedWallMs: 1_700_000_000_000 + index * 1000 + steps * 10, endedNs: '0',
    reason: 'step_limit', success: false, return: ret, returnByTerm: {}, rewardFailures: 0, rewardVersions: ['reward000001'], safetyInterventions: 0, linkCounters: {},
  };
  return { start: syntheticStart(robot, episode, index), batches, end };
}

/** Reads a stored episode back and returns its seqs, checking each step's values against its seq. */
export async function storedSeqs(file: string): Promise<number[]> {
  const { readEpisodeSteps } = await import('../../src/recorder/episode-reader.js');
  const seqs: number[] = [];
  for await (const s of readEpisodeSteps(file)) {
    if (s.obs[0] !== s.seq) throw new Error(`step ${s.seq}: obs[0] is ${s.obs[0]}, expected the seq`);
    seqs.push(s.seq);
  }
  return seqs;
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
