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

export function resolveGroupCommit(o: GroupCommitOptions = {}): Required<GroupCommitOptions> {
  const r = { ...GROUP_COMMIT_DEFAULTS, ...o };
  if (!Number.isSafeInteger(r.maxMessages) || r.maxMessages < 1) throw new RewarddError('E_CONFIG', `groupCommit.maxMessages: expected an integer >= 1, found ${describeValue(r.maxMessages)}`);
  if (!Number.isSafeInteger(r.maxBytes) || r.maxBytes < 1) throw new RewarddError('E_CONFIG', `groupCommit.maxBytes: expected an integer >= 1, found ${describeValue(r.maxBytes)}`);
  if (typeof r.maxDelayMs !== 'number' || !(r.maxDelayMs >= 0)) throw new RewarddError('E_CONFIG', `groupCommit.maxDelayMs: expected a number >= 0, found ${describeValue(r.maxDelayMs)}`);
  return r;
}

export interface IngestQueueStats {
  groups: number;
  committed: number;
  largestGroup: number;
}

export class IngestQueue {
  private items: IngestItem[] = [];
  private releases: (() => void)[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly s: IngestQueueStats = { groups: 0, committed: 0, largestGroup: 0 };

  constructor(
    private readonly catalog: Catalog,
    private readonly staging: Staging,
    private readonly o: Required<GroupCommitOptions>,
    /** A failed commit: its records stay unacknowledged (the broker resends them to the next session). */
    private readonly onError: (e: Error) => void,
  ) {}

  /** Queues one record; `release` runs once it is committed, never before. */
  push(item: IngestItem, release: () => void): void {
    this.items.push(item);
    this.releases.push(release);
    this.bytes += item.kind === 'steps' ? item.bytes.byteLength : item.json.length;
    if (this.items.length >= this.o.maxMessages || this.bytes >= this.o.maxBytes) this.commit();
    else this.timer ??= this.o.maxDelayMs === 0 ? setImmediate(() => this.commit()) : setTimeout(() => this.commit(), this.o.maxDelayMs);
  }

  /** Commits the waiting group now (synchronous), then releases its records. */
  commit(): void {
    if (this.timer) (this.o.maxDelayMs === 0 ? clearImmediate(this.timer as NodeJS.Immediate) : clearTimeout(this.timer as NodeJS.Timeout));
    this.timer = undefined;
    if (this.items.length === 0) return;
    const items = this.items;
    const releases = this.releases;
    this.items = [];
    this.releases = [];
    this.bytes = 0;
    try {
      this.catalog.ingest(items, this.staging);
    } catch (e) {
      this.onError(e as Error);
      return;
    }
    this.s.groups += 1;
    this.s.committed += items.length;
    this.s.largestGroup = Math.max(this.s.largestGroup, items.length);
    for (const r of releases) r();
  }

  stats(): IngestQueueStats {
    return { ...this.s };
  }
}
