import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { RewarddError } from '../core/errors.js';

/**
 * Publishes one command to a robot QoS 1 and resolves once the broker has acknowledged it
 * (PUBACK within `timeoutMs`, on the monotonic clock of Node's timers); a fresh connection with
 * no retries, closed afterwards. `what` names the verb in errors ("estop", "arm", ...).
 */
export async function publishCommand(o: { url: string; topic: string; payload: string; timeoutMs: number; what: string }): Promise<void> {
  const { connectAsync } = await import('mqtt');
  let client;
  try {
    client = await connectAsync(o.url, { connectTimeout: o.timeoutMs, reconnectPeriod: 0, clientId: `rewardd-${o.what}-${process.pid}` });
  } catch (e) {
    throw new RewarddError('E_MQTT', `${o.what}: expected a broker at ${o.url}, ${(e as Error).message}`);
  }
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RewarddError('E_MQTT', `${o.what}: expected PUBACK on ${o.topic} within ${o.timeoutMs} ms, found none`)), o.timeoutMs);
    });
    await Promise.race([client.publishAsync(o.topic, o.payload, { qos: 1 }), timeout]).finally(() => clearTimeout(timer));
  } finally {
    await client.endAsync(true);
  }
}

export interface CommandRequest {
  url: string;
  /** The command topic; the robot answers on `<topic>/result` (MQTT 3.1.1) or our response topic under it (MQTT 5). */
  topic: string;
  /** The command as JSON; `correlation` is added to it (how a 3.1.1 sender's reply is matched). */
  payload: Record<string, unknown>;
  /** How long to wait for the broker and then for the robot's verdict, each (monotonic timers). */
  timeoutMs: number;
  /** The verb in errors ("estop", ...). */
  what: string;
  username?: string;
  password?: string;
  caFile?: string;
}

export type CommandAnswer = { kind: 'verdict'; verdict: Record<string, unknown> } | { kind: 'no-verdict' };

/**
 * Publishes one command QoS 1 and waits for the robot's verdict on it, as `reward push` does:
 * MQTT 5 first (the verdict comes on a response topic with our correlation data), MQTT 3.1.1
 * when the broker refuses 5 (aedes, the embedded broker: the verdict comes on `<topic>/result`,
 * matched by the `correlation` field we add to the payload). Resolves `no-verdict` when the
 * broker took the command (PUBACK) but no robot answered within `timeoutMs`; rejects with
 * E_MQTT when there is no broker or no PUBACK.
 */
export async function requestCommand(o: CommandRequest): Promise<CommandAnswer> {
  const { connectAsync } = await import('mqtt');
  const { readFileSync } = await import('node:fs');
  const correlation = randomBytes(8).toString('hex');
  const responseTopic = `${o.topic}/result/${correlation}`;
  let ca: Buffer | undefined;
  if (o.caFile !== undefined) {
    try {
      ca = readFileSync(o.caFile);
    } catch (e) {
      throw new RewarddError('E_CONFIG', `--ca: expected a readable PEM file, found ${(e as Error).message}`);
    }
  }
  const base = {
    connectTimeout: o.timeoutMs,
    reconnectPeriod: 0,
    clientId: `rewardd-${o.what}-${process.pid}-${correlation.slice(0, 4)}`,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(ca !== undefined ? { ca } : {}),
  };
  let client: MqttClient;
  try {
    client = await connectAsync(o.url, { ...base, protocolVersion: 5 });
  } catch {
    // aedes and other 3.1.1-only brokers refuse a v5 CONNECT; a dead broker fails this one too, and says so.
    try {
      client = await connectAsync(o.url, { ...base, protocolVersion: 4 });
    } catch (e) {
      throw new RewarddError('E_MQTT', `${o.what}: expected a broker at ${o.url}, found ${(e as Error).message}`);
    }
  }
  try {
    const v5 = client.options.protocolVersion === 5;
    let onVerdict!: (v: Record<string, unknown>) => void;
    const verdict = new Promise<Record<string, unknown>>((resolve) => (onVerdict = resolve));
    client.on('message', (_topic, payload, packet) => {
      let r: unknown;
      try {
        r = JSON.parse(payload.toString('utf8'));
      } catch {
        return;
      }
      if (!r || typeof r !== 'object') return;
      const cd = packet.properties?.correlationData?.toString('utf8');
      if (cd === correlation || (r as { correlation?: unknown }).correlation === correlation) onVerdict(r as Record<string, unknown>);
    });
    await client.subscribeAsync(v5 ? responseTopic : `${o.topic}/result`, { qos: 1 });
    const body = JSON.stringify({ ...o.payload, correlation });
    const props = v5 ? { properties: { responseTopic, correlationData: Buffer.from(correlation) } } : {};
    await withTimeout(client.publishAsync(o.topic, body, { qos: 1, ...props }), o.timeoutMs, () => new RewarddError('E_MQTT', `${o.what}: expected PUBACK on ${o.topic} within ${o.timeoutMs} ms, found none`));
    const answer = await withTimeout(verdict, o.timeoutMs, () => null).catch(() => null);
    return answer === null ? { kind: 'no-verdict' } : { kind: 'verdict', verdict: answer };
  } finally {
    await client.endAsync(true);
  }
}

/** `p`, or `onTimeout()` after `ms` (a rejection when it returns an Error, else that value). */
function withTimeout<T, U>(p: Promise<T>, ms: number, onTimeout: () => U): Promise<T | Exclude<U, Error>> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<Exclude<U, Error>>((resolve, reject) => {
    timer = setTimeout(() => {
      const v = onTimeout();
      if (v instanceof Error) reject(v);
      else resolve(v as Exclude<U, Error>);
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
