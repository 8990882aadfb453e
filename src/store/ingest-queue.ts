import { RewarddError, describeValue } from '../core/errors.js';
import type { Catalog, IngestItem } from './catalog.js';
import type { Staging } from './staging.js';

/**
 * Group commit for the recorder: received records wait here (in memory, unacknowledged)
 * and are staged together, one staging writev per file and one SQLite transaction for
 * the whole group; only after that commit does each record's `release` run (the
 * recorder sends its PUBACK there). A crash before the commit loses nothing the broker
 * let go of: nothing in the group was acknowledged, so the broker sends it again.
 *
 * Bound: at most `maxMessages` records and `maxBytes` payload bytes wait; the push that
 * reaches either bound commits the group at once, and a group is never older than
 * `maxDelayMs` (a timer; Node timers run on the monotonic clock).
 *
 * A commit that fails (disk full, staging file unwritable, SQLite busy past its timeout) keeps
 * its records, still unacknowledged, and is tried again after a pause that doubles from
 * RETRY_MIN_MS to RETRY_MAX_MS; meanwhile new records join the waiting group. Dropping them
 * instead would lose them for good: the broker only resends unacknowledged messages after a
 * reconnect, and with nothing acknowledged it stops sending at the recorder's Receive Maximum,
 * which is also what bounds the group while it waits.
 */
export interface GroupCommitOptions {
  /** Default 64. */
  maxMessages?: number;
  /** Default 8 MiB. */
  maxBytes?: number;
  /** Default 2 ms: the most a PUBACK is held back for grouping. 0: commit once the messages already read from the socket are parsed (setImmediate). */
  maxDelayMs?: number;
}

export const GROUP_COMMIT_DEFAULTS = { maxMessages: 64, maxBytes: 8 * 1024 * 1024, maxDelayMs: 2 } as const;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export function resolveGroupCommit(o: GroupCommitOptions = {}): Required<GroupCommitOptions> {
  const r = { ...GROUP_COMMIT_DEFAULTS, ...o };
  if (!Number.isSafeInteger(r.maxMessages) || r.maxMessages < 1) throw new RewarddError('E_CONFIG', `groupCommit.maxMessages: expected an integer >= 1, found ${describeValue(r.maxMessages)}`);
  if (!Number.isSafeInteger(r.maxBytes) || r.maxBytes < 1) throw new RewarddError('E_CONFIG', `groupCommit.maxBytes: expected an integer >= 1, found ${describeValue(r.maxBytes)}`);
  if (typeof r.maxDelayMs !== 'number' || !(r.maxDelayMs >= 0)) throw new RewarddError('E_CONFIG', `groupCommit.maxDelayMs: expected a number >= 0, found ${describeValue(r.maxDelayMs)}`);
  return r;
}

/** The disk's (a system call failed) or SQLite's (busy, locked, I/O, full) trouble: it may pass, so the records wait. */
function transient(e: unknown): boolean {
  const x = e as { syscall?: unknown; code?: unknown };
  return typeof x.syscall === 'string' || (typeof x.code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|NOMEM|INTERRUPT|PROTOCOL|CORRUPT|NOTADB)/.test(x.code));
}

const sizeOf = (it: IngestItem): number => (it.kind === 'steps' ? it.bytes.byteLength : it.json.length);

export interface IngestQueueStats {
  groups: number;
  committed: number;
  largestGroup: number;
  /** Commits that failed (each is retried; see the class comment). */
  failedCommits: number;
  /** Records waiting for a retry after a failed commit. */
  waitingRetry: number;
  /** Records given up on: their commit failed for a reason other than the disk or SQLite (see commitOneByOne). */
  refused: number;
}

/** A received record and what acknowledges it. */
interface Waiting {
  item: IngestItem;
  release: () => void;
}

export class IngestQueue {
  private waiting: Waiting[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly s = { groups: 0, committed: 0, largestGroup: 0, failedCommits: 0, refused: 0 };
  /** Set while a failed group waits for its retry; the pause before the next one. */
  private retry: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;

  constructor(
    private readonly catalog: Catalog,
    private readonly staging: Staging,
    private readonly o: Required<GroupCommitOptions>,
    /** A failed commit: its records stay queued, unacknowledged, and are committed again later. */
    private readonly onError: (e: Error) => void,
  ) {}

  /** Queues one record; `release` runs once it is committed, never before. */
  push(item: IngestItem, release: () => void): void {
    this.waiting.push({ item, release });
    this.bytes += sizeOf(item);
    if (this.retry) return; // a failed group is waiting: this record joins it
    if (this.waiting.length >= this.o.maxMessages || this.bytes >= this.o.maxBytes) this.commit();
    else this.timer ??= this.o.maxDelayMs === 0 ? setImmediate(() => this.commit()) : setTimeout(() => this.commit(), this.o.maxDelayMs);
  }

  /** Commits the waiting group now (synchronous), then releases its records. */
  commit(): void {
    if (this.timer) (this.o.maxDelayMs === 0 ? clearImmediate(this.timer as NodeJS.Immediate) : clearTimeout(this.timer as NodeJS.Timeout));
    this.timer = undefined;
    const group = this.waiting;
    if (group.length === 0) return;
    this.waiting = [];
    this.bytes = 0;
    try {
      this.catalog.ingest(group.map((w) => w.item), this.staging);
    } catch (e) {
      this.s.failedCommits += 1;
      this.onError(e as Error);
      // One episode's trouble (its staging file) must not hold up the others: commit the group
      // episode by episode, and keep only what still fails.
      this.waiting = this.commitByEpisode(group);
      this.bytes = this.waiting.reduce((n, w) => n + sizeOf(w.item), 0);
      if (this.waiting.length === 0) return;
      clearTimeout(this.retry);
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.commit();
      }, this.retryMs);
      this.retry.unref(); // the MQTT connection keeps a running recorder alive; this must not keep a closed one
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
      return;
    }
    this.retryMs = RETRY_MIN_MS;
    this.s.groups += 1;
    this.s.committed += group.length;
    this.s.largestGroup = Math.max(this.s.largestGroup, group.length);
    for (const w of group) w.release();
  }

  /** Returns what still could not be committed. */
  private commitByEpisode(group: Waiting[]): Waiting[] {
    const byEpisode = new Map<string, Waiting[]>();
    for (const w of group) {
      const list = byEpisode.get(w.item.episode);
      if (list) list.push(w);
      else byEpisode.set(w.item.episode, [w]);
    }
    const left: Waiting[] = [];
    for (const ep of byEpisode.values()) {
      try {
        this.catalog.ingest(ep.map((w) => w.item), this.staging);
      } catch (e) {
        if (transient(e)) left.push(...ep);
        else left.push(...this.commitOneByOne(ep));
        continue;
      }
      this.s.groups += 1;
      this.s.committed += ep.length;
      for (const w of ep) w.release();
    }
    return left;
  }

  /**
   * An error that is not the disk's or SQLite's (a record SQLite cannot store, whatever the
   * recorder's own checks let through) would fail the same way forever and hold its episode,
   * and at Receive Maximum the whole session. Such a record is given up on: counted, reported
   * and acknowledged, like an unreadable message. The others are committed one by one, up to
   * the first transient error (each try can block up to SQLite's busy timeout); from there on
   * they wait. Returns what waits.
   */
  private commitOneByOne(records: Waiting[]): Waiting[] {
    for (let i = 0; i < records.length; i++) {
      const w = records[i]!;
      try {
        this.catalog.ingest([w.item], this.staging);
        this.s.committed += 1;
      } catch (e) {
        if (transient(e)) return records.slice(i);
        this.s.refused += 1;
        this.onError(new Error(`record of episode ${w.item.episode} (${w.item.kind}) cannot be stored and was dropped: ${(e as Error).message}`));
      }
      w.release(); // stored, or given up on (acknowledged, not stored)
    }
    return [];
  }

  stats(): IngestQueueStats {
    return { ...this.s, waitingRetry: this.retry ? this.waiting.length : 0 };
  }

  /** Stops the retry timer (the recorder is closing; what is still waiting was never acknowledged). */
  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }
}
