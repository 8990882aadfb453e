import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Catalog } from '../../src/store/catalog.js';
import { Staging } from '../../src/store/staging.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { readEpisodeSteps } from '../../src/recorder/episode-reader.js';
import { embeddedBrokerForFile, tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { range, storedSeqs, syntheticEpisode } from './fixtures.js';

const broker = embeddedBrokerForFile();

describe('recorder staging under a full or damaged disk', () => {
  it('a group cut short by a full disk is refused whole, and what is staged afterwards reads back intact', () => {
    const child = fileURLToPath(new URL('./fixtures/staging-disk-full-child.ts', import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', child, tmpDir('stg-full')], { encoding: 'utf8' })) as { refused: string; back: string[] };
    expect(out.refused).toMatch(/EFBIG|file too large|ENOSPC/i);
    expect(out.back).toEqual(Array.from({ length: 10 }, () => 'same'));
  });

  it('keeps a group whose commit failed, unacknowledged, and commits it once the fault clears; other episodes go on meanwhile', async () => {
    const dir = tmpDir('stg-retry');
    const clientId = `rec-${uniquePrefix().slice(-8)}`;
    const prefix = uniquePrefix();
    // A staging path that cannot be opened as a file: every commit of this episode fails (EISDIR).
    const blocked = join(dir, '.staging', `ep-stuck~${clientId}.part`);
    mkdirSync(blocked, { recursive: true });
    const rec = new Recorder({ mqttUrl: broker().url, outDir: dir, prefix, clientId, finalizeIntervalMs: 50 });
    const pub = await EpisodePublisher.open({ mqttUrl: broker().url, robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 100));
      const stuck = syntheticEpisode('rover', 'ep-stuck', 0, 2000, 100);
      const other = syntheticEpisode('rover', 'ep-other', 1, 1000, 100);
      for (const e of [stuck, other]) {
        pub.publishStart(e.start);
        for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
        pub.publishEnd(e.end);
      }
      await waitFor(() => rec.catalog.get('ep-other')?.status === 'complete', 10_000, 'the other episode stored meanwhile');
      expect(rec.stats().ingestErrors).toBeGreaterThanOrEqual(1);
      expect(rec.stats().lastError).toMatch(/EISDIR/);
      expect(rec.stats().waitingRetry).toBeGreaterThan(0); // held, unacknowledged, not dropped
      expect(rec.catalog.get('ep-stuck')?.status).not.toBe('complete');
      rmSync(blocked, { recursive: true }); // the fault clears
      await waitFor(() => rec.catalog.get('ep-stuck')?.status === 'complete', 15_000, 'the stuck episode stored after the retry');
      expect(await storedSeqs(rec.catalog.get('ep-stuck')!.file!)).toEqual(range(2000));
      expect(rec.stats().waitingRetry).toBe(0);
    } finally {
      await pub.close(500);
      await rec.close();
    }
  });

  it('writes an episode with a damaged staged batch as incomplete, with the gap counted, instead of retrying it forever', async () => {
    const dir = tmpDir('stg-bad');
    const cat = new Catalog(dir);
    const staging = new Staging(dir, 'rec-a');
    const ep = syntheticEpisode('rover', 'ep-rot', 0, 1000, 100);
    cat.ingest([
      { kind: 'start', robot: 'rover', episode: 'ep-rot', start: ep.start, json: JSON.stringify(ep.start) },
      ...ep.batches.map((b) => ({ kind: 'steps' as const, robot: 'rover', episode: b.episode, seq0: b.seq0, count: b.count, bytes: b.bytes })),
      { kind: 'end', robot: 'rover', episode: 'ep-rot', end: ep.end, json: JSON.stringify(ep.end) },
    ], staging);
    staging.close();
    cat.close();
    // One flipped byte inside the fourth batch (bit rot, or a torn write after a power cut).
    const file = join(dir, '.staging', readdirSync(join(dir, '.staging')).find((f) => f.startsWith('ep-rot~'))!);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([0x55]), 0, 1, Math.floor(3.5 * (ep.batches[0]!.bytes.byteLength + 40)));
    closeSync(fd);

    const rec = new Recorder({ mqttUrl: broker().url, outDir: dir, prefix: uniquePrefix(), finalizeIntervalMs: 50 });
    try {
      await waitFor(() => rec.catalog.get('ep-rot')?.status === 'incomplete', 10_000, 'the episode written as incomplete');
      const row = rec.catalog.get('ep-rot')!;
      expect({ steps: row.steps, missing: row.missing }).toEqual({ steps: 900, missing: 100 });
      expect(rec.stats()).toMatchObject({ unreadableBatches: 1, writeErrors: 0 });
      expect(rec.stats().lastError).toMatch(/staged batch at step 300 left out: .*crc/);
      const seqs: number[] = [];
      for await (const s of readEpisodeSteps(row.file!)) seqs.push(s.seq);
      expect(seqs).toEqual([...Array.from({ length: 300 }, (_, i) => i), ...Array.from({ length: 600 }, (_, i) => 400 + i)]);
    } finally {
      await rec.close();
    }
  });
});
