import { createReadStream } from 'node:fs';
import { McapStreamReader } from '@mcap/core';
import type { EpisodeEnd, EpisodeStart, StepRecord } from '../core/records.js';
import { RewarddError } from '../core/errors.js';
import { ACTION_TOPIC, OBS_TOPIC, REWARD_TOPIC, decodeAction, decodeObservation, decodeReward } from './mcap-schemas.js';

/**
 * The library reader of stored episodes (the relabeler uses it): streams an
 * episode's MCAP file and yields its steps as StepRecords, in seq order, with
 * memory bounded by one MCAP chunk plus one step.
 */
interface ChannelInfo {
  topic: string;
  names: string[];
  version?: string;
  episode?: string;
}

const td = new TextDecoder();

export interface EpisodeFileContents {
  start: EpisodeStart | undefined;
  end: EpisodeEnd | undefined;
  metadata: Record<string, string>;
}

type McapItem = { kind: 'step'; step: StepRecord } | { kind: 'start'; start: EpisodeStart } | { kind: 'end'; end: EpisodeEnd } | { kind: 'meta'; meta: Record<string, string> };

async function* readItems(file: string): AsyncGenerator<McapItem> {
  const reader = new McapStreamReader({ validateCrcs: true });
  const channels = new Map<number, ChannelInfo>();
  let pending: Partial<StepRecord> & { seq?: number } = {};
  let episode = '';
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      reader.append(chunk as Buffer);
      for (let rec; (rec = reader.nextRecord()); ) {
        switch (rec.type) {
          case 'Channel': {
            const info: ChannelInfo = { topic: rec.topic, names: JSON.parse(rec.metadata.get('names') ?? rec.metadata.get('terms') ?? '[]') as string[] };
            const v = rec.metadata.get('version');
            if (v !== undefined) info.version = v;
            const ep = rec.metadata.get('episode');
            if (ep !== undefined) episode = ep;
            channels.set(rec.id, info);
            break;
          }
          case 'Message': {
            const ch = channels.get(rec.channelId);
            if (!ch) throw new RewarddError('E_STORE', `${file}: message on channel ${rec.channelId}, expected a channel record first`);
            if (ch.topic === OBS_TOPIC) {
              const o = decodeObservation(rec.data, ch.names.length);
              pending = { episode, seq: o.seq, tNs: o.tNs, wallMs: o.wallMs, obsTNs: o.obsTNs, obs: o.obs, ...(o.obsRaw ? { obsRaw: o.obsRaw } : {}), flags: o.flags };
            } else if (ch.topic === ACTION_TOPIC) {
              const a = decodeAction(rec.data, ch.names.length);
              if (a.seq === pending.seq) Object.assign(pending, { actionCommanded: a.commanded, actionApplied: a.applied, safety: a.safety });
            } else if (ch.topic === REWARD_TOPIC) {
              const r = decodeReward(rec.data, ch.names);
              if (r.seq !== pending.seq || pending.actionApplied === undefined) {
                throw new RewarddError('E_STORE', `${file}: reward of step ${r.seq}, expected it after the observation and action of that step`);
              }
              const step = { ...pending, rewardVersion: ch.version ?? '', rewardStatus: r.status, rewardTotal: r.total, rewardTerms: r.terms, ...(r.reason !== undefined ? { rewardReason: r.reason } : {}) } as StepRecord;
              pending = {};
              yield { kind: 'step', step };
            }
            break;
          }
          case 'Attachment':
            if (rec.name === 'start.json') yield { kind: 'start', start: JSON.parse(td.decode(rec.data)) as EpisodeStart };
            else if (rec.name === 'end.json') yield { kind: 'end', end: JSON.parse(td.decode(rec.data)) as EpisodeEnd };
            break;
          case 'Metadata':
            if (rec.name === 'rewardd.episode') yield { kind: 'meta', meta: Object.fromEntries(rec.metadata) };
            break;
          default:
            break;
        }
      }
    }
  } catch (e) {
    if (e instanceof RewarddError) throw e;
    throw new RewarddError('E_STORE', `${file}: expected a rewardd episode MCAP file: ${(e as Error).message}`, { cause: e });
  }
  if (!reader.done()) throw new RewarddError('E_STORE', `${file}: expected a whole MCAP file, found it truncated`);
}

/** Every step of a stored episode, in order. */
export async function* readEpisodeSteps(file: string): AsyncGenerator<StepRecord> {
  for await (const it of readItems(file)) if (it.kind === 'step') yield it.step;
}

/** The start and end records and the episode metadata of a stored file. */
export async function readEpisodeInfo(file: string): Promise<EpisodeFileContents> {
  const out: EpisodeFileContents = { start: undefined, end: undefined, metadata: {} };
  for await (const it of readItems(file)) {
    if (it.kind === 'start') out.start = it.start;
    else if (it.kind === 'end') out.end = it.end;
    else if (it.kind === 'meta') out.metadata = it.meta;
  }
  return out;
}
