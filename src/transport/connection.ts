import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ResolvedConnection } from './connection-options.js';

/**
 * One long-lived mqtt.js client with what rewardd needs on top:
 * - reconnect with exponential backoff and jitter (mqtt.js only has a fixed period);
 * - MQTT 5 first, 3.1.1 when the broker refuses 5 ('auto'; aedes is 3.1.1 only);
 * - the same client object for the whole life, so mqtt.js resends its unacknowledged
 *   QoS 1 packets after every reconnect, in order.
 */
export interface ManagedClient {
  client: MqttClient;
  /** The protocol in use now (changes once if 'auto' falls back). */
  protocolVersion(): 5 | 4;
  reconnects(): number;
  lastError(): string | undefined;
}

export function nextBackoffMs(attempt: number, b: ResolvedConnection['backoff'], random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.minMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(base * (1 - b.jitter + 2 * b.jitter * random())));
}

interface PrivateClient { _clearReconnect(): void }

/** CONNACK codes no retry can cure: the broker refused who we are (credentials, client id, ban). */
const PERMANENT_REFUSALS: Record<number, string> = {
  2: 'identifier rejected', 4: 'bad username or password', 5: 'not authorized',
  133: 'client identifier not valid', 134: 'bad username or password', 135: 'not authorized', 138: 'banned', 140: 'bad authentication method',
};

/**
 * The broker's refusal when it is one that retrying cannot fix (bad credentials, not
 * authorized, banned), else undefined: a refused TCP connection, an unknown host or a broker
 * that is restarting are worth retrying, and are retried.
 */
export function permanentRefusal(e: Error & { code?: unknown }): string | undefined {
  if (typeof e.code !== 'number' || !e.message.startsWith('Connection refused')) return undefined;
  const what = PERMANENT_REFUSALS[e.code];
  return what === undefined ? undefined : `broker refused the connection: ${what} (CONNACK code ${e.code})`;
}

const noLog = (): void => {};

export function connectManaged(conn: ResolvedConnection, extra: Partial<IClientOptions>, onV5Refused?: (opts: IClientOptions) => void): ManagedClient {
  let attempt = 0;
  let reconnects = 0;
  let lastError: string | undefined;
  // mqtt.js calls its `debug` logger several times per packet, enabled or not: ~2 % of a
  // recorder's CPU at 200 k steps/s in its profile. Silent unless DEBUG names mqttjs.
  const quiet = /mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: noLog };
  const options: IClientOptions = { ...quiet, ...conn.client, ...extra };
  const client = mqtt.connect(conn.url, options);
  // Runs before mqtt.js's own 'close' handler schedules the next attempt with this period.
  client.prependListener('close', () => {
    client.options.reconnectPeriod = nextBackoffMs(attempt++, conn.backoff);
  });
  // mqtt.js retries on a setInterval; clearing it per attempt lets each retry take the next backoff.
  client.on('reconnect', () => {
    reconnects += 1;
    (client as unknown as PrivateClient)._clearReconnect();
  });
  client.on('connect', () => {
    attempt = 0;
  });
  client.on('error', (e: Error & { code?: unknown }) => {
    lastError = e.message;
    if (e.code === 1 && conn.protocol === 'auto' && client.options.protocolVersion === 5) {
      client.options.protocolVersion = 4;
      delete client.options.properties;
      if (client.options.will) delete client.options.will.properties;
      onV5Refused?.(client.options);
      attempt = 0;
    }
  });
  return {
    client,
    protocolVersion: () => (client.options.protocolVersion === 5 ? 5 : 4),
    reconnects: () => reconnects,
    lastError: () => lastError,
  };
}
