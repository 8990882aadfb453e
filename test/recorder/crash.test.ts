import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Catalog } from '../../src/store/catalog.js';
import { embeddedBrokerForFile, tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { range, storedSeqs, syntheticEpisode } from './fixtures.js';

const CHILD = fileURLToPath(new URL('./fixtures/recorder-child.ts', import.meta.url));

function recorderProcess(args: object): { proc: ChildProcess; connected: () => boolean; exit: Promise<unknown> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let connected = false;
  proc.stdout!.on('data', (d: Buffer) => {
    if (d.toString().includes('"connected":true')) connected = true;
  });
  return { proc, connected: () => connected, exit: new Promise((r) => proc.once('exit', r)) };
}

const embedded = embeddedBrokerForFile();

describe('recorder killed with SIGKILL mid-episode', () => {
  it('leaves no corrupt file, and once restarted (same client id) stores every step exactly once', async () => {
    const prefix = uniquePrefix();
    const out = tmpDir('rec');
    const args = { url: embedded().url, out, prefix, clientId: `rec-${prefix.slice(-10)}` };
    const pub = await EpisodePublisher.open({ mqttUrl: embedded().url, robot: 'rover', prefix, outboxDir: tmpDir('ob') });
    let a = recorderProcess(args);
    let b: ReturnType<typeof recorderProcess> | undefined;
    try {
      await waitFor(() => a.connected(), 15_000, 'first recorder connected');
      await new Promise((r) => setTimeout(r, 200));
      const e = syntheticEpisode('rover', 'ep-crash', 0, 4000, 50);
      pub.publishStart(e.start);
      const half = e.batches.length / 2;
      for (const x of e.batches.slice(0, half)) pub.publishBatch(x.episode, x.seq0, x.count, x.bytes);
      await waitFor(() => pub.stats().published === 2000, 10_000, 'first half acked by the broker');
      const cat = new Catalog(out);
      await waitFor(() => cat.pending().some((p) => p.stagedSteps === 2000), 10_000, 'first half staged');
      a.proc.kill('SIGKILL');
      await a.exit;
      // While no recorder runs, the rest queues in the broker session.
      for (const x of e.batches.slice(half)) pub.publishBatch(x.episode, x.seq0, x.count, x.bytes);
      pub.publishEnd(e.end);
      await waitFor(() => pub.stats().pending === 0, 10_000, 'second half acked by the broker');
      expect(readdirSync(join(out)).filter((f) => f.endsWith('.mcap'))).toEqual([]);
      b = recorderProcess(args);
      await waitFor(() => cat.get('ep-crash')?.status === 'complete', 20_000, 'episode complete after the restart');
      const row = cat.get('ep-crash')!;
      expect(row.steps).toBe(4000);
      expect(await storedSeqs(row.file!)).toEqual(range(4000));
      expect(readdirSync(join(out, 'rover')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      await waitFor(() => readdirSync(join(out, '.staging')).length === 0, 5000, 'staging cleaned up');
      cat.close();
    } finally {
      a.proc.kill('SIGKILL');
      b?.proc.kill('SIGKILL');
      await pub.close(200);
    }
  }, 60_000);
});
