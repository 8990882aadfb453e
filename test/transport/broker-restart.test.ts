import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { tmpDir, uniquePrefix, waitFor } from './helpers.js';
import { MOSQUITTO_BIN, ownMosquitto } from './mosquitto.js';
import { range, storedSeqs, syntheticEpisode } from '../recorder/fixtures.js';

/** Outage length: the 30 s by default; REWARDD_TEST_OUTAGE_S shortens it for quick local runs. */
const OUTAGE_S = Number(process.env.REWARDD_TEST_OUTAGE_S ?? 30);

describe.skipIf(!existsSync(MOSQUITTO_BIN))('broker stopped mid-episode and started again (own Mosquitto, persistent)', () => {
  it(`keeps publishing through a ${OUTAGE_S} s outage; every step is stored exactly once, in order`, async () => {
    const broker = await ownMosquitto();
    const prefix = uniquePrefix();
    const out = tmpDir('rec');
    const fast = { reconnectMinMs: 100, reconnectMaxMs: 1000 };
    // A fixed client id and a persistent session: messages queue at the broker while the recorder is away.
    const rec = new Recorder({ mqttUrl: broker.url, outDir: out, prefix, clientId: `rec-${prefix.slice(-10)}`, finalizeIntervalMs: 100, ...fast });
    const pub = await EpisodePublisher.open({ mqttUrl: broker.url, robot: 'rover', prefix, outboxDir: tmpDir('ob'), ...fast });
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 200));
      const period = 100; // ms between batches, as a 200 Hz daemon with 20-step batches
      const batches = Math.round((OUTAGE_S * 1000) / period) + 20;
      const e = syntheticEpisode('rover', 'ep-outage', 0, batches * 20, 20);
      pub.publishStart(e.start);
      let next = 0;
      const publishSome = async (n: number): Promise<void> => {
        for (const stop = next + n; next < stop && next < e.batches.length; next++) {
          const b = e.batches[next]!;
          expect(pub.publishBatch(b.episode, b.seq0, b.count, b.bytes)).toBe(true);
          await new Promise((r) => setTimeout(r, period));
        }
      };
      await publishSome(10);
      await waitFor(() => pub.stats().published > 0, 3000, 'first steps acked');
      await broker.stop();
      await publishSome(batches - 20); // the whole outage: the control loop keeps going
      expect(pub.stats().connected).toBe(false);
      expect(pub.stats().pending).toBeGreaterThan(0);
      await broker.start();
      await publishSome(10);
      pub.publishEnd(e.end);
      await waitFor(() => rec.catalog.get('ep-outage')?.status === 'complete', 20000, 'episode complete after the outage').catch((err: Error) => {
        throw new Error(`${err.message}; publisher ${JSON.stringify(pub.stats())}; recorder ${JSON.stringify(rec.stats())}; pending ${JSON.stringify(rec.catalog.pending())}`);
      });
      expect(pub.stats()).toMatchObject({ pending: 0, published: e.end.steps, droppedSteps: 0 });
      const row = rec.catalog.get('ep-outage')!;
      expect(row.steps).toBe(e.end.steps);
      expect(await storedSeqs(row.file!)).toEqual(range(e.end.steps));
    } finally {
      await pub.close(500);
      await rec.close();
      await broker.stop();
    }
  }, 60_000 + OUTAGE_S * 1000);
});
