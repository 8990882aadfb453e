import { randomBytes } from 'node:crypto';
import { RewarddError } from '../core/errors.js';

/**
 * Sends one command to a robot and waits for its verdict: the command's JSON payload gets a
 * `correlation` field, and the robot answers an MQTT 3.1.1 sender (which this is, so it works with
 * the embedded aedes broker and Mosquitto alike) on `resultTopic` with that correlation copied
 * (transport/commands.ts). Subscribes before publishing, so the answer cannot be missed; a fresh
 * connection, no retries, closed afterwards. Every wait is bounded by `timeoutMs` (Node's timers run
 * on the monotonic clock). Resolves with the robot's JSON answer.
 */
export async function requestVerdict(o: { url: string; topic: string; resultTopic: string; payload: Record<string, unknown>; timeoutMs: number; what: string }): Promise<Record<string, unknown>> {
  const { connectAsync } = await import('mqtt');
  const correlation = randomBytes(8).toString('hex');
  let client;
  try {
    client = await connectAsync(o.url, { connectTimeout: o.timeoutMs, reconnectPeriod: 0, clientId: `rewardd-${o.what}-${process.pid}-${correlation.slice(0, 4)}`, protocolVersion: 4 });
  } catch (e) {
    throw new RewarddError('E_MQTT', `${o.what}: expected a broker at ${o.url}, ${(e as Error).message}`);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = new Promise<Record<string, unknown>>((resolve) => {
      client.on('message', (topic, payload) => {
        if (topic !== o.resultTopic) return;
        try {
          const j = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
          if (j && j.correlation === correlation) resolve(j);
        } catch {
          // Someone else's garbage on the result topic: not our answer.
        }
      });
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RewarddError('E_MQTT', `${o.what}: expected the robot's verdict on ${o.resultTopic} within ${o.timeoutMs} ms, found none (is the robot running, with this --robot and --prefix, on this broker?)`)),
        o.timeoutMs,
      );
    });
    await Promise.race([client.subscribeAsync(o.resultTopic, { qos: 1 }), timeout]);
    await Promise.race([client.publishAsync(o.topic, JSON.stringify({ ...o.payload, correlation }), { qos: 1 }), timeout]);
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
    await client.endAsync(true);
  }
}
