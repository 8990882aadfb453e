import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import mqtt from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { parseEstop, type EstopCommand } from '../../src/transport/commands.js';
import { nextBackoffMs } from '../../src/transport/connection.js';
import { MQTT_URL, fakeEnd, fakeStart, freePort, tmpDir, uniquePrefix, waitFor } from './helpers.js';
import { MOSQUITTO_BIN, ownMosquitto, type OwnMosquitto } from './mosquitto.js';

describe('e-stop payloads', () => {
  it('reads stop and reset, and anything unreadable as stop', () => {
    expect(parseEstop(Buffer.from('reset'))).toMatchObject({ action: 'reset' });
    expect(parseEstop(Buffer.from('{"action":"reset","reason":"op"}'))).toEqual({ action: 'reset', reason: 'op' });
    expect(parseEstop(Buffer.from('{"action":"stop"}'))).toMatchObject({ action: 'stop' });
    expect(parseEstop(Buffer.from('{"action":"rest"}'))).toMatchObject({ action: 'stop' });
    expect(parseEstop(Buffer.from([0xff, 0x00, 0x13]))).toMatchObject({ action: 'stop' });
  });
});

describe('reconnect backoff', () => {
  it('doubles from min to max and jitters within the stated band', () => {
    const b = { minMs: 250, maxMs: 10_000, jitter: 0.5 };
    expect([0, 1, 2, 3, 10].map((n) => nextBackoffMs(n, b, () => 0.5))).toEqual([250, 500, 1000, 2000, 10_000]);
    expect(nextBackoffMs(2, b, () => 0)).toBe(500);
    expect(nextBackoffMs(2, b, () => 0.999999)).toBe(1500);
  });
});

describe('reward/set over MQTT 5 (response topic + correlation data)', () => {
  let own: OwnMosquitto | undefined;
  let url = MQTT_URL;
  beforeAll(async () => {
    if (!url && existsSync(MOSQUITTO_BIN)) url = (own = await ownMosquitto()).url;
  });
  afterAll(async () => {
    await own?.stop();
  });
  it('answers on the sender\'s response topic with its correlation data', async () => {
    if (!url) return;
    const prefix = uniquePrefix();
    const pub = await EpisodePublisher.open({ mqttUrl: url, robot: 'r', prefix, outboxDir: tmpDir('ob') });
    const estops: EstopCommand[] = [];
    pub.subscribeCommands({
      onRewardSet: (source, reply) => (source.includes('reward(') ? reply({ ok: true, version: 'abc123def456' }) : reply({ ok: false, error: 'E_REWARD_EXPORTS: expected reward(), found none' })),
      onEstop: (c) => estops.push(c),
    });
    await waitFor(() => pub.stats().connected, 5000, 'publisher connected');
    expect(pub.stats().protocolVersion).toBe(5);
    await new Promise((r) => setTimeout(r, 200));
    const op = await mqtt.connectAsync(url, { protocolVersion: 5 });
    const replies: { body: unknown; corr: string | undefined }[] = [];
    op.on('message', (_t, payload, packet) => replies.push({ body: JSON.parse(payload.toString()), corr: packet.properties?.correlationData?.toString() }));
    await op.subscribeAsync(`${prefix}/ops/reply`, { qos: 1 });
    await op.publishAsync(pub.topics.rewardSet, 'export function reward() {}', { qos: 1, properties: { responseTopic: `${prefix}/ops/reply`, correlationData: Buffer.from('c-1') } });
    await op.publishAsync(pub.topics.rewardSet, 'nonsense', { qos: 1, properties: { responseTopic: `${prefix}/ops/reply`, correlationData: Buffer.from('c-2') } });
    await op.publishAsync(pub.topics.estop, 'stop', { qos: 1 });
    await waitFor(() => replies.length === 2 && estops.length === 1, 5000, 'two replies and an e-stop');
    expect(replies).toEqual([
      { body: { ok: true, version: 'abc123def456' }, corr: 'c-1' },
      { body: { ok: false, error: 'E_REWARD_EXPORTS: expected reward(), found none' }, corr: 'c-2' },
    ]);
    expect(estops[0]!.action).toBe('stop');
    await op.endAsync();
    await pub.close();
  });
});

describe('reward/set over MQTT 3.1.1 (embedded aedes)', () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({});
  });
  afterAll(async () => {
    await broker.close();
  });
  it('answers on reward/set/result, echoing the envelope correlation', async () => {
    const prefix = uniquePrefix();
    const pub = await EpisodePublisher.open({ mqttUrl: broker.url, robot: 'r', prefix, outboxDir: tmpDir('ob') });
    pub.subscribeCommands({ onRewardSet: (_source, reply) => reply({ ok: true, version: 'v1' }) });
    await waitFor(() => pub.stats().connected, 5000, 'publisher connected');
    expect(pub.stats().protocolVersion).toBe(4);
    await new Promise((r) => setTimeout(r, 200));
    const op = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const replies: unknown[] = [];
    op.on('message', (_t, payload) => replies.push(JSON.parse(payload.toString())));
    await op.subscribeAsync(pub.topics.rewardSetResult, { qos: 1 });
    await op.publishAsync(pub.topics.rewardSet, JSON.stringify({ source: 'export function reward() {}', correlation: 'x-9' }), { qos: 1 });
    await waitFor(() => replies.length === 1, 5000, 'reply');
    expect(replies[0]).toEqual({ ok: true, version: 'v1', correlation: 'x-9' });
    await op.endAsync();
    await pub.close();
  });
});

describe('publisher with its outbox at the bound and no broker', () => {
  it('applies the full-policy, raises the alarm, and every call still returns at once without throwing', async () => {
    const port = await freePort();
    const pub = await EpisodePublisher.open({ mqttUrl: `mqtt://127.0.0.1:${port}`, robot: 'r', prefix: uniquePrefix(), outboxDir: tmpDir('ob'), outbox: { maxBytes: 256 * 1024, episodeReserveBytes: 64 * 1024 } });
    const batch = new Uint8Array(16 * 1024);
    let episodes = 0;
    let refusedStarts = 0;
    for (let e = 0; e < 10; e++) {
      if (pub.publishStart(fakeStart(`e${e}`, 'r'))) episodes++;
      else refusedStarts++;
      for (let i = 0; i < 5; i++) pub.publishBatch(`e${e}`, i * 10, 10, batch);
      pub.publishEnd(fakeEnd(`e${e}`, 'r', 50));
    }
    const s = pub.stats();
    expect(episodes).toBeGreaterThan(0);
    expect(refusedStarts).toBeGreaterThan(0);
    expect(s.acceptingEpisodes).toBe(false);
    expect(s.outboxFull).toBe(true);
    expect(s.outboxBytes).toBeLessThanOrEqual(256 * 1024);
    // Steps of refused episodes are counted as dropped, never silently lost.
    expect(s.pending + s.droppedSteps).toBe(10 * 50);
    await pub.close(100);
  });
});

describe('publisher options', () => {
  it('are checked before anything is created on disk', async () => {
    const dir = `${tmpDir('ob')}/not-created`;
    await expect(EpisodePublisher.open({ mqttUrl: 'mqtt://127.0.0.1:1', robot: 'r', outboxDir: dir, inflightWindow: 0 })).rejects.toThrow(/E_CONFIG: inflightWindow: expected an integer >= 1, found 0/);
    await expect(EpisodePublisher.open({ mqttUrl: 'tcp:/nope', robot: 'r', outboxDir: dir })).rejects.toThrow(/E_CONFIG: mqtt url/);
    await expect(EpisodePublisher.open({ mqttUrl: 'mqtt://127.0.0.1:1', robot: 'a/b', outboxDir: dir })).rejects.toThrow(/E_CONFIG: robot/);
    const { existsSync: exists } = await import('node:fs');
    expect(exists(dir)).toBe(false);
  });
});
