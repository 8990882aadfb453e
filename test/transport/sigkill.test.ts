import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Recorder } from '../../src/recorder/recorder.js';
import { startBlackholeProxy } from './blackhole-proxy.js';
import { brokersUnderTest, tmpDir, uniquePrefix, waitFor } from './helpers.js';
import { range, storedSeqs } from '../recorder/fixtures.js';

const CHILD = fileURLToPath(new URL('./fixtures/publish-child.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  last: Record<string, unknown>;
  exit: Promise<number | null>;
}

function runChild(args: object): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const c: Child = { proc, last: {}, exit: new Promise((r) => proc.once('exit', (code) => r(code))) };
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) c.last = JSON.parse(l) as Record<string, unknown>;
  });
  return c;
}

const brokers = brokersUnderTest();

describe.each(brokers)('daemon killed with SIGKILL while steps are unacknowledged (%s)', (_name, url) => {
  it('restarts, replays its outbox through a disconnect, and the store holds every step exactly once', async () => {
    const target = new URL(url());
    const proxy = await startBlackholeProxy(Number(target.port), target.hostname);
    const prefix = uniquePrefix();
    const outboxDir = tmpDir('ob');
    const rec = new Recorder({ mqttUrl: url(), outDir: tmpDir('rec'), prefix, finalizeIntervalMs: 50 });
    const steps = 20_000;
    const common = { url: proxy.url, prefix, robot: 'rover', outboxDir, episode: 'ep-kill', steps, batch: 50 };
    let a: Child | undefined;
    let b: Child | undefined;
    try {
      await waitFor(() => rec.stats().connected, 5000, 'recorder connected');
      await new Promise((r) => setTimeout(r, 100));
      a = runChild({ mode: 'publish', ...common });
      await waitFor(() => rec.stats().received > 20, 20_000, 'the first daemon to get some steps through');
      proxy.blackhole(); // what is in flight now stays unacknowledged
      await new Promise((r) => setTimeout(r, 300));
      a.proc.kill('SIGKILL');
      expect(await a.exit).toBe(null);
      expect(Number(a.last.pending)).toBeGreaterThan(0);
      expect(rec.catalog.get('ep-kill')?.status).toBe('recording');
      proxy.cut();
      proxy.restore();
      proxy.cutAfterBytes(1_000_000); // a disconnect in the middle of the replay
      b = runChild({ mode: 'replay', ...common });
      expect(await b.exit).toBe(0);
      expect(Number(b.last.replayedRecords)).toBeGreaterThan(0);
      expect(Number(b.last.reconnects)).toBeGreaterThanOrEqual(1);
      await waitFor(() => rec.catalog.get('ep-kill')?.status === 'complete', 15_000, 'episode complete after the restart');
      const row = rec.catalog.get('ep-kill')!;
      expect(row.steps).toBe(steps);
      expect(await storedSeqs(row.file!)).toEqual(range(steps));
    } finally {
      a?.proc.kill('SIGKILL');
      b?.proc.kill('SIGKILL');
      await rec.close();
      await proxy.close();
    }
  }, 60_000);
});
