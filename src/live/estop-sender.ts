import { RewarddError } from '../core/errors.js';
import { episodeTopics } from '../transport/topics.js';
import { signEstopReset } from '../trust/index.js';
import type { EstopActions } from './dashboard-server.js';

/**
 * The e-stop as `rewardd dashboard` sends it from a laptop: one QoS 1 publish
 * on `<prefix>/<robot>/estop` per button press, over a fresh connection (as
 * `rewardd estop --mqtt` does), resolved on the broker's PUBACK. A reset is
 * signed with the operator's key when one was given (`--key`); without a key
 * it is unsigned, which only a robot run with `--auth open` accepts.
 */
export interface EstopSenderOptions {
  url: string;
  prefix: string;
  username?: string;
  password?: string;
  /** PEM of the operator's ed25519 key (rewardd keys new). */
  privateKeyPem?: string;
  timeoutMs: number;
}

async function publishOnce(o: EstopSenderOptions, topic: string, payload: string): Promise<void> {
  const { connectAsync } = await import('mqtt');
  let client;
  try {
    client = await connectAsync(o.url, {
      connectTimeout: o.timeoutMs,
      reconnectPeriod: 0,
      protocolVersion: 4,
      clientId: `rewardd-dashboard-estop-${process.pid}-${Math.random().toString(16).slice(2, 6)}`,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    });
  } catch (e) {
    throw new RewarddError('E_MQTT', `e-stop: expected a broker at ${o.url}, ${(e as Error).message}`);
  }
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RewarddError('E_MQTT', `e-stop: expected PUBACK on ${topic} within ${o.timeoutMs} ms, found none`)), o.timeoutMs);
    });
    await Promise.race([client.publishAsync(topic, payload, { qos: 1 }), timeout]).finally(() => clearTimeout(timer));
  } finally {
    await client.endAsync(true);
  }
}

export function estopSender(o: EstopSenderOptions): EstopActions {
  return {
    async stop(reason, robot) {
      const topic = episodeTopics(o.prefix, robot).estop;
      await publishOnce(o, topic, JSON.stringify({ action: 'stop', reason }));
      return `stop published on ${topic}`;
    },
    async reset(reason, robot) {
      const topic = episodeTopics(o.prefix, robot).estop;
      if (o.privateKeyPem) {
        await publishOnce(o, topic, JSON.stringify(signEstopReset({ robot, reason, privateKeyPem: o.privateKeyPem })));
        return `signed reset published on ${topic}`;
      }
      await publishOnce(o, topic, JSON.stringify({ action: 'reset', reason }));
      return `unsigned reset published on ${topic} (only a robot run with --auth open accepts it)`;
    },
  };
}
