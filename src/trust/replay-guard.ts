import type { Clock } from '../core/clock.js';

/**
 * Remembers the nonces of accepted signed messages so none is accepted twice.
 *
 * Two clocks, on purpose. Freshness (is `ts` within ±window of now?) must use
 * wall time: `ts` comes from the operator's laptop and only wall clocks are
 * shared between machines. How long a nonce is remembered must use the
 * monotonic clock: if it used wall time, an NTP step forward would forget
 * every nonce at once, and a step back would make old messages fresh again
 * while their nonces were already gone.
 *
 * A message is fresh while the robot's wall clock is within [ts - W, ts + W],
 * a span of 2W; the first time it is seen can be anywhere in that span, so a
 * nonce is kept for 2W of monotonic time after it was accepted. Then it is
 * forgotten, and `horizonTs` remembers the newest `ts` among forgotten nonces:
 * any later message with ts <= horizonTs is refused as stale, so a forgotten
 * message stays refused even if the robot's wall clock is stepped back. With
 * clocks within W of each other this never refuses a genuine new message
 * (its ts is newer than anything accepted 2W ago).
 *
 * The same holds for messages signed before this guard existed (a daemon
 * restart empties memory): for the first 2W after start, ts must be after the
 * start's wall time. After 2W that rule lapses, so a robot whose clock was
 * wrong at boot is not locked out once its clock is corrected.
 *
 * Bound: at most `capacity` nonces. When full of nonces that are all still
 * within 2W, a new message is refused rather than forgetting a live nonce
 * (forgetting one would reopen a replay): only messages that already passed
 * the signature check are remembered, so only allowed keys can fill it.
 */
export interface ReplayGuardOptions {
  windowMs: number;
  capacity: number;
  clock: Clock;
}

export type ReplayProblem = { code: 'stale' | 'replayed'; error: string };

export class ReplayGuard {
  private readonly seen = new Map<string, { atNs: bigint; ts: number }>();
  private readonly retainNs: bigint;
  private horizonTs = -1;
  private readonly startWallMs: number;
  private readonly startNs: bigint;

  constructor(private readonly o: ReplayGuardOptions) {
    this.retainNs = BigInt(Math.round(2 * o.windowMs * 1e6));
    this.startWallMs = o.clock.wallMs();
    this.startNs = o.clock.nowNs();
  }

  private prune(nowNs: bigint): void {
    // Insertion order is acceptance order, so the oldest are at the front.
    for (const [k, v] of this.seen) {
      if (nowNs - v.atNs < this.retainNs) break;
      this.seen.delete(k);
      if (v.ts > this.horizonTs) this.horizonTs = v.ts;
    }
  }

  /** Checks freshness and replay for a message whose signature is already verified; remembers it if accepted. */
  admit(id: string, ts: number): ReplayProblem | null {
    const nowNs = this.o.clock.nowNs();
    const wall = this.o.clock.wallMs();
    const w = this.o.windowMs;
    const skew = wall - ts;
    if (Math.abs(skew) > w) {
      const when = skew > 0 ? `${skew} ms ago` : `${-skew} ms in the future`;
      return { code: 'stale', error: `expected a timestamp within ${w} ms of the robot's clock (${new Date(wall).toISOString()}), found ${new Date(ts).toISOString()} (${when}); check both clocks (NTP) or re-sign` };
    }
    this.prune(nowNs);
    if (this.seen.has(id)) return { code: 'replayed', error: `expected a nonce not seen in the last ${2 * w} ms, found ${id.split(':').at(-1)} again (signed ${new Date(ts).toISOString()})` };
    if (ts <= this.horizonTs) return { code: 'stale', error: `expected a timestamp after ${new Date(this.horizonTs).toISOString()} (the newest forgotten nonce), found ${new Date(ts).toISOString()}` };
    if (nowNs - this.startNs < this.retainNs && ts < this.startWallMs) {
      return { code: 'stale', error: `expected a message signed after this robot started verifying (${new Date(this.startWallMs).toISOString()}), found ${new Date(ts).toISOString()}: a message from before a restart may be a replay; re-sign it` };
    }
    if (this.seen.size >= this.o.capacity) {
      return { code: 'replayed', error: `replay cache full: expected at most ${this.o.capacity} signed messages per ${2 * w} ms, found more; refusing rather than forgetting a live nonce, try again shortly` };
    }
    this.seen.set(id, { atNs: nowNs, ts });
    return null;
  }

  get size(): number {
    return this.seen.size;
  }
}
