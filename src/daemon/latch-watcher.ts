import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { filterWriter, readLatch } from '../safety/latch.js';

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

  /**
   * The file as it was when the last stop was noted (before the filter wrote the stop into it): the
   * same "not latched" content read again later is that old file, not a new reset. Compared by
   * content (its wallMs and reason), not by clock, so a wall clock stepped back (NTP) cannot make a
   * genuine reset look old.
   */
  private staleAtStop: string | null = null;

  /** What the filter holds now (the daemon calls this whenever it latches or resets, by any route). */
  note(latched: boolean): void {
    this.latched = latched;
    // readLatch never throws: an unreadable file reads as latched, which no reset matches.
    if (latched) this.staleAtStop = JSON.stringify(readLatch(this.path));
  }

  private check(): void {
    let l;
    try {
      l = readLatch(this.path);
    } catch {
      return; // mid-write: the rename brings another event
    }
    // The filter's own writes (this process's) are never commands: read back late, between two of
    // them (a reset then a stop, each written more than the debounce apart on a slow disk), one
    // used to be taken for a local reset and undid the stop.
    if (l.writer === filterWriter()) return;
    if (l.latched === this.latched) return;
    // A stop noted from another route may not be in the file yet (the filter writes it on its own
    // thread): the file's older "not latched" must not undo it. A reset counts only when the file
    // was written since the stop (its content differs from what it held then).
    if (!l.latched && JSON.stringify(l) === this.staleAtStop) return;
    this.latched = l.latched;
    this.onChange(l.latched, l.reason || 'latch file');
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
  }
}
