import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Catalog } from '../../src/store/catalog.js';
import { Staging } from '../../src/store/staging.js';
import { IngestQueue, resolveGroupCommit } from '../../src/store/ingest-queue.js';
import { parseRecord } from '../../src/outbox/record-format.js';
import type { RecorderStats } from '../../src/recorder/recorder.js';
import { embeddedBrokerForFile, tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { range, storedSeqs, syntheticEpisode } from './fixtures.js';

const CHILD = fileURLToPath(new URL('./fixtures/recorder-child.ts', import.meta.url));

function recorderProcess(args: object): { proc: ChildProcess; stats: () => RecorderStats | undefined; exit: Promise<unknown> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last: RecorderStats | undefined;
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) last = JSON.parse(l) as RecorderStats;
  });
  return { proc, stats: () => last, exit: new Promise((r) => proc.once('exit', r)) };
}

const embedded = embeddedBrokerForFile();

describe('recorder group commit', () => {
  it('holds every PUBACK until its group is staged: a SIGKILL before the commit loses nothing and stores nothing twice', async () => {
    const prefix = uniquePrefix();
    const out = tmpDir('rec');
    const clientId = `rec-${prefix.slice(-10)}`;
    const pub = await EpisodePublisher.open({ mqttUrl: embedded().url, robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    // A group that never commits by itself: received messages stay unacknowledged until the kill.
    let a = recorderProcess({ url: embedded().url, out, prefix, clientId, groupCommit: { maxMessages: 10_000, maxBytes: 1 << 30, maxDelayMs: 600_000 } });
    let b: ReturnType<typeof recorderProcess> | undefined;
    try {
      await waitFor(() => a.stats()?.connected === true, 15_000, 'first recorder connected');
      await new Promise((r) => setTimeout(r, 200));
      const e = syntheticEpisode('rover', 'ep-group', 0, 3000, 100);
      pub.publishStart(e.start);
      const first = e.batches.slice(0, 10);
      for (const x of first) pub.publishBatch(x.episode, x.seq0, x.count, x.bytes);
      await waitFor(() => a.stats()?.received === 11, 10_000, 'first records received by the recorder');
      await new Promise((r) => setTimeout(r, 300));
      expect(a.stats()?.committed).toBe(0);
      const peek = new Catalog(out);
      expect(peek.pending().reduce((n, p) => n + p.stagedSteps, 0)).toBe(0); // nothing staged, so nothing may be acknowledged
      peek.close();
      // Had the recorder acknowledged these, the broker would have let them go and the restarted
      // recorder would miss steps 0..999: the store below has them only if the broker resends them.
      a.proc.kill('SIGKILL');
      await a.exit;
      for (const x of e.batches.slice(10)) pub.publishBatch(x.episode, x.seq0, x.count, x.bytes);
      pub.publishEnd(e.end);
      b = recorderProcess({ url: embedded().url, out, prefix, clientId });
      const cat = new Catalog(out);
      await waitFor(() => cat.get('ep-group')?.status === 'complete', 20_000, 'episode complete after the restart');
      const row = cat.get('ep-group')!;
      expect(row.steps).toBe(3000);
      expect(row.missing).toBe(0);
      expect(await storedSeqs(row.file!)).toEqual(range(3000));
      await waitFor(() => pub.stats().pending === 0, 10_000, 'every record acknowledged');
      cat.close();
    } finally {
      a.proc.kill('SIGKILL');
      b?.proc.kill('SIGKILL');
      await pub.close(200);
    }
  }, 60_000);

  it('stages a group with one write per file in outbox framing, once per (episode, seq0) even within the group', () => {
    const out = mkdtempSync(join(tmpdir(), 'rewardd-gc-'));
    try {
      const cat = new Catalog(out);
      const staging = new Staging(out, 'rec-a');
      const e = syntheticEpisode('rover', 'ep-one', 0, 300, 100);
      const f = syntheticEpisode('rover', 'ep-two', 1, 200, 100);
      const steps = (x: (typeof e.batches)[number]) => ({ kind: 'steps' as const, robot: 'rover', episode: x.episode, seq0: x.seq0, count: x.count, bytes: x.bytes });
      const group = [steps(e.batches[0]!), steps(f.batches[0]!), steps(e.batches[1]!), steps(e.batches[0]!), steps(f.batches[1]!)];
      expect(cat.ingest(group, staging)).toBe(4);
      expect(cat.ingest([steps(e.batches[1]!), steps(e.batches[2]!)], staging)).toBe(1);
      const back = [...cat.stagedBatches('ep-one', staging)].map((x) => Buffer.from('bytes' in x ? x.bytes : new Uint8Array(0)));
      expect(back).toEqual(e.batches.map((x) => Buffer.from(x.bytes)));
      // The staging file is a sequence of valid outbox records (torn-tail and CRC checks apply).
      const file = readFileSync(join(out, '.staging', 'ep-two~rec-a.part'));
      const first = parseRecord(file, 0);
      expect(first.ok && Buffer.from(first.record.payload).equals(Buffer.from(f.batches[0]!.bytes))).toBe(true);
      const second = first.ok ? parseRecord(file, first.record.size) : first;
      expect(second.ok && second.record.size + (first.ok ? first.record.size : 0)).toBe(file.length);
      staging.close();
      cat.close();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('reopens an episode whose incomplete file missed batches staged while it was being written', () => {
    const out = tmpDir('gc-late');
    const cat = new Catalog(out);
    const staging = new Staging(out, 'rec-a');
    const e = syntheticEpisode('rover', 'ep-w', 0, 500, 100);
    const steps = (x: (typeof e.batches)[number]) => ({ kind: 'steps' as const, robot: 'rover', episode: x.episode, seq0: x.seq0, count: x.count, bytes: x.bytes });
    const summary = { file: join(out, 'ep-w.mcap'), missing: 0, return: 0, returnByTerm: {}, success: false, rewardVersions: [], startedWallMs: undefined, endedWallMs: undefined };
    cat.ingest(e.batches.slice(0, 2).map(steps), staging);
    const activity = (): number => cat.pending().find((p) => p.episode === 'ep-w')!.activity;
    const claimed = activity();
    expect(cat.claim('ep-w', 'rec-a', 1)).toBe(true); // the writer reads 2 rows ...
    cat.ingest([steps(e.batches[2]!)], staging); // ... while a late batch is staged
    expect(cat.finish('ep-w', { ...summary, status: 'incomplete', steps: 200 }, claimed)).toBe('recording');
    expect(cat.pending().find((p) => p.episode === 'ep-w')?.stagedSteps).toBe(300); // the rewrite has all three
    const again = activity();
    expect(cat.claim('ep-w', 'rec-a', 2)).toBe(true);
    expect(cat.finish('ep-w', { ...summary, status: 'incomplete', steps: 300 }, again)).toBe('incomplete');
    expect(cat.purgeIncomplete(3)).toEqual(['ep-w']); // past retention: its staged rows go
    expect(cat.purgeIncomplete(3)).toEqual([]);
    staging.close();
    cat.close();
  });

  it('reopens an incomplete episode whose end record came while its file was written, and not for a replayed end', () => {
    const out = tmpDir('gc-end');
    const cat = new Catalog(out);
    const staging = new Staging(out, 'rec-a');
    const e = syntheticEpisode('rover', 'ep-e', 0, 300, 100);
    const steps = (x: (typeof e.batches)[number]) => ({ kind: 'steps' as const, robot: 'rover', episode: x.episode, seq0: x.seq0, count: x.count, bytes: x.bytes });
    const end = { kind: 'end' as const, robot: 'rover', episode: 'ep-e', end: e.end, json: JSON.stringify(e.end) };
    const summary = { file: join(out, 'ep-e.mcap'), missing: 0, return: 0, returnByTerm: {}, success: false, rewardVersions: [], startedWallMs: undefined, endedWallMs: undefined };
    cat.ingest(e.batches.map(steps), staging);
    const activity = cat.pending().find((p) => p.episode === 'ep-e')!.activity;
    expect(cat.claim('ep-e', 'rec-a', 1)).toBe(true); // timed out without its end: written as incomplete ...
    cat.ingest([end], staging); // ... while the end record arrives
    expect(cat.finish('ep-e', { ...summary, status: 'incomplete', steps: 300 }, activity)).toBe('recording');
    const p = cat.pending().find((x) => x.episode === 'ep-e')!;
    expect({ hasEnd: p.hasEnd, staged: p.stagedSteps, expected: p.expectedSteps }).toEqual({ hasEnd: true, staged: 300, expected: 300 }); // ready: the next pass writes it complete
    expect(cat.claim('ep-e', 'rec-a', 2)).toBe(true);
    expect(cat.finish('ep-e', { ...summary, status: 'incomplete', steps: 300 }, p.activity)).toBe('incomplete'); // (say it still came out incomplete)
    cat.ingest([end, steps(e.batches[0]!)], staging); // replays of what it has: nothing new
    expect(cat.get('ep-e')!.status).toBe('incomplete');
    staging.close();
    cat.close();
  });

  it('gives up on a record SQLite can never store, instead of holding its episode (and at Receive Maximum the session) forever', async () => {
    const out = tmpDir('gc-poison');
    const cat = new Catalog(out);
    const staging = new Staging(out, 'rec-a');
    const errors: string[] = [];
    const q = new IngestQueue(cat, staging, resolveGroupCommit({ maxDelayMs: 1 }), (e) => errors.push(e.message));
    const e = syntheticEpisode('rover', 'ep-p', 0, 200, 100);
    let released = 0;
    const poisoned = { ...e.end, steps: true } as unknown as typeof e.end; // got past the recorder's checks somehow
    q.push({ kind: 'start', robot: 'rover', episode: 'ep-p', start: e.start, json: JSON.stringify(e.start) }, () => released++);
    q.push({ kind: 'end', robot: 'rover', episode: 'ep-p', end: poisoned, json: JSON.stringify(poisoned) }, () => released++);
    for (const b of e.batches) q.push({ kind: 'steps', robot: 'rover', episode: 'ep-p', seq0: b.seq0, count: b.count, bytes: b.bytes }, () => released++);
    await waitFor(() => released === 4, 5000, 'every record released');
    expect(q.stats()).toMatchObject({ refused: 1, committed: 3, waitingRetry: 0 });
    expect(errors.some((m) => /record of episode ep-p \(end\) cannot be stored and was dropped: SQLite3 can only bind/.test(m))).toBe(true);
    expect(cat.pending().find((p) => p.episode === 'ep-p')).toMatchObject({ hasStart: true, stagedSteps: 200 });
    q.close();
    staging.close();
    cat.close();
  });

  it('rejects bad group-commit bounds with a clear message', () => {
    expect(() => resolveGroupCommit({ maxMessages: 0 })).toThrow(/maxMessages: expected an integer >= 1, found 0/);
    expect(() => resolveGroupCommit({ maxDelayMs: -1 })).toThrow(/maxDelayMs: expected a number >= 0/);
  });
});
