import { describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { brokersUnderTest, collect, fakeEnd, fakeStart, freePort, tmpDir, uniquePrefix, waitFor } from './helpers.js';

/** An opaque batch: its first 4 bytes say seq0, so order can be checked without the codec. */
const opaque = (seq0: number, size = 256): Uint8Array => {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, seq0, true);
  return b;
};

const brokers = brokersUnderTest();

describe.each(brokers)('EpisodePublisher against %s', (_name, url) => {
  it('publishes start, batches in order and end QoS 1, birth retained, and counts acked steps', async () => {
    const prefix = uniquePrefix();
    const sub = await collect(url(), `${prefix}/#`);
    const pub = await EpisodePublisher.open({ mqttUrl: url(), robot: 'r1', prefix, outboxDir: tmpDir('pub'), versions: { rewardd: 'test' } });
    pub.publishStart(fakeStart('e1', 'r1'));
    for (let i = 0; i < 50; i++) pub.publishBatch('e1', i * 10, 10, opaque(i * 10));
    pub.publishEnd(fakeEnd('e1', 'r1', 500));
    expect(pub.pendingSteps).toBe(pub.stats().pending);
    expect(pub.pendingSteps).toBeGreaterThan(0); // nothing is acknowledged before the disk write
    await waitFor(() => pub.stats().published === 500 && pub.stats().pending === 0, 5000, 'all steps acked');
    expect(pub.pendingSteps).toBe(0);
    await waitFor(() => sub.messages.filter((m) => m.topic.endsWith('/end')).length === 1, 5000, 'end record');
    const ep = sub.messages.filter((m) => m.topic.includes('/episodes/e1/'));
    expect(ep[0]!.topic).toBe(`${prefix}/r1/episodes/e1/start`);
    expect(ep.at(-1)!.topic).toBe(`${prefix}/r1/episodes/e1/end`);
    const seqs = ep.filter((m) => m.topic.endsWith('/steps')).map((m) => m.payload.readUInt32LE(0));
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i * 10));
    const status = sub.messages.find((m) => m.topic === `${prefix}/r1/status`);
    expect(JSON.parse(status!.payload.toString())).toMatchObject({ state: 'online', versions: { rewardd: 'test' } });
    await pub.close();
    await waitFor(() => sub.messages.some((m) => m.topic.endsWith('/status') && m.payload.toString().includes('"offline"')), 3000, 'offline status');
    await sub.close();
  });
});

describe('EpisodePublisher with no broker yet', () => {
  it('never blocks or throws, keeps everything in the outbox, and delivers once a broker appears', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const pub = await EpisodePublisher.open({ mqttUrl: url, robot: 'r2', prefix: uniquePrefix(), outboxDir: tmpDir('pub'), reconnectMinMs: 50, reconnectMaxMs: 200 });
    const prefix = pub.topics.prefix;
    const t0 = process.hrtime.bigint();
    pub.publishStart(fakeStart('e2', 'r2'));
    for (let i = 0; i < 20; i++) pub.publishBatch('e2', i * 5, 5, opaque(i * 5));
    pub.publishEnd(fakeEnd('e2', 'r2', 100));
    const callsMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(callsMs).toBeLessThan(500); // generous: the point is "does not wait for a connection"
    await waitFor(() => pub.stats().outboxRecords === 22, 2000, 'records on disk');
    expect(pub.stats()).toMatchObject({ connected: false, pending: 100, published: 0 });
    const late = await startEmbeddedBroker({ port });
    try {
      const sub = await collect(late.url, `${prefix}/#`);
      await waitFor(() => pub.stats().published === 100, 8000, 'replay after the broker appeared');
      await waitFor(() => sub.messages.some((m) => m.topic.endsWith('/end')), 3000, 'end');
      const seqs = sub.messages.filter((m) => m.topic.endsWith('/steps')).map((m) => m.payload.readUInt32LE(0));
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i * 5));
      await sub.close();
      await pub.close();
    } finally {
      await late.close();
    }
  });
});
