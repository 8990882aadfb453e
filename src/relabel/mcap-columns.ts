import { createReadStream } from 'node:fs';
import { McapStreamReader } from '@mcap/core';
import type { EpisodeStart } from '../core/records.js';
import { RewarddError } from '../core/errors.js';
import { ACTION_TOPIC, OBS_TOPIC, REWARD_TOPIC, actionSchema, observationSchema, rewardSchema } from '../recorder/mcap-schemas.js';
import type { EpisodeColumns, LoggedSegment } from './episode-columns.js';

/**
 * A single-pass reader of a recorder MCAP file straight into columns: no
 * per-step objects, one DataView read per value. It relies on the packed
 * ros1msg layouts of src/recorder/mcap-schemas.ts, and checks each channel's
 * schema text against that module's schema functions first: a file written
 * with any other layout raises E_LAYOUT_CHANGED and the caller falls back to
 * the recorder's generic reader, so a layout change costs speed, not correctness.
 */
export class LayoutChanged extends Error {}

const td = new TextDecoder();
const OBS_FIXED = 29; // u32 seq, i64 t_ns, i64 obs_t_ns, f64 wall_ms, u8 flags
const ACT_FIXED = 6; // u32 seq, u16 safety
const REW_FIXED = 13; // u32 seq, u8 status, f64 total

class Col<T extends Float32Array | Float64Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array> {
  constructor(public a: T, private readonly make: (n: number) => T) {}
  ensure(n: number): T {
    if (n > this.a.length) {
      const b = this.make(Math.max(n, this.a.length * 2));
      (b as unknown as { set(x: T): void }).set(this.a);
      this.a = b;
    }
    return this.a;
  }
}

interface Ch {
  topic: string;
  names: string[];
  version: string;
}

export async function readEpisodeColumnsFast(file: string, maxSteps: number): Promise<EpisodeColumns> {
  const reader = new McapStreamReader({ validateCrcs: true });
  const schemas = new Map<number, string>();
  const channels = new Map<number, Ch>();
  let start: EpisodeStart | undefined;
  let meta: Record<string, string> = {};
  let no = -1;
  let na = -1;
  let n = 0;
  const seq = new Col(new Uint32Array(1024), (k) => new Uint32Array(k));
  const tNs = new Col(new BigInt64Array(1024), (k) => new BigInt64Array(k));
  const flags = new Col(new Uint8Array(1024), (k) => new Uint8Array(k));
  const safety = new Col(new Uint16Array(1024), (k) => new Uint16Array(k));
  const status = new Col(new Uint8Array(1024), (k) => new Uint8Array(k));
  const total = new Col(new Float64Array(1024), (k) => new Float64Array(k));
  const wall = new Col(new Float64Array(1024), (k) => new Float64Array(k));
  const obsT = new Col(new BigInt64Array(1024), (k) => new BigInt64Array(k));
  const obs = new Col(new Float32Array(0), (k) => new Float32Array(k));
  const raw = new Col(new Float32Array(0), (k) => new Float32Array(k));
  // Whether /observation carries raw_<obs> fields (files since rewardd.steps/2).
  let withRaw = false;
  const applied = new Col(new Float32Array(0), (k) => new Float32Array(k));
  const commanded = new Col(new Float32Array(0), (k) => new Float32Array(k));
  const segs: Array<LoggedSegment & { buf: Col<Float64Array> }> = [];
  const reasons = new Map<number, string>();
  let episode = '';
  let robot = '';
  let obsNames: string[] = [];
  let actNames: string[] = [];
  // Which parts of the current row arrived: 1 observation, 2 action, 4 reward.
  let have = 7;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      reader.append(chunk as Buffer);
      for (let rec; (rec = reader.nextRecord()); ) {
        if (rec.type === 'Schema') schemas.set(rec.id, td.decode(rec.data));
        else if (rec.type === 'Channel') {
          const names = JSON.parse(rec.metadata.get('names') ?? rec.metadata.get('terms') ?? '[]') as string[];
          const schema = schemas.get(rec.schemaId) ?? '';
          if (rec.topic === OBS_TOPIC) withRaw = schema === observationSchema(names, true);
          const want = rec.topic === OBS_TOPIC ? observationSchema(names, withRaw) : rec.topic === ACTION_TOPIC ? actionSchema(names) : rec.topic === REWARD_TOPIC ? rewardSchema(names) : schema;
          if (schema !== want) throw new LayoutChanged(`${rec.topic}: schema differs from mcap-schemas.ts`);
          if (rec.topic === OBS_TOPIC) (no = names.length), (obsNames = names), (episode = rec.metadata.get('episode') ?? episode), (robot = rec.metadata.get('robot') ?? robot);
          if (rec.topic === ACTION_TOPIC) (na = names.length), (actNames = names);
          channels.set(rec.id, { topic: rec.topic, names, version: rec.metadata.get('version') ?? '' });
        } else if (rec.type === 'Message') {
          const ch = channels.get(rec.channelId);
          if (!ch) throw new RewarddError('E_STORE', `${file}: message on channel ${rec.channelId}, expected a channel record first`);
          const d = rec.data;
          const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
          if (ch.topic === OBS_TOPIC) {
            if (have !== 7) throw new RewarddError('E_STORE', `${file}: step ${seq.a[n - 1]} has no ${have & 2 ? 'reward' : 'action'}, expected observation, action and reward per step`);
            if (n >= maxSteps) throw new RewarddError('E_STORE', `${file}: expected at most ${maxSteps} steps, found more`);
            if (d.byteLength !== OBS_FIXED + 4 * no * (withRaw ? 2 : 1)) throw new LayoutChanged('observation size');
            const row = n++;
            seq.ensure(n)[row] = v.getUint32(0, true);
            tNs.ensure(n)[row] = v.getBigInt64(4, true);
            obsT.ensure(n)[row] = v.getBigInt64(12, true);
            wall.ensure(n)[row] = v.getFloat64(20, true);
            flags.ensure(n)[row] = d[28]!;
            const o = obs.ensure(n * no);
            for (let i = 0; i < no; i++) o[row * no + i] = v.getFloat32(OBS_FIXED + 4 * i, true);
            if (withRaw) {
              const r = raw.ensure(n * no);
              for (let i = 0; i < no; i++) r[row * no + i] = v.getFloat32(OBS_FIXED + 4 * (no + i), true);
            }
            have = 1;
          } else if (ch.topic === ACTION_TOPIC) {
            const row = n - 1;
            if (row < 0 || v.getUint32(0, true) !== seq.a[row] || d.byteLength !== ACT_FIXED + 8 * na) throw new LayoutChanged('action out of step');
            safety.ensure(n)[row] = v.getUint16(4, true);
            const c = commanded.ensure(n * na);
            const a = applied.ensure(n * na);
            for (let i = 0; i < na; i++) {
              c[row * na + i] = v.getFloat32(ACT_FIXED + 4 * i, true);
              a[row * na + i] = v.getFloat32(ACT_FIXED + 4 * (na + i), true);
            }
            have |= 2;
          } else if (ch.topic === REWARD_TOPIC) {
            const row = n - 1;
            if (row < 0 || v.getUint32(0, true) !== seq.a[row] || (have & 2) === 0) throw new RewarddError('E_STORE', `${file}: reward of step ${v.getUint32(0, true)}, expected it after the observation and action of that step`);
            status.ensure(n)[row] = d[4]!;
            total.ensure(n)[row] = v.getFloat64(5, true);
            const nt = ch.names.length;
            let seg = segs[segs.length - 1];
            if (!seg || seg.version !== ch.version) {
              seg = { version: ch.version, termNames: ch.names, from: row, to: row, terms: new Float64Array(0), buf: new Col(new Float64Array(256 * Math.max(nt, 1)), (k) => new Float64Array(k)) };
              segs.push(seg);
            }
            const t = seg.buf.ensure((row + 1 - seg.from) * nt);
            for (let k = 0; k < nt; k++) t[(row - seg.from) * nt + k] = v.getFloat64(REW_FIXED + 8 * k, true);
            seg.to = row + 1;
            const len = v.getUint32(REW_FIXED + 8 * nt, true);
            if (len > 0) reasons.set(row, td.decode(d.subarray(REW_FIXED + 8 * nt + 4, REW_FIXED + 8 * nt + 4 + len)));
            have |= 4;
          }
        } else if (rec.type === 'Attachment' && rec.name === 'start.json') {
          start = JSON.parse(td.decode(rec.data)) as EpisodeStart;
        } else if (rec.type === 'Metadata' && rec.name === 'rewardd.episode') {
          meta = Object.fromEntries(rec.metadata);
        }
      }
    }
  } catch (e) {
    if (e instanceof RewarddError || e instanceof LayoutChanged) throw e;
    throw new RewarddError('E_STORE', `${file}: expected a rewardd episode MCAP file: ${(e as Error).message}`, { cause: e });
  }
  if (!reader.done()) throw new RewarddError('E_STORE', `${file}: expected a whole MCAP file, found it truncated`);
  if (n > 0 && have !== 7) throw new RewarddError('E_STORE', `${file}: the last step has no reward, expected observation, action and reward per step`);
  return {
    episode: start?.episode ?? meta.episode ?? episode,
    robot: start?.robot ?? meta.robot ?? robot,
    start,
    observationNames: start?.observationNames ?? obsNames,
    actionNames: start?.actionNames ?? actNames,
    count: n,
    seq: seq.a.subarray(0, n),
    tNs: tNs.a.subarray(0, n),
    obs: obs.a.subarray(0, n * Math.max(no, 0)),
    ...(withRaw ? { obsRaw: raw.a.subarray(0, n * Math.max(no, 0)) } : {}),
    actionApplied: applied.a.subarray(0, n * Math.max(na, 0)),
    actionCommanded: commanded.a.subarray(0, n * Math.max(na, 0)),
    flags: flags.a.subarray(0, n),
    safety: safety.a.subarray(0, n),
    loggedStatus: status.a.subarray(0, n),
    loggedTotal: total.a.subarray(0, n),
    loggedSegments: segs.map(({ buf, ...s }) => ({ ...s, terms: buf.a.subarray(0, (s.to - s.from) * s.termNames.length) })),
    loggedReasons: reasons,
    wallMs: wall.a.subarray(0, n),
    obsTNs: obsT.a.subarray(0, n),
  };
}
