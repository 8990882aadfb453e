/**
 * The e-stop latch on disk. An e-stop must survive a daemon crash or restart,
 * so it is written (and fsynced, then atomically renamed into place) before
 * estop() returns, and read when a filter starts. A latch file that exists but
 * cannot be read or parsed counts as latched: failing closed is the point.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { RewarddError } from '../core/errors.js';

export interface LatchState {
  latched: boolean;
  reason: string;
  /** Wall time of the trigger (or reset), ms since the epoch: for people, never for timing. */
  wallMs: number;
  /**
   * Who wrote the file when it was the daemon's own safety filter (`filter:<pid>`), absent for a
   * local command (`rewardd estop`, the dashboard's local reset): the daemon's latch watcher never
   * takes its filter's own writes for commands.
   */
  writer?: string;
}

/** The `writer` mark of this process's safety filter. */
export const filterWriter = (): string => `filter:${process.pid}`;

export const LATCH_SCHEMA = 'rewardd.estop/1';

export function readLatch(path: string): LatchState {
  if (!existsSync(path)) return { latched: false, reason: '', wallMs: 0 };
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (o.schema !== LATCH_SCHEMA || typeof o.latched !== 'boolean') throw new Error(`expected {"schema":"${LATCH_SCHEMA}","latched":bool}`);
    return { latched: o.latched, reason: typeof o.reason === 'string' ? o.reason : '', wallMs: typeof o.wallMs === 'number' ? o.wallMs : 0, ...(typeof o.writer === 'string' ? { writer: o.writer } : {}) };
  } catch (e) {
    return { latched: true, reason: `latch file ${path} unreadable (${(e as Error).message}); reset to clear`, wallMs: 0 };
  }
}

export function writeLatch(path: string, state: LatchState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ schema: LATCH_SCHEMA, ...state }) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    throw new RewarddError('E_FILE', `e-stop latch ${path}: expected a writable file, ${(e as Error).message}`);
  }
}
