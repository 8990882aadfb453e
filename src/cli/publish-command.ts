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
