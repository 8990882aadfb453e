import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { processAlive } from '../core/process-alive.js';

/**
 * One writer per outbox directory: two daemons appending to the same segments
 * would interleave records and replay each other's. The lock file holds the
 * owner's pid; a lock whose process is gone (SIGKILL, power cut) is taken over.
 */
const held = new Set<string>();

export function lockDir(dir: string): () => void {
  const key = resolve(dir);
  const file = join(dir, 'lock');
  if (held.has(key)) throw new RewarddError('E_OUTBOX', `outbox ${dir}: expected no other user, found it open in this process`);
  mkdirSync(dir, { recursive: true });
  let pid = NaN;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    // No lock yet.
  }
  if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
    throw new RewarddError('E_OUTBOX', `outbox ${dir}: expected no other user, found it locked by running process ${pid}`);
  }
  writeFileSync(file, String(process.pid));
  held.add(key);
  return () => {
    held.delete(key);
    try {
      unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
}
