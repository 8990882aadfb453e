import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { sha256Hex } from '../core/hash.js';

/**
 * Watches the active reward file. Editors save by rename, so the folder is
 * watched, not the file; bursts of events are debounced, and only a change of
 * content (by hash) is offered, so touching the file does nothing.
 *
 * With `signaturePath` (--reward-file-auth signed) the signature file beside it
 * is watched too and is part of what counts as a change: an edit refused for
 * its signature is offered again when it is re-signed (`rewardd keys sign`
 * writes only the .sig), which it was not while only the source was compared.
 */
export class RewardFileWatcher {
  private readonly watcher: FSWatcher;
  private timer: NodeJS.Timeout | null = null;
  private lastKey: string;

  constructor(
    private readonly path: string,
    initialSource: string,
    private readonly onChange: (source: string) => void,
    debounceMs = 200,
    private readonly signaturePath?: string,
  ) {
    this.lastKey = this.keyOf(initialSource);
    const names = new Set([basename(path), ...(signaturePath !== undefined && dirname(signaturePath) === dirname(path) ? [basename(signaturePath)] : [])]);
    this.watcher = watch(dirname(path), (_event, file) => {
      if (file !== null && !names.has(file)) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), debounceMs);
    });
  }

  private keyOf(source: string): string {
    if (this.signaturePath === undefined) return sha256Hex(source);
    let sig = '';
    try {
      sig = readFileSync(this.signaturePath, 'utf8');
    } catch {
      // no signature yet: the policy refuses the file and says so
    }
    return `${sha256Hex(source)}:${sha256Hex(sig)}`;
  }

  private check(): void {
    let source: string;
    try {
      source = readFileSync(this.path, 'utf8');
    } catch {
      return; // mid-rename: the next event brings the new file
    }
    const k = this.keyOf(source);
    if (k === this.lastKey) return;
    this.lastKey = k;
    this.onChange(source);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher.close();
  }
}
