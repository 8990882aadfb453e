import mqtt, { type MqttClient } from 'mqtt';
import type { EpisodeEnd, EpisodeStart } from '../../src/core/records.js';
import { decodeStepBatch } from '../../src/episode/batch-codec.js';
import type { StepBatch } from '../../src/episode/batch.js';
import { until } from './wait.js';

export interface CapturedEpisode {
  start?: EpisodeStart;
  batches: StepBatch[];
  end?: EpisodeEnd;
}

/**
 * A plain mqtt.js subscriber, as a user's laptop would run it: subscribes to
 * every episode topic under a prefix and decodes what arrives with the
 * package's exported batch decoder.
 */
export async function captureEpisodes(url: string, prefix: string): Promise<{ episodes: Map<string, CapturedEpisode>; other: Map<string, Buffer[]>; client: MqttClient; close(): Promise<void> }> {
  const client = await mqtt.connectAsync(url, { clientId: `test-capture-${Math.random().toString(16).slice(2, 10)}`, reconnectPeriod: 200 });
  const episodes = new Map<string, CapturedEpisode>();
  const other = new Map<string, Buffer[]>();
  client.on('message', (topic, payload) => {
    const m = /\/episodes\/([^/]+)\/(start|steps|end)$/.exec(topic);
    if (!m) {
      const list = other.get(topic) ?? [];
      list.push(payload);
      other.set(topic, list);
      return;
    }
    const [, id, kind] = m;
    const ep = episodes.get(id!) ?? { batches: [] };
    episodes.set(id!, ep);
    if (kind === 'start') ep.start = JSON.parse(payload.toString('utf8')) as EpisodeStart;
    else if (kind === 'end') ep.end = JSON.parse(payload.toString('utf8')) as EpisodeEnd;
    else ep.batches.push(decodeStepBatch(payload));
  });
  await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
  return { episodes, other, client, close: () => client.endAsync() };
}

/** until() with the argument order these suites use. */
export const waitFor = (cond: () => boolean, timeoutMs: number, what: string): Promise<void> => until(cond, what, timeoutMs);
