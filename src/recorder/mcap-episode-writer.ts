import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { IWritable } from '@mcap/core';
import { McapFileWriter } from './mcap-file-writer.js';
import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import type { StepBatch } from '../episode/batch.js';
import { RewardStatus, StepFlag } from '../core/records.js';
import type { VisionBatch } from '../vision/vision-batch.js';
import { writeVisionChannels } from '../vision/mcap-vision.js';
import {
  ACTION_TOPIC, ENCODING, OBS_TOPIC, REWARD_TOPIC, SCHEMA_ENCODING,
  RowEncoder, actionSchema, observationSchema, rewardSchema,
} from './mcap-schemas.js';

/**
 * Writes one episode to one MCAP file (Foxglove opens it): a temporary name
 * first, fsync, then rename, so a crash leaves either no file or a whole one.
 * Batches must come in seq order; rows already written (replays, overlaps) are
 * skipped, so (episode, seq) appears once.
 */
export type EpisodeFileStatus = 'complete' | 'incomplete';

export interface EpisodeFileSummary {
  /** 'complete' only if asked for and every step up to the end record's count is in the file. */
  status: EpisodeFileStatus;
  steps: number;
  /** Sequence numbers missing between the first and last step written. */
  missing: number;
  firstSeq: number;
  lastSeq: number;
  return: number;
  returnByTerm: Record<string, number>;
  success: boolean;
  rewardVersions: string[];
  startedWallMs: number | undefined;
  endedWallMs: number | undefined;
}

/**
 * The file under McapFileWriter, which queues its writes one after another and keeps each
 * buffer untouched until its write completes, so this writes straight through (no buffering,
 * no copy).
 */
class FileWritable implements IWritable {
  private pos = 0n;
  constructor(private readonly fh: FileHandle) {}
  position(): bigint {
    return this.pos;
  }
  async write(buffer: Uint8Array): Promise<void> {
    let done = 0;
    while (done < buffer.byteLength) done += (await this.fh.write(buffer, done, buffer.byteLength - done)).bytesWritten;
    this.pos += BigInt(buffer.byteLength);
  }
}

const te = new TextEncoder();
const ns = (ms: number): bigint => BigInt(Math.max(0, Math.round(ms))) * 1_000_000n;

export async function writeEpisodeMcap(
  path: string,
  input: { episode: string; robot: string; start: EpisodeStart | undefined; end: EpisodeEnd | undefined; status: EpisodeFileStatus; batches: Iterable<StepBatch>; vision?: readonly VisionBatch[] },
): Promise<EpisodeFileSummary> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  const sum: EpisodeFileSummary = { status: input.status, steps: 0, missing: 0, firstSeq: -1, lastSeq: -1, return: 0, returnByTerm: {}, success: false, rewardVersions: [], startedWallMs: input.start?.startedWallMs, endedWallMs: input.end?.endedWallMs };
  try {
    const out = new FileWritable(fh);
    const w = new McapFileWriter({ writable: out, chunkSize: 1024 * 1024 });
    await w.start({ profile: '', library: 'rewardd' });
    const { start, end } = input;
    if (start) {
      const attach = async (name: string, mediaType: string, data: string): Promise<void> =>
        w.addAttachment({ name, logTime: ns(start.startedWallMs), createTime: ns(start.startedWallMs), mediaType, data: te.encode(data) });
      await attach('start.json', 'application/json', JSON.stringify(start));
      await attach(`reward/${start.reward.name}.reward.js`, 'text/javascript', start.reward.content);
      await attach('calibration.json', 'application/json', JSON.stringify(start.calibration));
      await attach('policy.json', 'application/json', JSON.stringify(start.policy));
      await attach('robot.json', 'application/json', JSON.stringify(start.robotDescription));
    }
    let obsCh = -1;
    let actCh = -1;
    // Raw fields in /observation when the episode's first batch has them (every batch of
    // rewardd.steps/2); a /1 episode's file keeps the old layout.
    let withRaw = false;
    const rewardChannels = new Map<string, number>();
    let nextSeq = -1;
    let seqNo = 0;
    const enc = new RowEncoder();
    for (const b of input.batches) {
      if (obsCh < 0) {
        const meta = new Map([['episode', input.episode], ['robot', input.robot]]);
        withRaw = b.obsRaw !== undefined;
        const os = w.registerSchema({ name: 'rewardd/Observation', encoding: SCHEMA_ENCODING, data: te.encode(observationSchema(b.observationNames, withRaw)) });
        const obsMeta: Array<[string, string]> = [...meta, ['names', JSON.stringify(b.observationNames)], ...(withRaw ? [['raw', 'true'] as [string, string]] : [])];
        obsCh = w.registerChannel({ schemaId: os, topic: OBS_TOPIC, messageEncoding: ENCODING, metadata: new Map(obsMeta) });
        const as = w.registerSchema({ name: 'rewardd/Action', encoding: SCHEMA_ENCODING, data: te.encode(actionSchema(b.actionNames)) });
        actCh = w.registerChannel({ schemaId: as, topic: ACTION_TOPIC, messageEncoding: ENCODING, metadata: new Map([...meta, ['names', JSON.stringify(b.actionNames)]]) });
      }
      let rewCh = rewardChannels.get(b.rewardVersion);
      if (rewCh === undefined) {
        const rs = w.registerSchema({ name: `rewardd/Reward_${b.rewardVersion}`, encoding: SCHEMA_ENCODING, data: te.encode(rewardSchema(b.termNames)) });
        rewCh = w.registerChannel({ schemaId: rs, topic: REWARD_TOPIC, messageEncoding: ENCODING, metadata: new Map([['version', b.rewardVersion], ['terms', JSON.stringify(b.termNames)]]) });
        rewardChannels.set(b.rewardVersion, rewCh);
        sum.rewardVersions.push(b.rewardVersion);
      }
      const reasons = b.rewardReasons.length > 0 ? new Map(b.rewardReasons) : undefined;
      const nt = b.termNames.length;
      for (let i = 0; i < b.count; i++) {
        const seq = b.seq0 + i;
        if (seq < nextSeq) continue; // already written: a replayed or overlapping batch
        if (nextSeq >= 0 && seq > nextSeq) sum.missing += seq - nextSeq;
        if (sum.firstSeq < 0) sum.firstSeq = seq;
        nextSeq = seq + 1;
        sum.lastSeq = seq;
        sum.steps += 1;
        const logTime = ns(b.wallMs[i]!);
        const t = b.tNs[i]!;
        const publishTime = t < 0n ? 0n : t;
        // addMessage returns a promise only when a chunk is written (see McapFileWriter).
        let full = w.addMessage(obsCh, seqNo++, logTime, publishTime, enc.observation(b, i, withRaw));
        if (full) await full;
        full = w.addMessage(actCh, seqNo++, logTime, publishTime, enc.action(b, i));
        if (full) await full;
        full = w.addMessage(rewCh, seqNo++, logTime, publishTime, enc.reward(b, i, reasons?.get(i)));
        if (full) await full;
        if (b.rewardStatus[i] === RewardStatus.ok) {
          sum.return += b.rewardTotal[i]!;
          for (let k = 0; k < nt; k++) sum.returnByTerm[b.termNames[k]!] = (sum.returnByTerm[b.termNames[k]!] ?? 0) + b.rewardTerms[i * nt + k]!;
        }
        if ((b.flags[i]! & StepFlag.success) !== 0) sum.success = true;
        sum.startedWallMs ??= b.wallMs[i]!;
        if (input.end === undefined) sum.endedWallMs = b.wallMs[i]!;
      }
    }
    // Vision batches sort after every step batch in staging, so they are complete by now.
    if (input.vision?.length) await writeVisionChannels(w, input.vision, start, new Map([['episode', input.episode], ['robot', input.robot]]));
    // A batch that could not be read (see the recorder) is a gap: the file is then not complete.
    if (sum.missing > 0 || (end !== undefined && sum.steps < end.steps)) sum.status = 'incomplete';
    if (end) await w.addAttachment({ name: 'end.json', logTime: ns(end.endedWallMs), createTime: ns(end.endedWallMs), mediaType: 'application/json', data: te.encode(JSON.stringify(end)) });
    // Versions swapped in mid-episode, beside the first one's reward/<name>.reward.js (readable without rewardd).
    for (const src of end?.rewardSources ?? []) {
      const ext = /\.tsx?$/.test(src.filename) ? 'ts' : 'js';
      await w.addAttachment({ name: `reward/${src.name}@${src.hash}.reward.${ext}`, logTime: ns(end!.endedWallMs), createTime: ns(end!.endedWallMs), mediaType: ext === 'ts' ? 'text/typescript' : 'text/javascript', data: te.encode(src.content) });
    }
    await w.addMetadata({
      name: 'rewardd.episode',
      metadata: new Map([
        ['episode', input.episode],
        ['robot', input.robot],
        ['status', sum.status],
        ['steps', String(sum.steps)],
        ['missing', String(sum.missing)],
        ['reward_versions', JSON.stringify(sum.rewardVersions)],
        ['reward_hash', start?.reward.hash ?? ''],
        ['policy_hash', start?.policy.hash ?? ''],
        ['calibration_hash', start?.calibration.hash ?? ''],
        ['robot_hash', start?.robotDescription.hash ?? ''],
        ['end_reason', end?.reason ?? ''],
      ]),
    });
    await w.end();
    await fh.datasync();
    await fh.close();
    await rename(tmp, path);
    return sum;
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
