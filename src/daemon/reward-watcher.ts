import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { sha256Hex } from '../core/hash.js';

/**
 * Watches the active reward file. Editors save by rename, so the folder is
 * watched, not the file; bursts of events are debounced, and only a change of
 * content (by hash) is offered, so touching the file does nothing.
 */
export class RewardFileWatcher {
  private readonly watcher: FSWatcher;
  private timer: NodeJS.Timeout | null = null;
  private lastHash: string;

  constructor(
    private readonly path: string,
    initialSource: string,
    private readonly onChange: (source: string) => void,
    debounceMs = 200,
  ) {
    this.lastHash = sha256Hex(initialSource);
    const name = basename(path);
    this.watcher = watch(dirname(path), (_event, file) => {
      if (file !== null && file !== name) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), debounceMs);
    });
  }

  private check(): void {
    let source: string;
    try {
      source = readFileSync(this.path, 'utf8');
    } catch {
      return; // mid-rename: the next event brings the new file
    }
    const h = sha256Hex(source);
    if (h === this.lastHash) return;
    this.lastHash = h;
    this.onChange(source);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
  }
}
