import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/transport/embedded-broker.js';
import type { EpisodeEnd, EpisodeStart } from '../../src/core/records.js';
import { until } from '../helpers/wait.js';

export const MQTT_URL = process.env.MQTT_URL;

/** An embedded aedes broker for the file's tests (started in beforeAll, closed in afterAll); call the getter inside a test. */
export function embeddedBrokerForFile(): () => EmbeddedBroker {
  let broker: EmbeddedBroker | undefined;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({});
  });
  afterAll(async () => {
    await broker?.close();
  });
  return () => {
    if (!broker) throw new Error('the embedded broker is not started yet (call the getter inside a test)');
    return broker;
  };
}

/**
 * The brokers a suite runs against, for describe.each: an embedded aedes started for the file
 * (beforeAll / afterAll registered here), and the broker at MQTT_URL when it is set (Mosquitto
 * in CI). Each entry is [name, url getter]; the getter is called inside the tests.
 */
export function brokersUnderTest(): [string, () => string][] {
  const embedded = embeddedBrokerForFile();
  return [['embedded aedes', () => embedded().url], ...(MQTT_URL ? [['MQTT_URL', () => MQTT_URL] as [string, () => string]] : [])];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const tmpDir = (tag: string): string => mkdtempSync(join(tmpdir(), `rewardd-${tag}-`));
/** A topic prefix no other test file uses, so parallel files share a broker safely. */
export const uniquePrefix = (): string => `rwtest/${randomBytes(5).toString('hex')}`;

/** until() with the argument order these suites use. */
export const waitFor = (cond: () => boolean, timeoutMs: number, what: string): Promise<void> => until(cond, what, timeoutMs);

export interface Collected {
  client: MqttClient;
  messages: { topic: string; payload: Buffer; retain: boolean }[];
  close(): Promise<void>;
}

export async function collect(url: string, filter: string): Promise<Collected> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 200 });
  const messages: Collected['messages'] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (e) => (e ? reject(e) : resolve())));
    client.once('error', reject);
  });
  return { client, messages, close: () => new Promise<void>((r) => client.end(true, {}, () => r())) };
}

/** Minimal start / end records for tests that treat batches as opaque bytes. */
export const fakeStart = (episode: string, robot: string): EpisodeStart =>
  ({ schema: 'rewardd.episode/1', episode, robot, index: 0, startedWallMs: 0, startedNs: '0', tickHz: 100, stepLimit: 1000, observationNames: ['a'], actionNames: ['l'] }) as unknown as EpisodeStart;
export const fakeEnd = (episode: string, robot: string, steps: number): EpisodeEnd =>
  ({ schema: 'rewardd.episode/1', episode, robot, steps, reason: 'done', success: false }) as unknown as EpisodeEnd;
