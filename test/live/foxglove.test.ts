import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import foxglove from '@foxglove/ws-protocol';
import { parse as parseRosMsg } from '@foxglove/rosmsg';
import { McapStreamReader } from '@mcap/core';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { decodeReward } from '../../src/recorder/mcap-schemas.js';
import { tempDirs } from '../helpers/temp.js';
import { until } from '../helpers/wait.js';

/**
 * The Foxglove side, with clients nobody here wrote: @foxglove/ws-protocol's
 * client subscribes to the daemon's bridge and checks every message against the
 * JSON schema the bridge advertised; the shipped layout's message paths are
 * resolved against the live channels and against the recorder's MCAP file of
 * the same run (read with @mcap/core, schemas parsed with @foxglove/rosmsg), and
 * the values agree step for step.
 */
const { FoxgloveClient } = foxglove;
const tmp = tempDirs();
const LAYOUT = JSON.parse(readFileSync(new URL('../../docs/foxglove/rewardd-layout.json', import.meta.url), 'utf8')) as {
  configById: Record<string, { paths?: { value: string }[]; topicPath?: string }>;
};

type Json = Record<string, unknown>;
interface Advertised { id: number; topic: string; schemaName: string; schema: Json }

/** Checks a JSON message against the advertised schema (types of every declared property, recursively). */
function conforms(msg: unknown, schema: Json, path = ''): string[] {
  const t = schema.type;
  if (t === 'object') {
    if (typeof msg !== 'object' || msg === null) return [`${path}: expected an object`];
    const props = (schema.properties ?? {}) as Record<string, Json>;
    const extra = schema.additionalProperties as Json | undefined;
    const bad: string[] = [];
    for (const [k, v] of Object.entries(msg)) {
      if (k in props) bad.push(...conforms(v, props[k]!, `${path}.${k}`));
      else if (extra) bad.push(...conforms(v, extra, `${path}.${k}`));
      // Stricter than JSON Schema on purpose: an undeclared field is one Foxglove cannot offer in its path completion.
      else bad.push(`${path}.${k}: not in the schema`);
    }
    return bad;
  }
  if (t === 'array') return Array.isArray(msg) ? msg.flatMap((v, i) => conforms(v, (schema.items ?? {}) as Json, `${path}[${i}]`)) : [`${path}: expected an array`];
  if (Array.isArray(t)) return t.some((one) => conforms(msg, { type: one }, path).length === 0) || (msg === null && t.includes('null')) ? [] : [`${path}: expected one of ${t.join(', ')}`];
  if (t === 'null') return msg === null ? [] : [`${path}: expected null`];
  // JSON has no NaN: a failed reward's NaN arrives as null.
  if (t === 'number') return typeof msg === 'number' || msg === null ? [] : [`${path}: expected a number`];
  if (t === 'integer') return Number.isInteger(msg) ? [] : [`${path}: expected an integer`];
  if (t === 'string') return typeof msg === 'string' ? [] : [`${path}: expected a string`];
  if (t === 'boolean') return typeof msg === 'boolean' ? [] : [`${path}: expected a boolean`];
  return [];
}

const layoutPaths = (): { topic: string; field: string }[] =>
  Object.values(LAYOUT.configById)
    .flatMap((c) => [...(c.paths ?? []).map((p) => p.value), ...(c.topicPath ? [c.topicPath] : [])])
    .map((p) => {
      const m = /^(\/[A-Za-z0-9_/]+?)(?:\.([A-Za-z0-9_]+))?$/.exec(p);
      if (!m) throw new Error(`layout path ${p}: expected /topic or /topic.field`);
      return { topic: m[1]!, field: m[2] ?? '' };
    });

let daemon: RunningDaemon | undefined;
let recorder: Recorder | undefined;
afterAll(async () => {
  await daemon?.stop();
  await recorder?.close();
});

describe('Foxglove bridge (--foxglove-port)', () => {
  it('a @foxglove/ws-protocol client receives steps with the advertised schema; the layout resolves live and in the MCAP file', async () => {
    const prefix = `rewardd-test-fox-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({ prefix, stateDir: tmp('rewardd-fox-'), status: false, watchReward: false, auth: 'open', stepLimit: 80, brokerPort: 0, brokerWsPort: 'off', dashboardPort: 'off', foxglovePort: 0 });
    daemon = await startDaemon(cfg, { log: () => {}, status: () => {} });
    await daemon.live.ready;
    expect(daemon.live.foxgloveUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const out = tmp('rewardd-fox-rec-');
    recorder = new Recorder({ mqttUrl: daemon.mqttUrl, outDir: out, prefix, robot: 'rover', finalizeIntervalMs: 50 });

    const client = new FoxgloveClient({ ws: new WebSocket(daemon.live.foxgloveUrl!, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
    const channels = new Map<number, Advertised>();
    const schemaOf = (topic: string): Advertised => [...channels.values()].filter((c) => c.topic === topic).at(-1)!;
    const bySub = new Map<number, Advertised>();
    const got = new Map<string, Json[]>();
    const stamps: { wallMs: number; ns: bigint }[] = [];
    client.on('advertise', (list) => {
      for (const c of list) {
        expect(c.encoding).toBe('json');
        expect(c.schemaEncoding).toBe('jsonschema');
        const a = { id: c.id, topic: c.topic, schemaName: c.schemaName, schema: JSON.parse(c.schema) as Json };
        channels.set(c.id, a);
        bySub.set(client.subscribe(c.id), a);
      }
    });
    client.on('message', (m) => {
      const ch = bySub.get(m.subscriptionId);
      if (!ch) return;
      const msg = JSON.parse(new TextDecoder().decode(m.data)) as Json;
      const list = got.get(ch.topic) ?? [];
      if (list.length < 5000) list.push(msg);
      got.set(ch.topic, list);
      if (ch.topic === '/steps') stamps.push({ wallMs: msg.wall_ms as number, ns: m.timestamp });
    });
    await until(() => (got.get('/episode') ?? []).filter((e) => e.event === 'end').length >= 2 && (got.get('/status')?.length ?? 0) >= 1, 'two episode ends and a status report over Foxglove', 30_000);
    await until(() => recorder!.catalog.list({ status: 'complete' }).length >= 2, 'two episodes stored by the recorder', 20_000);
    // The vision hook: a frame handed to the daemon's live outputs goes out as foxglove.CompressedImage.
    const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    daemon.live.cameraFrame('front', jpeg, 'jpeg', 1_800_000_000_123);
    await until(() => [...channels.values()].some((c) => c.topic === '/camera/front'), 'the camera channel advertised', 5000);
    for (let i = 0; i < 50 && !got.has('/camera/front'); i++) {
      daemon.live.cameraFrame('front', jpeg, 'jpeg', 1_800_000_000_123);
      await new Promise((r) => setTimeout(r, 100));
    }
    const frame = got.get('/camera/front')?.[0] as { timestamp: { sec: number; nsec: number }; frame_id: string; data: string; format: string } | undefined;
    expect(frame).toEqual({ timestamp: { sec: 1_800_000_000, nsec: 123_000_000 }, frame_id: 'front', data: Buffer.from(jpeg).toString('base64'), format: 'jpeg' });
    expect(schemaOf('/camera/front').schemaName).toBe('foxglove.CompressedImage');
    client.close();

    const topics = new Set([...channels.values()].map((c) => c.topic));
    for (const t of ['/steps', '/observation', '/action', '/reward', '/safety', '/episode', '/status']) expect(topics).toContain(t);
    // Every message of every channel conforms to its advertised schema.
    for (const [topic, msgs] of got) {
      const s = schemaOf(topic);
      for (const msg of msgs) expect(conforms(msg, s.schema), `${topic} ${JSON.stringify(msg).slice(0, 200)}`).toEqual([]);
    }
    const steps = got.get('/steps')!;
    expect(steps.length).toBeGreaterThan(100);
    expect(Object.keys(steps[0]!.reward_terms as Json)).toEqual(['distance', 'heading', 'progress', 'effort']);
    expect(schemaOf('/steps').schemaName).toBe('rewardd.Step');
    // The message time is the step's wall time, as in the MCAP files.
    for (const s of stamps.slice(0, 50)) expect(s.ns).toBe(BigInt(Math.round(s.wallMs)) * 1_000_000n);
    expect((got.get('/status')![0] as { schema: string }).schema).toBe('rewardd.health/1');

    // The layout's paths, live: the topic is advertised, the field is in its schema and carries numbers.
    const paths = layoutPaths();
    expect(paths.some((p) => p.topic === '/reward' && p.field === 'total')).toBe(true);
    for (const { topic, field } of paths) {
      expect(topics, `live topic ${topic}`).toContain(topic);
      if (!field) continue;
      expect(Object.keys((schemaOf(topic).schema.properties ?? {}) as Json), `live ${topic}.${field}`).toContain(field);
      expect(got.get(topic)!.some((m) => typeof m[field] === 'number'), `live ${topic}.${field} values`).toBe(true);
    }

    // The same paths in the recorder's MCAP file of a stored episode.
    const row = recorder.catalog.list({ status: 'complete' })[0]!;
    const file = isAbsolute(row.file!) ? row.file! : join(out, row.file!);
    const reader = new McapStreamReader({ validateCrcs: true });
    reader.append(readFileSync(file));
    const schemas = new Map<number, string>();
    const mcapChannels = new Map<number, { topic: string; fields: string[]; terms: string[] }>();
    const rewardsBySeq = new Map<number, number>();
    for (let rec; (rec = reader.nextRecord()); ) {
      if (rec.type === 'Schema') schemas.set(rec.id, new TextDecoder().decode(rec.data));
      else if (rec.type === 'Channel') {
        const fields = parseRosMsg(schemas.get(rec.schemaId)!)[0]!.definitions.map((d) => d.name);
        mcapChannels.set(rec.id, { topic: rec.topic, fields, terms: JSON.parse(rec.metadata.get('terms') ?? '[]') as string[] });
      } else if (rec.type === 'Message') {
        const ch = mcapChannels.get(rec.channelId)!;
        if (ch.topic === '/reward') {
          const r = decodeReward(rec.data, ch.terms);
          rewardsBySeq.set(r.seq, r.total);
        }
      }
    }
    for (const { topic, field } of paths) {
      const chs = [...mcapChannels.values()].filter((c) => c.topic === topic);
      expect(chs.length, `MCAP topic ${topic}`).toBeGreaterThan(0);
      if (field) expect(chs.some((c) => c.fields.includes(field)), `MCAP ${topic}.${field}`).toBe(true);
    }
    // And the values agree: /reward.total live equals the stored one, step for step.
    const live = steps.filter((s) => s.episode === row.episode);
    expect(live.length).toBeGreaterThan(20);
    for (const s of live) expect(rewardsBySeq.get(s.seq as number)).toBe(s.reward_total ?? NaN);
  });
});
