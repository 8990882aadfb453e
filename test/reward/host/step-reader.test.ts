import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monotonicMs } from '../../../src/reward/host/wire.js';
import { until } from '../../helpers/wait.js';

/**
 * The live host's request reader, in a process of its own as in a host: while steps come at a
 * steady rate it must not be waiting inside read() when the next one is written (a write to a
 * pipe with a sleeping reader makes the writer, the tick thread, pay for the wake-up). The
 * kernel says where a thread waits: /proc/PID/wchan names `pipe_read` (`anon_pipe_read` on newer kernels) while it blocks in read().
 */
const dir = mkdtempSync(join(tmpdir(), 'rewardd-step-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One step as the child reads it: the time it was sent. */
const step = (): Buffer => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(monotonicMs());
  return b;
};
const spinUntil = (t: number): void => {
  while (performance.now() < t) {
    /* pace the writes at 1 kHz */
  }
};

describe('StepReader', () => {
  it('at 1 kHz the reader is seldom blocked in read() when a step is written; idle, it blocks; EOF ends it', async () => {
    const fifo = join(dir, 'steps');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    // The control thread's end: read-write and non-blocking, opened first (live-reward.ts).
    const w = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const log = join(dir, 'read.log');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'step-reader-child.ts'), fifo, log], { stdio: ['ignore', 'ignore', 'inherit'] });
    const lines = (): string[] => {
      try {
        return readFileSync(log, 'utf8').split('\n').slice(0, -1);
      } catch {
        return []; // not created yet
      }
    };
    const wchan = (): string => readFileSync(`/proc/${child.pid}/wchan`, 'utf8');
    const sent = (): number => Number(lines().at(-1) ?? 0);
    try {
      writeSync(w, step());
      await until(() => sent() === 1, 'the reader to start and read the first step', 20_000);
      // 2,000 steps at 1 kHz; before each of the last 1,500, where is the reader?
      let blocked = 0;
      let looked = 0;
      let next = performance.now();
      for (let i = 0; i < 2000; i++) {
        spinUntil((next += 1));
        if (i >= 500) {
          looked++;
          if (wchan().includes('pipe_read')) blocked++;
        }
        writeSync(w, step());
      }
      await until(() => sent() === 2001, 'every step read', 10_000);
      // A blocking reader is in pipe_read before nearly every write; this one sleeps and looks.
      expect(blocked / looked, `${blocked} of ${looked} writes found the reader blocked in read()`).toBeLessThan(0.5);
      // Steps stop (a reset phase, a retired version): after a few periods it blocks, costing nothing.
      await until(() => wchan().includes('pipe_read'), 'the idle reader to block in read()', 5_000);
      writeSync(w, Buffer.concat([step(), step(), step()]));
      await until(() => sent() === 2004, 'a step after the pause', 5_000);
    } finally {
      closeSync(w);
    }
    // The control thread closed its end: EOF, and the reader ends.
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(0);
    expect(lines().at(-1)).toBe('eof');
  }, 60_000);
});
