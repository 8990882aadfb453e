import { describe, expect, it } from 'vitest';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { startBlackholeProxy } from './blackhole-proxy.js';
import { brokersUnderTest, tmpDir, uniquePrefix, waitFor } from './helpers.js';
import { range, storedSeqs, syntheticEpisode } from '../recorder/fixtures.js';

const brokers = brokersUnderTest();

describe.each(brokers)('a link that silently stops carrying traffic (%s)', (_name, url) => {
  it('is detected within about 1.5 x keepalive, and nothing is lost', async () => {
    const target = new URL(url());
    const proxy = await startBlackholeProxy(Number(target.port), target.hostname);
    const prefix = uniquePrefix();
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50 });
    const keepaliveS = 1;
    const pub = await EpisodePublisher.open({ mqttUrl: proxy.url, robot: 'rover', prefix, outboxDir: tmpDir('ob'), keepaliveS, reconnectMinMs: 100, reconnectMaxMs: 300 });
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 100));
      const e = syntheticEpisode('rover', 'ep-hole', 0, 3000, 50);
      pub.publishStart(e.start);
      const half = e.batches.length / 2;
      for (const b of e.batches.slice(0, half)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      await waitFor(() => pub.stats().published === 1500, 5000, 'first half acked');

      proxy.blackhole();
      const t0 = performance.now();
      for (const b of e.batches.slice(half)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      pub.publishEnd(e.end);
      await waitFor(() => !pub.stats().connected, 10_000, 'the dead link to be noticed');
      const detectedMs = performance.now() - t0;
      expect(proxy.connections()).toBeGreaterThanOrEqual(0);
      // mqtt.js pings at 1 x keepalive and gives up at 1.5 x after the last answer; allow timer slack.
      expect(detectedMs).toBeLessThan(1.5 * keepaliveS * 1000 + 700);
      expect(pub.stats().published).toBeLessThan(3000);

      proxy.restore();
      await waitFor(() => rec.catalog.get('ep-hole')?.status === 'complete', 15_000, 'episode complete after the link came back');
      // PUBACKs to the robot race the deliveries to the recorder.
      await waitFor(() => pub.stats().pending === 0, 10_000, 'every record acknowledged to the robot');
      expect(pub.stats()).toMatchObject({ pending: 0, published: 3000 });
      expect(await storedSeqs(rec.catalog.get('ep-hole')!.file!)).toEqual(range(3000));
    } finally {
      await pub.close(500);
      await rec.close();
      await proxy.close();
    }
  }, 40_000);

  it('loses nothing when the link drops again while the client is still resending after a reconnect', async () => {
    const target = new URL(url());
    const proxy = await startBlackholeProxy(Number(target.port), target.hostname);
    const prefix = uniquePrefix();
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50 });
    const pub = await EpisodePublisher.open({ mqttUrl: proxy.url, robot: 'rover', prefix, outboxDir: tmpDir('ob'), keepaliveS: 2, reconnectMinMs: 50, reconnectMaxMs: 200 });
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 100));
      const e = syntheticEpisode('rover', 'ep-flap', 0, 40_000, 100);
      pub.publishStart(e.start);
      for (const b of e.batches.slice(0, 50)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      await waitFor(() => pub.stats().pending === 0, 5000, 'the first 50 batches acked');
      // A dead zone: the in-flight window fills, the rest waits in the outbox.
      proxy.blackhole();
      for (const b of e.batches.slice(50)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      pub.publishEnd(e.end);
      await new Promise((r) => setTimeout(r, 300));
      // Back, and lost again part-way through the resend: mqtt.js fails the publishes it had queued behind its stored ones.
      proxy.cut();
      proxy.restore();
      proxy.cutAfterBytes(e.batches[0]!.bytes.byteLength * 60);
      await waitFor(() => rec.catalog.get('ep-flap')?.status === 'complete', 20_000, 'the episode complete');
      await waitFor(() => pub.stats().pending === 0, 10_000, 'every record acknowledged to the robot');
      expect(pub.stats().reconnects).toBeGreaterThanOrEqual(2);
      expect(await storedSeqs(rec.catalog.get('ep-flap')!.file!)).toEqual(range(40_000));
    } finally {
      await pub.close(500);
      await rec.close();
      await proxy.close();
    }
  }, 60_000);
});
