import { SafetyFlag, rewardStatusName, type EpisodeEnd, type EpisodeStart } from '../core/records.js';
import type { StepBatch } from '../episode/batch.js';

/**
 * What the Foxglove bridge sends, as JSON messages with JSON schemas. The
 * topics and field names of /observation, /action and /reward are those of the
 * recorder's MCAP files (src/recorder/mcap-schemas.ts), so one Foxglove layout
 * plots `/reward.total` live and from a stored episode alike. The other
 * channels exist only live: /steps (one whole step per message), /safety
 * (the filter's bits as plottable 0/1 fields), /episode (start and end
 * events), /status (the 1 Hz health report).
 */
export const TOPICS = {
  steps: '/steps',
  observation: '/observation',
  action: '/action',
  reward: '/reward',
  safety: '/safety',
  episode: '/episode',
  status: '/status',
} as const;

/** Field names exactly as the MCAP schemas sanitise them (mcap-schemas.ts `ident`). */
export const fieldName = (name: string): string => {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(s) ? s : `f_${s}`;
};

type JsonSchema = Record<string, unknown>;
const num = { type: 'number' };
const int = { type: 'integer' };
const str = { type: 'string' };
const obj = (title: string, properties: Record<string, unknown>): JsonSchema => ({ title, type: 'object', properties });
const numbers = (names: readonly string[], prefix = ''): Record<string, unknown> => Object.fromEntries(names.map((n) => [prefix + fieldName(n), num]));

export const SAFETY_NAMES = Object.keys(SafetyFlag) as (keyof typeof SafetyFlag)[];

export function observationSchema(names: readonly string[], withRaw: boolean): JsonSchema {
  return obj('rewardd.Observation', { seq: int, t_ns: int, obs_t_ns: int, wall_ms: num, flags: int, ...numbers(names), ...(withRaw ? numbers(names, 'raw_') : {}) });
}
export const actionSchema = (names: readonly string[]): JsonSchema =>
  obj('rewardd.Action', { seq: int, safety: int, ...numbers(names, 'commanded_'), ...numbers(names, 'applied_') });
export const rewardSchema = (terms: readonly string[]): JsonSchema =>
  obj('rewardd.Reward', { seq: int, status: int, total: num, ...numbers(terms), reason: str, version: str });
export const safetySchema = (): JsonSchema => obj('rewardd.Safety', { seq: int, bits: int, ...Object.fromEntries(SAFETY_NAMES.map((n) => [n, int])) });
export const episodeSchema = (): JsonSchema =>
  obj('rewardd.EpisodeEvent', { event: { type: 'string', enum: ['start', 'end'] }, episode: str, index: int, reward_version: str, reward_name: str, reason: str, success: { type: 'boolean' }, return: num, steps: int });

export function stepSchema(b: Pick<StepBatch, 'observationNames' | 'actionNames' | 'termNames'>): JsonSchema {
  return obj('rewardd.Step', {
    episode: str, seq: int, t_ns: int, obs_t_ns: int, wall_ms: num, flags: int, safety: int,
    reward_version: str, reward_status: int, reward_status_name: str, reward_total: num, reward_reason: str,
    reward_terms: obj('terms', numbers(b.termNames)),
    obs: obj('obs', numbers(b.observationNames)),
    obs_raw: obj('obs_raw', numbers(b.observationNames)),
    action_commanded: obj('action', numbers(b.actionNames)),
    action_applied: obj('action', numbers(b.actionNames)),
  });
}

/** foxglove.CompressedImage, JSON encoding (data is base64), as Foxglove's schema package defines it. */
export const compressedImageSchema = (): JsonSchema =>
  obj('foxglove.CompressedImage', {
    timestamp: obj('time', { sec: { type: 'integer', minimum: 0 }, nsec: { type: 'integer', minimum: 0, maximum: 999_999_999 } }),
    frame_id: str,
    data: { type: 'string', contentEncoding: 'base64' },
    format: str,
  });

/** Writes the `names` slice of row `i` of a row-major column as fields of `out`. */
function fields(out: Record<string, unknown>, names: readonly string[], col: Float32Array | Float64Array, i: number, prefix = ''): void {
  const n = names.length;
  for (let k = 0; k < n; k++) out[prefix + fieldName(names[k]!)] = col[i * n + k];
}

/** One row of a batch as the messages of each channel. Built only for channels someone subscribed to. */
export class RowMessages {
  private readonly reasons: Map<number, string>;
  constructor(private readonly b: StepBatch) {
    this.reasons = new Map(b.rewardReasons);
  }

  observation(i: number): object {
    const b = this.b;
    const o: Record<string, unknown> = { seq: b.seq0 + i, t_ns: Number(b.tNs[i]), obs_t_ns: Number(b.obsTNs[i]), wall_ms: b.wallMs[i], flags: b.flags[i] };
    fields(o, b.observationNames, b.obs, i);
    if (b.obsRaw) fields(o, b.observationNames, b.obsRaw, i, 'raw_');
    return o;
  }

  action(i: number): object {
    const b = this.b;
    const o: Record<string, unknown> = { seq: b.seq0 + i, safety: b.safety[i] };
    fields(o, b.actionNames, b.actionCommanded, i, 'commanded_');
    fields(o, b.actionNames, b.actionApplied, i, 'applied_');
    return o;
  }

  reward(i: number): object {
    const b = this.b;
    const o: Record<string, unknown> = { seq: b.seq0 + i, status: b.rewardStatus[i], total: b.rewardTotal[i], version: b.rewardVersion };
    fields(o, b.termNames, b.rewardTerms, i);
    o.reason = this.reasons.get(i) ?? '';
    return o;
  }

  safety(i: number): object {
    const bits = this.b.safety[i]!;
    const o: Record<string, unknown> = { seq: this.b.seq0 + i, bits };
    for (const n of SAFETY_NAMES) o[n] = bits & SafetyFlag[n] ? 1 : 0;
    return o;
  }

  step(i: number): object {
    const b = this.b;
    const named = (names: readonly string[], col: Float32Array | Float64Array): Record<string, number> => {
      const o: Record<string, unknown> = {};
      fields(o, names, col, i);
      return o as Record<string, number>;
    };
    return {
      episode: b.episode, seq: b.seq0 + i, t_ns: Number(b.tNs[i]), obs_t_ns: Number(b.obsTNs[i]), wall_ms: b.wallMs[i],
      flags: b.flags[i], safety: b.safety[i],
      reward_version: b.rewardVersion, reward_status: b.rewardStatus[i], reward_status_name: rewardStatusName(b.rewardStatus[i]!),
      reward_total: b.rewardTotal[i], reward_reason: this.reasons.get(i) ?? '',
      reward_terms: named(b.termNames, b.rewardTerms),
      obs: named(b.observationNames, b.obs),
      ...(b.obsRaw ? { obs_raw: named(b.observationNames, b.obsRaw) } : {}),
      action_commanded: named(b.actionNames, b.actionCommanded),
      action_applied: named(b.actionNames, b.actionApplied),
    };
  }
}

export const episodeStartMessage = (s: EpisodeStart): object => ({ event: 'start', episode: s.episode, index: s.index, reward_version: s.reward.hash, reward_name: s.reward.name });
export const episodeEndMessage = (e: EpisodeEnd): object => ({ event: 'end', episode: e.episode, reason: e.reason, success: e.success, return: e.return, steps: e.steps });
