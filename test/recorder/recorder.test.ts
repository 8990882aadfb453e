import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { readEpisodeInfo, readEpisodeSteps } from '../../src/recorder/episode-reader.js';
import { brokersUnderTest, tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { range, storedSeqs, syntheticEpisode } from './fixtures.js';

const brokers = brokersUnderTest();

describe.each(brokers)('recorder against %s', (_name, url) => {
  it('stores each episode as one MCAP file with every step once, in order, and catalogs it', async () => {
    const prefix = uniquePrefix();
    const out = tmpDir('rec');
    const rec = new Recorder({ mqttUrl: url(), outDir: out, prefix, finalizeIntervalMs: 50 });
    await waitFor(() => rec.stats().connected, 5000, 'recorder connected');
    await new Promise((r) => setTimeout(r, 100)); // let the SUBSCRIBE land
    const pub = await EpisodePublisher.open({ mqttUrl: url(), robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    const eps = [syntheticEpisode('rover', 'ep-a', 0, 250, 64), syntheticEpisode('rover', 'ep-b', 1, 130, 64)];
    for (const e of eps) {
      pub.publishStart(e.start);
      for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      // A replayed batch (as after a restart) must not be stored twice.
      const again = e.batches[1]!;
      pub.publishBatch(again.episode, again.seq0, again.count, again.bytes);
      pub.publishEnd(e.end);
    }
    await waitFor(() => rec.catalog.list({ status: 'complete' }).length === 2, 10000, 'two complete episodes');
    for (const e of eps) {
      const row = rec.catalog.get(e.start.episode)!;
      expect(row).toMatchObject({ robot: 'rover', status: 'complete', steps: e.end.steps, missing: 0, rewardHash: 'reward000001', policyHash: 'policy000001', calibrationHash: 'calib0000001' });
      expect(row.return).toBeCloseTo(e.end.return, 6);
      expect(row.returnByTerm.progress).toBeGreaterThan(0);
      expect(existsSync(row.file!)).toBe(true);
      const seqs: number[] = [];
      for await (const s of readEpisodeSteps(row.file!)) {
        expect(s.obs[0]).toBe(s.seq);
        expect(s.obs[1]).toBe(e.start.index);
        expect(s.rewardTerms.progress).toBeCloseTo(s.seq / 1000, 12);
        expect(s.rewardVersion).toBe('reward000001');
        expect(Array.from(s.actionApplied)).toEqual([Math.fround(0.1), Math.fround(-0.1)]);
        seqs.push(s.seq);
      }
      expect(seqs).toEqual(Array.from({ length: e.end.steps }, (_, i) => i));
      const info = await readEpisodeInfo(row.file!);
      expect(info.start?.reward.content).toBe(e.start.reward.content);
      expect(info.end?.steps).toBe(e.end.steps);
      expect(info.metadata.status).toBe('complete');
    }
    // No temporary files are left behind.
    expect(readdirSync(join(out, 'rover')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await pub.close();
    await rec.close();
  });

  it('counts and acknowledges messages it can never store, and stores the rest of the episode', async () => {
    const prefix = uniquePrefix();
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50 });
    const pub = await EpisodePublisher.open({ mqttUrl: url(), robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    const raw = await mqtt.connectAsync(url());
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 100));
      const e = syntheticEpisode('rover', 'ep-bad-end', 0, 200, 100);
      pub.publishStart(e.start);
      for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      // Not from rewardd: an end record whose JSON parses but whose steps is not a number, garbage on a steps topic.
      await raw.publishAsync(`${prefix}/rover/episodes/ep-bad-end/end`, JSON.stringify({ ...e.end, steps: true }), { qos: 1 });
      await raw.publishAsync(`${prefix}/rover/episodes/ep-bad-end/steps`, Buffer.from('not a batch'), { qos: 1 });
      // And one the episode file could not be built from (no endedWallMs): refused at once, not retried on every pass.
      const { endedWallMs: _drop, ...noWallTime } = e.end;
      await raw.publishAsync(`${prefix}/rover/episodes/ep-bad-end/end`, JSON.stringify(noWallTime), { qos: 1 });
      await waitFor(() => rec.stats().badMessages === 3, 5000, 'the three bad messages counted');
      expect(rec.stats().lastError).toMatch(/bad message on .*\/end: endedWallMs: expected a number, found nothing/);
      pub.publishEnd(e.end); // the real end record
      await waitFor(() => rec.catalog.get('ep-bad-end')?.status === 'complete', 10_000, 'the episode complete');
      expect(await storedSeqs(rec.catalog.get('ep-bad-end')!.file!)).toEqual(range(200));
    } finally {
      await raw.endAsync();
      await pub.close();
      await rec.close();
    }
  });

  it('closes an episode with no end record as incomplete after the timeout', async () => {
    const prefix = uniquePrefix();
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50, incompleteTimeoutMs: 300 });
    await waitFor(() => rec.stats().connected, 5000, 'recorder connected');
    await new Promise((r) => setTimeout(r, 100));
    const pub = await EpisodePublisher.open({ mqttUrl: url(), robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    const e = syntheticEpisode('rover', 'ep-cut', 0, 150, 50);
    pub.publishStart(e.start);
    for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
    await waitFor(() => rec.catalog.get('ep-cut')?.status === 'incomplete', 10000, 'incomplete episode');
    const row = rec.catalog.get('ep-cut')!;
    expect(row.steps).toBe(150);
    let n = 0;
    for await (const _ of readEpisodeSteps(row.file!)) n++;
    expect(n).toBe(150);
    await pub.close();
    await rec.close();
  });

  it('reopens an episode written as incomplete when the rest arrives late (an outage longer than the timeout) and writes it again, complete', async () => {
    const prefix = uniquePrefix();
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50, incompleteTimeoutMs: 300 });
    const pub = await EpisodePublisher.open({ mqttUrl: url(), robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 100));
      const e = syntheticEpisode('rover', 'ep-late', 0, 1000, 100);
      pub.publishStart(e.start);
      for (const b of e.batches.slice(0, 3)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      await waitFor(() => rec.catalog.get('ep-late')?.status === 'incomplete', 10_000, 'written as incomplete after the timeout');
      expect(rec.catalog.get('ep-late')!.steps).toBe(300);
      for (const b of e.batches.slice(3)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      pub.publishEnd(e.end);
      await waitFor(() => rec.catalog.get('ep-late')?.status === 'complete', 10_000, 'reopened and written complete');
      const row = rec.catalog.get('ep-late')!;
      expect({ steps: row.steps, missing: row.missing }).toEqual({ steps: 1000, missing: 0 });
      expect(await storedSeqs(row.file!)).toEqual(range(1000));
      expect(rec.stats().lateDropped).toBe(0);
    } finally {
      await pub.close();
      await rec.close();
    }
  });

  it('drops and counts late records once an incomplete episode is past its retention, keeping the file it has', async () => {
    const prefix = uniquePrefix();
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50, incompleteTimeoutMs: 300, incompleteRetentionMs: 0 });
    const pub = await EpisodePublisher.open({ mqttUrl: url(), robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    try {
      await waitFor(() => rec.stats().connected && pub.stats().connected, 5000, 'both connected');
      await new Promise((r) => setTimeout(r, 100));
      const e = syntheticEpisode('rover', 'ep-gone', 0, 500, 100);
      pub.publishStart(e.start);
      for (const b of e.batches.slice(0, 2)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      await waitFor(() => rec.catalog.get('ep-gone')?.status === 'incomplete', 10_000, 'written as incomplete');
      await new Promise((r) => setTimeout(r, 200)); // a finalize pass purges its staging (retention 0)
      for (const b of e.batches.slice(2)) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
      pub.publishEnd(e.end);
      await waitFor(() => rec.stats().lateDropped === 4, 10_000, 'the late records counted');
      const row = rec.catalog.get('ep-gone')!;
      expect({ status: row.status, steps: row.steps }).toEqual({ status: 'incomplete', steps: 200 });
      expect(await storedSeqs(row.file!)).toEqual(range(200));
    } finally {
      await pub.close();
      await rec.close();
    }
  });
});
