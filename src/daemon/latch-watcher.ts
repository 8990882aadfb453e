import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readLatch } from '../safety/latch.js';

/**
 * Watches the e-stop latch file for changes made by a local action on the
 * robot (`rewardd estop stop|reset`). Acts only on a *transition* of the
 * latched flag, so the safety filter re-writing the file it owns does not
 * echo back as a command.
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

  private check(): void {
    let l;
    try {
      l = readLatch(this.path);
    } catch {
      return; // mid-write: the rename brings another event
    }
    if (l.latched === this.latched) return;
    this.latched = l.latched;
    this.onChange(l.latched, l.reason || 'latch file');
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
  }
}
