import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { MOSQUITTO_BIN, startSecureBroker, type SecureBroker } from '../trust/secure-broker.js';

/**
 * MQTT over WebSockets, the dashboard's transport: the embedded broker's
 * listener (--broker-ws-port) and the `listener 9001` + `protocol websockets`
 * lines of docs/mosquitto/mosquitto.conf (TLS, passwords, ACL), each used by
 * mqtt.js over ws:// / wss:// while a TCP client publishes.
 */
const received = (c: mqtt.MqttClient, topic: string): Promise<string> =>
  new Promise((resolve) => c.on('message', (t, p) => t === topic && resolve(p.toString())));

describe('embedded broker WebSocket listener', () => {
  it('carries messages between a WebSocket client and a TCP client', async () => {
    const b = await startEmbeddedBroker({ port: 0, wsPort: 0 });
    try {
      expect(b.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(b.wsError).toBeNull();
      const ws = await mqtt.connectAsync(b.wsUrl!, { protocolVersion: 4, reconnectPeriod: 0 });
      await ws.subscribeAsync('t/ws', { qos: 1 });
      const got = received(ws, 't/ws');
      const tcp = await mqtt.connectAsync(b.url, { protocolVersion: 4, reconnectPeriod: 0 });
      await tcp.publishAsync('t/ws', 'from tcp', { qos: 1 });
      expect(await got).toBe('from tcp');
      await Promise.all([ws.endAsync(), tcp.endAsync()]);
    } finally {
      await b.close();
    }
  });

  it('a WebSocket port already in use is reported, and the TCP broker still runs', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    const b = await startEmbeddedBroker({ port: 0, wsPort: taken });
    try {
      expect(b.wsUrl).toBeNull();
      expect(b.wsError).toMatch(new RegExp(`cannot listen \\(WebSocket\\) on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`));
      const tcp = await mqtt.connectAsync(b.url, { protocolVersion: 4, reconnectPeriod: 0 });
      await tcp.endAsync();
    } finally {
      await b.close();
      blocker.close();
    }
  });
});

describe.skipIf(!existsSync(MOSQUITTO_BIN))('docs/mosquitto: the WebSocket listener (TLS, passwords, ACL)', () => {
  let broker: SecureBroker | undefined;
  afterAll(async () => broker?.stop());

  it('an operator reads a robot\'s live topics over wss:// with the field CA; an anonymous WebSocket client is refused', async () => {
    broker = await startSecureBroker(['rover-a']);
    const ca = readFileSync(broker.caFile);
    const op = await mqtt.connectAsync(broker.wsUrl, { ca, username: 'op+alice', password: broker.passwords['op+alice']!, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    await op.subscribeAsync('rewardd/v1/rover-a/#', { qos: 0 });
    const got = received(op, 'rewardd/v1/rover-a/health');
    const robot = await mqtt.connectAsync(broker.url, { ca, username: 'rover-a', password: broker.passwords['rover-a']!, protocolVersion: 5, reconnectPeriod: 0 });
    await robot.publishAsync('rewardd/v1/rover-a/health', '{"schema":"rewardd.health/1"}', { qos: 1 });
    expect(await got).toBe('{"schema":"rewardd.health/1"}');
    await Promise.all([op.endAsync(), robot.endAsync()]);
    await expect(mqtt.connectAsync(broker.wsUrl, { ca, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
  });
});
