import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Catalog } from '../../src/store/catalog.js';
import { Staging } from '../../src/store/staging.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { readEpisodeSteps } from '../../src/recorder/episode-reader.js';
import { embeddedBrokerForFile, tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { syntheticEpisode } from './fixtures.js';

const broker = embeddedBrokerForFile();

describe('recorder staging under a full or damaged disk', () => {
  it('a group cut short by a full disk is refused whole, and what is staged afterwards reads back intact', () => {
    const child = fileURLToPath(new URL('./fixtures/staging-disk-full-child.ts', import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', child, tmpDir('stg-full')], { encoding: 'utf8' })) as { refused: string; back: string[] };
    expect(out.refused).toMatch(/EFBIG|file too large|ENOSPC/i);
    expect(out.back).toEqual(Array.from({ length: 10 }, () => 'same'));
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
