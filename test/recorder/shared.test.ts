import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { Catalog } from '../../src/store/catalog.js';
import { MQTT_URL, tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { MOSQUITTO_BIN, ownMosquitto, type OwnMosquitto } from '../transport/mosquitto.js';
import { range, storedSeqs, syntheticEpisode } from './fixtures.js';

// aedes has no shared subscriptions: this runs on Mosquitto (MQTT_URL, else a private one).
describe.skipIf(!MQTT_URL && !existsSync(MOSQUITTO_BIN))('two recorders sharing a subscription', () => {
  it('store every episode exactly once across them', async () => {
    let own: OwnMosquitto | undefined;
    const url = MQTT_URL ?? (own = await ownMosquitto()).url;
    const prefix = uniquePrefix();
    const out = tmpDir('rec');
    const group = `g${prefix.slice(-10)}`;
    const recs = [0, 1].map(() => new Recorder({ mqttUrl: url, outDir: out, prefix, share: group, finalizeIntervalMs: 50 }));
    const pubs = await Promise.all(['r1', 'r2'].map((robot) => EpisodePublisher.open({ mqttUrl: url, robot, prefix, outboxDir: tmpDir('ob') })));
    try {
      await waitFor(() => recs.every((r) => r.stats().connected), 5000, 'recorders connected');
      await new Promise((r) => setTimeout(r, 200));
      const episodes = pubs.flatMap((pub, p) =>
        [0, 1, 2].map((i) => {
          const e = syntheticEpisode(pub.topics.robot, `ep-${p}-${i}`, i, 1000 + 100 * i, 50);
          pub.publishStart(e.start);
          for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
          pub.publishEnd(e.end);
          return e;
        }),
      );
      const cat = new Catalog(out);
      await waitFor(() => cat.list({ status: 'complete' }).length === episodes.length, 20_000, 'every episode complete');
      expect(cat.list().length).toBe(episodes.length);
      for (const e of episodes) {
        const row = cat.get(e.start.episode)!;
        expect(row.steps).toBe(e.end.steps);
        expect(await storedSeqs(row.file!)).toEqual(range(e.end.steps));
      }
      // Both took part: the broker split the messages, and the files between them.
      expect(recs.every((r) => r.stats().received > 0)).toBe(true);
      expect(recs.reduce((n, r) => n + r.stats().episodesWritten, 0)).toBe(episodes.length);
      cat.close();
    } finally {
      await Promise.all(pubs.map((p) => p.close(500)));
      await Promise.all(recs.map((r) => r.close()));
      await own?.stop();
    }
  }, 60_000);
});
