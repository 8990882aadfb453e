import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder, type RecorderStats } from '../../src/recorder/recorder.js';
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

  it('as two processes (their SQLite transactions overlap): every episode once, no failed commit', async () => {
    let own: OwnMosquitto | undefined;
    const url = MQTT_URL ?? (own = await ownMosquitto()).url;
    const prefix = uniquePrefix();
    const out = tmpDir('rec');
    const group = `g${prefix.slice(-10)}`;
    const child = fileURLToPath(new URL('./fixtures/recorder-child.ts', import.meta.url));
    const latest: (RecorderStats | undefined)[] = [undefined, undefined];
    const kids = [0, 1].map((k) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify({ url, out, prefix, share: group, clientId: `${prefix.slice(-10)}-${k}` })], { stdio: ['ignore', 'pipe', 'inherit'] });
      createInterface({ input: proc.stdout! }).on('line', (line) => (latest[k] = JSON.parse(line) as RecorderStats));
      return proc;
    });
    const st = (k: number): RecorderStats | undefined => latest[k];
    const pubs = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((robot) => EpisodePublisher.open({ mqttUrl: url, robot, prefix, outboxDir: tmpDir('ob') })));
    try {
      await waitFor(() => [0, 1].every((k) => st(k)?.connected === true), 10_000, 'both recorder processes connected');
      await new Promise((r) => setTimeout(r, 300));
      const episodes = pubs.flatMap((pub, p) =>
        [0, 1].map((i) => {
          const e = syntheticEpisode(pub.topics.robot, `ep-${p}-${i}`, i, 5000, 50);
          pub.publishStart(e.start);
          for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
          pub.publishEnd(e.end);
          return e;
        }),
      );
      const cat = new Catalog(out);
      await waitFor(() => cat.list({ status: 'complete' }).length === episodes.length, 30_000, 'every episode complete');
      for (const e of episodes) expect(await storedSeqs(cat.get(e.start.episode)!.file!)).toEqual(range(5000));
      cat.close();
      await new Promise((r) => setTimeout(r, 100)); // one more stats line
      expect([0, 1].map((k) => st(k)!.ingestErrors)).toEqual([0, 0]);
      expect([0, 1].every((k) => st(k)!.received > 0)).toBe(true);
    } finally {
      await Promise.all(pubs.map((p) => p.close(500)));
      for (const k of kids) k.kill('SIGKILL');
      await own?.stop();
    }
  }, 90_000);
});
