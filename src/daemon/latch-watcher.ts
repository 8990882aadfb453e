import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readLatch } from '../safety/latch.js';

/**
 * Watches the e-stop latch file for changes made by a local action on the
 * robot (`rewardd estop stop|reset`, the dashboard's local reset). Acts when
 * the file's latched flag differs from what the safety filter holds, which
 * the daemon tells it (note()) on every stop and reset from any route: the
 * filter re-writing the file it owns then does not echo back as a command,
 * and a stop followed within the debounce by a local reset still resets.
 */
export class LatchFileWatcher {
  private readonly watcher: FSWatcher;
  private latched: boolean;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly path: string,
    private readonly onChange: (latched: boolean, reason: string) => void,
    debounceMs = 50,
  ) {
    this.latched = readLatch(path).latched;
    const name = basename(path);
    this.watcher = watch(dirname(path), (_e, file) => {
      if (file !== null && file !== name) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), debounceMs);
    });
  }

  /** Wall time of the last stop noted: a reset in the file counts only if written after it. */
  private stoppedAtMs = -Infinity;

  /** What the filter holds now (the daemon calls this whenever it latches or resets, by any route). */
  note(latched: boolean): void {
    this.latched = latched;
    if (latched) this.stoppedAtMs = Date.now();
  }

  private check(): void {
    let l;
    try {
      l = readLatch(this.path);
    } catch {
      return; // mid-write: the rename brings another event
    }
    if (l.latched === this.latched) return;
    // A stop noted from another route may not be in the file yet (the filter writes it on its own
    // thread): the file's older "not latched" must not undo it. A reset counts only when it was
    // written after the stop (its wallMs; strictly, so a tie keeps the robot stopped).
    if (!l.latched && !(l.wallMs > this.stoppedAtMs)) return;
    this.latched = l.latched;
    this.onChange(l.latched, l.reason || 'latch file');
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
  }
}
