import { RewarddError, describeValue } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';

/**
 * Outbox options: one defaults object, one normaliser (docs/outbox.md lists
 * the same defaults).
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';
/**
 * What happens when the outbox is at its byte bound:
 * - 'refuse-new-episodes': start records are refused once less than `episodeReserveBytes`
 *   remain (the daemon asks `acceptingEpisodes` before starting one, and raises an alarm);
 *   the running episode may use the reserve; past the hard bound its newest steps are
 *   dropped and counted.
 * - 'drop-oldest': the oldest not-yet-sent episode (start record up to the next start
 *   record) is dropped and counted to make room; if only one episode is queued, its newest
 *   steps are dropped instead.
 */
export type FullPolicy = 'refuse-new-episodes' | 'drop-oldest';

export interface OutboxOptions {
  /** Directory of segment files; created if missing. */
  dir: string;
  /** Bound of unacknowledged bytes on disk. Default 256 MiB. */
  maxBytes?: number;
  /** Reserve kept for the running episode under 'refuse-new-episodes'. Default maxBytes / 8. */
  episodeReserveBytes?: number;
  /** A segment file is closed and a new one started past this size. Default 8 MiB. */
  segmentBytes?: number;
  /** Default 'interval'. */
  fsync?: FsyncPolicy;
  /** fdatasync period for fsync 'interval'. Default 1000 ms. */
  fsyncIntervalMs?: number;
  /** Default 'refuse-new-episodes'. */
  fullPolicy?: FullPolicy;
  /** Payload bytes kept in memory to publish without reading back from disk. Default 32 MiB. */
  memoryBytes?: number;
  /** Debounce of the persisted acknowledgement mark. Default 200 ms. */
  ackFlushMs?: number;
  clock?: Clock;
}

export type ResolvedOutboxOptions = Required<OutboxOptions>;

export const OUTBOX_DEFAULTS = {
  maxBytes: 256 * 1024 * 1024,
  segmentBytes: 8 * 1024 * 1024,
  fsync: 'interval' as FsyncPolicy,
  fsyncIntervalMs: 1000,
  fullPolicy: 'refuse-new-episodes' as FullPolicy,
  memoryBytes: 32 * 1024 * 1024,
  ackFlushMs: 200,
};

function positiveInt(name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new RewarddError('E_CONFIG', `outbox.${name}: expected an integer >= ${min}, found ${describeValue(v)}`);
  }
  return v;
}

export function resolveOutboxOptions(o: OutboxOptions): ResolvedOutboxOptions {
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new RewarddError('E_CONFIG', `outbox.dir: expected a directory path, found ${describeValue(o.dir)}`);
  const maxBytes = positiveInt('maxBytes', o.maxBytes ?? OUTBOX_DEFAULTS.maxBytes, 4096);
  const fsync = o.fsync ?? OUTBOX_DEFAULTS.fsync;
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'never') {
    throw new RewarddError('E_CONFIG', `outbox.fsync: expected "always", "interval" or "never", found ${describeValue(fsync)}`);
  }
  const fullPolicy = o.fullPolicy ?? OUTBOX_DEFAULTS.fullPolicy;
  if (fullPolicy !== 'refuse-new-episodes' && fullPolicy !== 'drop-oldest') {
    throw new RewarddError('E_CONFIG', `outbox.fullPolicy: expected "refuse-new-episodes" or "drop-oldest", found ${describeValue(fullPolicy)}`);
  }
  const reserve = positiveInt('episodeReserveBytes', o.episodeReserveBytes ?? Math.floor(maxBytes / 8), 0);
  if (reserve >= maxBytes) throw new RewarddError('E_CONFIG', `outbox.episodeReserveBytes: expected less than maxBytes ${maxBytes}, found ${reserve}`);
  return {
    dir: o.dir,
    maxBytes,
    episodeReserveBytes: reserve,
    segmentBytes: positiveInt('segmentBytes', o.segmentBytes ?? Math.min(OUTBOX_DEFAULTS.segmentBytes, maxBytes), 1024),
    fsync,
    fsyncIntervalMs: positiveInt('fsyncIntervalMs', o.fsyncIntervalMs ?? OUTBOX_DEFAULTS.fsyncIntervalMs),
    fullPolicy,
    memoryBytes: positiveInt('memoryBytes', o.memoryBytes ?? OUTBOX_DEFAULTS.memoryBytes, 0),
    ackFlushMs: positiveInt('ackFlushMs', o.ackFlushMs ?? OUTBOX_DEFAULTS.ackFlushMs, 0),
    clock: o.clock ?? systemClock,
  };
}
