import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { encodeRecord, parseRecord, RecordKind } from '../outbox/record-format.js';

/**
 * Received batch bytes, staged on disk until their episode's MCAP file is
 * written: one append-only file per (episode, recorder) under <out>/.staging
 * named `<episode>~<recorder>.part` ('~' never occurs in an episode id),
 * framed and checksummed like the outbox. The catalog keeps only where each
 * batch is (file, offset, length), so a large batch costs one write(), not a
 * blob in the SQLite WAL and again at its checkpoint.
 * Bound: at most MAX_OPEN files open at once (least recently used are closed).
 */
const MAX_OPEN = 64;

export class Staging {
  readonly dir: string;
  private readonly open = new Map<string, { fd: number; size: number }>();
  private seq = 0;

  constructor(outDir: string, private readonly owner: string) {
    this.dir = join(outDir, '.staging');
    mkdirSync(this.dir, { recursive: true });
  }

  private fileFor(episode: string): string {
    return `${episode}~${this.owner.replace(/[^A-Za-z0-9_-]/g, '_')}.part`;
  }

  /** Appends one batch; returns where it is. Synchronous: the caller acknowledges after it. */
  append(episode: string, bytes: Uint8Array): { file: string; offset: number; length: number } {
    const file = this.fileFor(episode);
    let f = this.open.get(file);
    if (f) {
      this.open.delete(file); // re-insert: most recently used last
    } else {
      if (this.open.size >= MAX_OPEN) {
        const [oldest, of] = this.open.entries().next().value as [string, { fd: number }];
        closeSync(of.fd);
        this.open.delete(oldest);
      }
      const fd = openSync(join(this.dir, file), 'a+');
      f = { fd, size: fstatSync(fd).size }; // 'a+' appends at the end: the next frame lands there
    }
    this.open.set(file, f);
    const frame = encodeRecord(++this.seq, { kind: RecordKind.steps, topic: episode, steps: 0, payload: bytes });
    writeSync(f.fd, frame);
    const at = { file, offset: f.size, length: frame.length };
    f.size += frame.length;
    return at;
  }

  read(file: string, offset: number, length: number): Uint8Array {
    const buf = Buffer.allocUnsafe(length);
    const fd = this.open.get(file)?.fd ?? openSync(join(this.dir, file), 'r');
    try {
      readSync(fd, buf, 0, length, offset);
    } finally {
      if (!this.open.has(file)) closeSync(fd);
    }
    const r = parseRecord(buf, 0);
    if (!r.ok) throw new RewarddError('E_STORE', `staged batch ${file}@${offset}: expected a valid record, found ${r.reason}`);
    return r.record.payload;
  }

  /** Deletes every recorder's staging files of an episode. */
  remove(episode: string): void {
    for (const [file, f] of this.open) {
      if (file.startsWith(`${episode}~`)) {
        closeSync(f.fd);
        this.open.delete(file);
      }
    }
    for (const file of readdirSync(this.dir)) {
      if (file.startsWith(`${episode}~`) && file.endsWith('.part')) {
        try {
          unlinkSync(join(this.dir, file));
        } catch {
          // Another recorder of the group removed it first.
        }
      }
    }
  }

  /** Episodes that have staging files (any recorder's). */
  episodes(): string[] {
    return [...new Set(readdirSync(this.dir).filter((f) => f.endsWith('.part') && f.includes('~')).map((f) => f.slice(0, f.indexOf('~'))))];
  }

  close(): void {
    for (const f of this.open.values()) closeSync(f.fd);
    this.open.clear();
  }
}
