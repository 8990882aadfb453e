import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import { writevAllSync } from '../core/write-all.js';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { RecordKind, encodeRecordHead, parseRecord } from '../outbox/record-format.js';

/**
 * Received batch bytes, staged on disk until their episode's MCAP file is
 * written: one append-only file per (episode, recorder) under <out>/.staging
 * named `<episode>~<recorder>.part` ('~' never occurs in an episode id),
 * framed and checksummed like the outbox (record-format.ts). The catalog keeps only where each
 * batch is (file, offset, length), so a large batch costs one write, not a
 * blob in the SQLite WAL and again at its checkpoint.
 * Bound: at most MAX_OPEN files open at once (least recently used are closed).
 */
const MAX_OPEN = 64;
/** writev takes at most IOV_MAX (1024 on Linux) buffers; two per batch. */
const MAX_IOV = 1024;

export interface StagedAt {
  file: string;
  offset: number;
  length: number;
}

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

  private fd(file: string): { fd: number; size: number } {
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
    return f;
  }

  /**
   * Appends batches, one writev per file and run of up to MAX_IOV / 2 batches; returns where
   * each one is, in the order given. Synchronous: the caller acknowledges after it.
   */
  appendAll(batches: readonly { episode: string; bytes: Uint8Array }[]): StagedAt[] {
    const at: StagedAt[] = new Array<StagedAt>(batches.length);
    const byFile = new Map<string, number[]>();
    batches.forEach((b, i) => {
      const file = this.fileFor(b.episode);
      const list = byFile.get(file);
      if (list) list.push(i);
      else byFile.set(file, [i]);
    });
    for (const [file, idx] of byFile) {
      const f = this.fd(file);
      for (let k = 0; k < idx.length; k += MAX_IOV / 2) {
        const iov: Uint8Array[] = [];
        let bytes = 0;
        for (const i of idx.slice(k, k + MAX_IOV / 2)) {
          const b = batches[i]!;
          const head = encodeRecordHead(++this.seq, { kind: RecordKind.steps, topic: b.episode, steps: 0, payload: b.bytes }); // the payload is not copied
          iov.push(head, b.bytes);
          at[i] = { file, offset: f.size + bytes, length: head.length + b.bytes.byteLength };
          bytes += head.length + b.bytes.byteLength;
        }
        try {
          writevAllSync(f.fd, iov);
        } catch (e) {
          // The caller rolls the group's index rows back; the bytes that did reach the file must
          // go too, or every later batch of this file would be indexed at the wrong offset.
          try {
            ftruncateSync(f.fd, f.size);
          } catch {
            f.size = fstatSync(f.fd).size; // cannot cut: at least index what follows where it lands
          }
          throw e;
        }
        f.size += bytes;
      }
    }
    return at;
  }

  /** Appends one batch; returns where it is. */
  append(episode: string, bytes: Uint8Array): StagedAt {
    return this.appendAll([{ episode, bytes }])[0]!;
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
