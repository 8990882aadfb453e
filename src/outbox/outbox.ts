import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writevAll } from '../core/write-all.js';
import { RewarddError } from '../core/errors.js';
import { encodeRecordHead, parseRecord, RecordKind, type OutboxMessage, type RecordKindCode } from './record-format.js';
import { recoverOutbox, segmentName } from './recovery.js';
import { AckMark } from './ack-mark.js';
import { lockDir } from './dir-lock.js';
import type { OutboxStats, ReadyRecord } from './types.js';

export type { OutboxStats, ReadyRecord } from './types.js';
import { resolveOutboxOptions, type OutboxOptions, type ResolvedOutboxOptions } from './options.js';

/**
 * The robot's disk outbox: every episode record is appended to a segment file
 * (checksummed, see record-format.ts) before it is handed to MQTT, and is
 * forgotten only after its PUBACK. `append` is synchronous and O(1): encoding,
 * writes and fsyncs run asynchronously on libuv's thread pool, so the control
 * loop never waits on the disk. Records are handed out strictly in id order.
 *
 * Bounds: unacknowledged bytes <= maxBytes (full-policy in options.ts);
 * payloads kept in memory <= memoryBytes (the rest is read back from disk).
 */
interface Entry {
  id: number;
  kind: RecordKindCode;
  topic: string;
  steps: number;
  size: number;
  segment: number; // 0 until written
  offset: number;
  /** In memory: until written always; afterwards only while within memoryBytes. */
  payload: Uint8Array | undefined;
  state: 'queued' | 'written' | 'sent' | 'done';
}

interface Segment {
  n: number;
  path: string;
  bytes: number;
  live: number;
  read?: Promise<FileHandle>;
}

const recordHeaderEstimate = (m: OutboxMessage): number => 12 + 15 + Buffer.byteLength(m.topic) + m.payload.byteLength;

export class Outbox {
  private readonly o: ResolvedOutboxOptions;
  private entries: Entry[] = [];
  private head = 0; // first not-done entry
  private cursor = 0; // next entry to hand out
  private nextId: number;
  private ackedId: number;
  private readonly ackMark: AckMark;
  private readonly segments = new Map<number, Segment>();
  private current: { seg: Segment; fh: FileHandle } | undefined;
  private nextSegment: number;
  private writeQueue: Entry[] = [];
  private writing: Promise<void> | undefined;
  private dirty = false;
  private syncing: Promise<void> | undefined;
  private lastSyncNs = 0n;
  private closed = false;
  private unlock: () => void = () => {};
  private full = false;
  private readonly s = { pendingRecords: 0, pendingSteps: 0, pendingBytes: 0, ackedSteps: 0, ackedRecords: 0, droppedRecords: 0, droppedSteps: 0, writeErrors: 0, memoryBytes: 0, corruptRecords: 0 };
  /** Payload bytes appended but not yet written: the part of memory that cannot be evicted. */
  private queuedBytes = 0;
  private readonly recovered: { ranges: number; bytes: number; records: number };
  /** Called when records become ready to hand out; the publisher's pump. */
  onReady: () => void = () => {};
  /** Called once when the outbox becomes full or stops being full. */
  onAlarm: (full: boolean) => void = () => {};

  private constructor(o: ResolvedOutboxOptions, rec: Awaited<ReturnType<typeof recoverOutbox>>) {
    this.o = o;
    this.nextId = rec.lastId + 1;
    this.ackedId = rec.ackedId;
    this.ackMark = new AckMark(o.dir, rec.ackedId, o.ackFlushMs, () => void (this.s.writeErrors += 1));
    this.nextSegment = rec.lastSegment + 1;
    for (const sg of rec.segments) this.segments.set(sg.n, { ...sg, live: 0 });
    for (const r of rec.records) {
      this.entries.push({ ...r, payload: undefined, state: 'written' });
      this.segments.get(r.segment)!.live += 1;
      this.s.pendingRecords += 1;
      this.s.pendingSteps += r.steps;
      this.s.pendingBytes += r.size;
    }
    this.recovered = { ranges: rec.quarantinedRanges, bytes: rec.quarantinedBytes, records: rec.records.length };
  }

  static async open(opts: OutboxOptions): Promise<Outbox> {
    const o = resolveOutboxOptions(opts);
    let unlock: (() => void) | undefined;
    try {
      unlock = lockDir(o.dir);
      const ob = new Outbox(o, await recoverOutbox(o.dir));
      ob.unlock = unlock;
      return ob;
    } catch (e) {
      unlock?.();
      if (e instanceof RewarddError) throw e;
      throw new RewarddError('E_OUTBOX', `outbox ${o.dir}: cannot open: ${(e as Error).message}`, { cause: e });
    }
  }

  get acceptingEpisodes(): boolean {
    if (this.o.fullPolicy === 'drop-oldest') return true;
    return this.s.pendingBytes + this.o.episodeReserveBytes < this.o.maxBytes;
  }

  /**
   * Queues a record. Never throws and never waits. Returns false when the
   * full-policy refused it (counted in droppedRecords / droppedSteps).
   */
  append(m: OutboxMessage): boolean {
    if (this.closed) return this.drop(m);
    const size = recordHeaderEstimate(m);
    if (m.kind === RecordKind.start && !this.acceptingEpisodes) {
      this.setFull(true);
      return this.drop(m);
    }
    // An end record is never refused for space: it is about 1 KiB, one per episode, and without
    // it the recorder can only close the episode as incomplete after its timeout. (Under
    // refuse-new-episodes no episode starts while full, which bounds how many can pass.)
    const end = m.kind === RecordKind.end;
    // A stalled disk must not grow memory without bound: unwritten payloads count against memoryBytes.
    if (!end && this.queuedBytes + m.payload.byteLength > Math.max(this.o.memoryBytes, 4 * m.payload.byteLength)) {
      this.setFull(true);
      return this.drop(m);
    }
    if (this.s.pendingBytes + size > this.o.maxBytes) {
      if (this.o.fullPolicy === 'drop-oldest') this.dropOldestEpisode(size);
      if (!end && this.s.pendingBytes + size > this.o.maxBytes) {
        this.setFull(true);
        return this.drop(m);
      }
    }
    const e: Entry = { id: this.nextId++, kind: m.kind, topic: m.topic, steps: m.steps, size, segment: 0, offset: 0, payload: m.payload, state: 'queued' };
    this.entries.push(e);
    this.s.pendingRecords += 1;
    this.queuedBytes += m.payload.byteLength;
    this.s.pendingSteps += e.steps;
    this.s.pendingBytes += size;
    this.s.memoryBytes += m.payload.byteLength;
    this.writeQueue.push(e);
    this.writing ??= this.writeLoop();
    return true;
  }

  /** Counts a record the caller refused on the outbox's behalf (steps of a refused episode). */
  refuse(steps: number): false {
    return this.drop({ kind: RecordKind.steps, topic: '', steps, payload: new Uint8Array(0) });
  }

  private drop(m: OutboxMessage): false {
    this.s.droppedRecords += 1;
    this.s.droppedSteps += m.steps;
    return false;
  }

  private setFull(full: boolean): void {
    if (this.full === full) return;
    this.full = full;
    this.onAlarm(full);
  }

  /** 'drop-oldest': frees the oldest unsent episode run (start .. next start). */
  private dropOldestEpisode(need: number): void {
    // Not yet handed out: only such records are this policy's to drop. (A giveBack can leave the
    // cursor behind records that are out, awaiting their PUBACK, or already done.)
    const notOut = (e: Entry): boolean => e.state === 'queued' || e.state === 'written';
    let from = this.cursor;
    while (this.s.pendingBytes + need > this.o.maxBytes) {
      let i = from;
      while (i < this.entries.length && !(this.entries[i]!.kind === RecordKind.start && notOut(this.entries[i]!))) i++;
      let j = i + 1;
      while (j < this.entries.length && this.entries[j]!.kind !== RecordKind.start) j++;
      if (i >= this.entries.length || j >= this.entries.length) return; // only the running episode left
      const kept: Entry[] = [];
      for (let k = i; k < j; k++) {
        const e = this.entries[k]!;
        if (!notOut(e)) {
          kept.push(e);
          continue;
        }
        this.s.droppedRecords += 1;
        this.s.droppedSteps += e.steps;
        this.finish(e);
      }
      this.entries.splice(i, j - i, ...kept);
      from = i + kept.length;
    }
  }

  private async writeLoop(): Promise<void> {
    while (this.writeQueue.length > 0) {
      const batch = this.writeQueue;
      this.writeQueue = [];
      try {
        const cur = await this.currentSegment();
        const frames: Uint8Array[] = [];
        let off = cur.seg.bytes;
        for (const e of batch) {
          if (e.state === 'done') continue; // dropped before it reached the disk
          const payload = e.payload ?? new Uint8Array(0);
          const head = encodeRecordHead(e.id, { kind: e.kind, topic: e.topic, steps: e.steps, payload });
          e.size = head.length + payload.byteLength;
          e.segment = cur.seg.n;
          e.offset = off;
          off += e.size;
          cur.seg.live += 1;
          frames.push(head, payload); // the payload is not copied
        }
        try {
          if (frames.length > 0) await writevAll(cur.fh, frames);
        } catch (e) {
          await this.afterFailedWrite(cur, batch);
          throw e;
        }
        cur.seg.bytes = off;
        this.dirty = true;
        await this.maybeSync(cur.fh, false);
        if (cur.seg.bytes >= this.o.segmentBytes) await this.rotate();
      } catch {
        // Disk failed (full, removed): the records that did not reach it stay in memory and are
        // still published (afterFailedWrite); the next write starts a new segment.
        this.s.writeErrors += 1;
      }
      for (const e of batch) {
        if (e.state !== 'queued') continue;
        e.state = 'written';
        this.queuedBytes -= e.payload?.byteLength ?? 0;
      }
      this.trimMemory();
      this.onReady();
    }
    this.writing = undefined;
  }

  /**
   * A write failed part-way (disk full, or removed). What reached the file is what its size says;
   * a record not wholly inside it is not on disk: it keeps its payload in memory (segment 0, never
   * evicted) and no longer counts in the segment. The segment is closed: writing on after a torn
   * record would put later records where the index does not expect them; at the next start-up
   * the torn tail is quarantined like any other.
   */
  private async afterFailedWrite(cur: { seg: Segment; fh: FileHandle }, batch: readonly Entry[]): Promise<void> {
    const onDisk = await cur.fh.stat().then((st) => st.size, () => cur.seg.bytes);
    for (const e of batch) {
      if (e.segment !== cur.seg.n || e.offset + e.size <= onDisk) continue;
      if (e.state !== 'done') cur.seg.live -= 1; // a record finished meanwhile was already uncounted
      e.segment = 0;
    }
    cur.seg.bytes = onDisk;
    this.current = undefined;
    await cur.fh.close().catch(() => {});
    if (cur.seg.live === 0) await this.removeSegment(cur.seg).catch(() => {});
  }

  private async currentSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    if (this.current) return this.current;
    const n = this.nextSegment++;
    const seg: Segment = { n, path: join(this.o.dir, segmentName(n)), bytes: 0, live: 0 };
    const fh = await open(seg.path, 'a');
    this.segments.set(n, seg);
    this.current = { seg, fh };
    return this.current;
  }

  private async rotate(): Promise<void> {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    await this.maybeSync(cur.fh, true);
    await cur.fh.close();
    if (cur.seg.live === 0) await this.removeSegment(cur.seg);
  }

  /**
   * 'always' (or force): waits for fdatasync. 'interval': starts one at most every fsyncIntervalMs
   * and does not hold up further writes while it runs (one outstanding at a time): a sync of a
   * second's worth of dirty pages can take tens of ms, and the pump would idle behind it.
   */
  private async maybeSync(fh: FileHandle, force: boolean): Promise<void> {
    if (this.o.fsync === 'never') return;
    if (force || this.o.fsync === 'always') {
      await this.syncing;
      if (!this.dirty) return;
      this.dirty = false;
      this.lastSyncNs = this.o.clock.nowNs();
      await fh.datasync();
      return;
    }
    const now = this.o.clock.nowNs();
    if (!this.dirty || this.syncing || now - this.lastSyncNs < BigInt(this.o.fsyncIntervalMs) * 1_000_000n) return;
    this.dirty = false;
    this.lastSyncNs = now;
    this.syncing = fh
      .datasync()
      .catch(() => void (this.s.writeErrors += 1))
      .finally(() => (this.syncing = undefined));
  }

  /** Keeps written payloads in memory only while within memoryBytes (oldest-first eviction would re-read soonest, so newest are evicted). */
  private trimMemory(): void {
    if (this.s.memoryBytes <= this.o.memoryBytes) return;
    for (let i = this.entries.length - 1; i >= this.cursor && this.s.memoryBytes > this.o.memoryBytes; i--) {
      const e = this.entries[i]!;
      if (e.payload && e.state === 'written' && e.segment !== 0) {
        this.s.memoryBytes -= e.payload.byteLength;
        e.payload = undefined;
      }
    }
  }

  /** The next written, not yet handed-out record, in id order; undefined if none is ready. */
  async takeNext(): Promise<ReadyRecord | undefined> {
    // After a giveBack the cursor may point before records still out or already acknowledged.
    while (this.cursor < this.entries.length && (this.entries[this.cursor]!.state === 'sent' || this.entries[this.cursor]!.state === 'done')) this.cursor++;
    const e = this.entries[this.cursor];
    if (!e || e.state === 'queued') return undefined;
    this.cursor += 1;
    e.state = 'sent';
    let payload = e.payload;
    if (!payload) {
      try {
        payload = await this.readBack(e);
      } catch {
        // The file changed under us since start-up: count it and go on with the rest.
        this.s.corruptRecords += 1;
        this.finish(e);
        this.advanceHead();
        return this.takeNext();
      }
    }
    return { id: e.id, kind: e.kind, topic: e.topic, steps: e.steps, payload };
  }

  private async readBack(e: Entry): Promise<Uint8Array> {
    const seg = this.segments.get(e.segment);
    if (!seg) throw new RewarddError('E_OUTBOX', `record ${e.id}: expected segment ${e.segment}, found none`);
    const fh = await (seg.read ??= open(seg.path, 'r'));
    const buf = Buffer.allocUnsafe(e.size);
    await fh.read(buf, 0, e.size, e.offset);
    const r = parseRecord(buf, 0);
    if (!r.ok || r.record.id !== e.id) throw new RewarddError('E_OUTBOX', `record ${e.id} in ${seg.path}@${e.offset}: expected a valid record, found ${r.ok ? `id ${r.record.id}` : r.reason}`);
    return r.record.payload;
  }

  /** PUBACK received for a record: it is done and its bytes are released. */
  ack(id: number): void {
    const e = this.entries[this.indexOf(id)];
    if (e?.state === 'done') return;
    if (e) {
      this.s.ackedSteps += e.steps;
      this.s.ackedRecords += 1;
      this.finish(e);
    }
    this.advanceHead();
  }

  private advanceHead(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.state === 'done') {
      this.ackedId = this.entries[this.head]!.id;
      this.head += 1;
    }
    // The cursor may lag behind done records after a giveBack; it never points before the head.
    if (this.cursor < this.head) this.cursor = this.head;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.head = 0;
    }
    if (this.full && this.s.pendingBytes + this.o.episodeReserveBytes < this.o.maxBytes) this.setFull(false);
    this.ackMark.set(this.ackedId);
  }

  private finish(e: Entry): void {
    if (e.state === 'queued') this.queuedBytes -= e.payload?.byteLength ?? 0;
    e.state = 'done';
    this.s.pendingRecords -= 1;
    this.s.pendingSteps -= e.steps;
    this.s.pendingBytes -= e.size;
    if (e.payload) this.s.memoryBytes -= e.payload.byteLength;
    e.payload = undefined;
    const seg = this.segments.get(e.segment);
    if (seg && --seg.live === 0 && seg !== this.current?.seg) void this.removeSegment(seg).catch(() => {});
  }

  private async removeSegment(seg: Segment): Promise<void> {
    this.segments.delete(seg.n);
    if (seg.read) await (await seg.read).close().catch(() => {});
    await unlink(seg.path).catch(() => {});
  }

  /**
   * A record handed out whose publish failed (its connection closed before the client sent it,
   * or the broker refused it): it is handed out again before any record not handed out yet, so
   * the send order stays the id order. Records still out are not handed out twice.
   */
  giveBack(id: number): void {
    const i = this.indexOf(id);
    if (this.entries[i]?.state !== 'sent') return;
    this.entries[i]!.state = 'written';
    this.cursor = Math.min(this.cursor, i);
  }

  /**
   * Where a record handed out is in `entries` (-1 if it is not there any more). Ids increase
   * along the array, and acks come in order almost always, so this searches from the head; not
   * only below the cursor, which a giveBack may have moved back behind records still out.
   */
  private indexOf(id: number): number {
    for (let i = this.head; i < this.entries.length && this.entries[i]!.id <= id; i++) if (this.entries[i]!.id === id) return i;
    return -1;
  }

  /** Records handed out but not acknowledged go back to the front (a new MQTT session). */
  rewind(): void {
    for (let i = this.head; i < this.entries.length; i++) if (this.entries[i]!.state === 'sent') this.entries[i]!.state = 'written';
    this.cursor = this.head; // takeNext steps over what is done
  }

  /** True when every queued record has reached the disk. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Steps appended and not yet acknowledged: the same as stats().pendingSteps, without building the object. */
  get pendingSteps(): number {
    return this.s.pendingSteps;
  }

  stats(): OutboxStats {
    return {
      ...this.s,
      quarantinedRanges: this.recovered.ranges,
      quarantinedBytes: this.recovered.bytes,
      replayedRecords: this.recovered.records,
      segments: this.segments.size,
      acceptingEpisodes: this.acceptingEpisodes,
      full: this.full,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushed();
    await this.ackMark.flush();
    if (this.current) {
      this.dirty = true;
      await this.maybeSync(this.current.fh, true).catch(() => {});
      await this.current.fh.close().catch(() => {});
      const seg = this.current.seg;
      this.current = undefined;
      if (seg.live === 0) await this.removeSegment(seg);
    }
    for (const seg of this.segments.values()) if (seg.read) await (await seg.read).close().catch(() => {});
    this.unlock();
  }
}
