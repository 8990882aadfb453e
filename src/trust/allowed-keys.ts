import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { RewarddError } from '../core/errors.js';
import { parsePublicKeyLine, publicKeyFromRaw } from './keys.js';

/**
 * The robot's list of operator keys allowed to sign reward pushes and e-stop
 * resets: `<stateDir>/allowed_keys`, one `ed25519 <base64> <name>` line per
 * key, `#` comments and blank lines ignored (like ssh's authorized_keys).
 *
 * Reloading: `refresh()` stats the file and re-reads it when its inode, size
 * or mtime changed; the verifier calls it before every check, so removing a
 * key takes effect on the next push without a restart (pushes are rare, one
 * stat each is nothing). `reload()` re-reads unconditionally (on demand, e.g.
 * SIGHUP). A missing file means no keys; a file that does not parse means no
 * keys either (fail closed: a broken file cannot tell which keys were revoked),
 * and `lastError` says why.
 */
export const ALLOWED_KEYS_FILE = 'allowed_keys';
/** Bounds: the file is read whole, so it is capped; 1 MiB holds ~10,000 keys. */
export const MAX_ALLOWED_KEYS_BYTES = 1024 * 1024;

export const defaultAllowedKeysPath = (stateDir: string): string => join(stateDir, ALLOWED_KEYS_FILE);

export interface AllowedKey {
  fingerprint: string;
  name: string;
  publicKey: KeyObject;
  /** 1-based line in the file, for messages. */
  line: number;
}

export function parseAllowedKeys(text: string, path: string): Map<string, AllowedKey> {
  const keys = new Map<string, AllowedKey>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    let parsed;
    try {
      parsed = parsePublicKeyLine(line);
    } catch (e) {
      throw new RewarddError('E_CONFIG', `${path}:${i + 1}: ${(e as Error).message.replace(/^E_CONFIG: /, '')}`);
    }
    // The first line for a key wins; a duplicate is harmless and keeps the first name.
    if (!keys.has(parsed.fingerprint)) keys.set(parsed.fingerprint, { fingerprint: parsed.fingerprint, name: parsed.name, publicKey: publicKeyFromRaw(parsed.publicKeyRaw), line: i + 1 });
  }
  return keys;
}

export class AllowedKeys {
  private keys = new Map<string, AllowedKey>();
  private stamp = '';
  private error: string | undefined;

  /** Throws E_CONFIG / E_FILE if the file exists but cannot be used, so a daemon fails at start, not at the first push. */
  constructor(readonly path: string) {
    this.reload();
    if (this.error !== undefined && this.stamp !== 'missing') throw new RewarddError('E_CONFIG', this.error);
  }

  /** Re-reads the file now. Returns the number of keys loaded. */
  reload(): number {
    let st;
    try {
      st = statSync(this.path);
    } catch (e) {
      this.keys = new Map();
      this.stamp = 'missing';
      this.error = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `allowed keys file ${this.path} does not exist (no key is allowed)` : `allowed keys file ${this.path}: ${(e as Error).message}`;
      return 0;
    }
    this.stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    try {
      if (st.size > MAX_ALLOWED_KEYS_BYTES) throw new RewarddError('E_CONFIG', `allowed keys file ${this.path}: expected at most ${MAX_ALLOWED_KEYS_BYTES} bytes, found ${st.size}`);
      this.keys = parseAllowedKeys(readFileSync(this.path, 'utf8'), this.path);
      this.error = undefined;
    } catch (e) {
      this.keys = new Map();
      this.error = (e as Error).message.replace(/^E_[A-Z_]+: /, '');
    }
    return this.keys.size;
  }

  /** Re-reads the file if it changed since the last read. True if it was re-read. */
  refresh(): boolean {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return false;
    this.reload();
    return true;
  }

  get(fingerprint: string): AllowedKey | undefined {
    return this.keys.get(fingerprint);
  }

  get size(): number {
    return this.keys.size;
  }

  list(): AllowedKey[] {
    return [...this.keys.values()];
  }

  /** Why the file yields no keys (missing or unparsable), if it does not. */
  get lastError(): string | undefined {
    return this.error;
  }
}
