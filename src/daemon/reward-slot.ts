import { RewardStatus } from '../core/records.js';
import type { RewardEvaluator, RewardOutputLike } from './ports.js';

export type SwapMode = 'now' | 'next-episode';

/** Why a version stopped being active other than by a swap. */
export type RollbackCause = 'failures' | 'out_of_memory' | 'timeout' | 'crashed';

export type RewardSlotEvent =
  | { type: 'activated'; version: string; name: string; termNames: string[]; previous: string | null; mode: SwapMode; restored?: boolean }
  | { type: 'rolled-back'; from: string; to: string; name: string; termNames: string[]; cause: RollbackCause; consecutiveFailures: number; lastReason: string }
  /** The active version died and nothing warm can replace it: the daemon starts a fresh host for `restore`. */
  | { type: 'lost'; version: string; name: string; termNames: string[]; cause: RollbackCause; consecutiveFailures: number; lastReason: string; restore: { version: string; source: string; filename: string } };

/** Steps in a row without a failure after which a version counts as having run clean. */
export const CLEAN_AFTER_STEPS = 100;
/** Clean versions remembered as fallbacks. */
const CLEAN_KEPT = 4;

const FATAL: Record<number, RollbackCause | undefined> = {
  [RewardStatus.memory]: 'out_of_memory',
  [RewardStatus.timeout]: 'timeout',
  [RewardStatus.crashed]: 'crashed',
};
/** Failures that are the program's own (late and unavailable steps are the host's or the machine's). */
const COUNTED = new Set<number>([RewardStatus.threw, RewardStatus.non_finite, RewardStatus.bad_output]);

/**
 * The active reward program, the previous one (kept warm in its host, for an
 * instant rollback) and the source of the last one that ran clean. Swaps
 * happen only at step boundaries: the loop calls `beforeStep` before it
 * submits a step and `afterStep` once that step's result is known.
 *
 * - A fatal failure (the host ran out of memory, timed out, crashed) rolls
 *   back at once: the version's sandbox is gone.
 * - `rollbackAfter` consecutive failures of the program's own (threw,
 *   non-finite or bad output) roll back too.
 * - With nothing warm to roll back to, the slot reports the version `lost`;
 *   the daemon starts a fresh host for the last version that ran clean (or
 *   this one, when its host died) and offers it back (`restored`). Steps
 *   meanwhile are unavailable (a dead host) or the failing version's.
 */
export class RewardSlot {
  private activeRt: RewardEvaluator;
  private previousRt: RewardEvaluator | null = null;
  private pending: { rt: RewardEvaluator; mode: SwapMode; restored: boolean } | null = null;
  private consecutiveFailures = 0;
  private cleanRun = 0;
  /**
   * Versions that ran clean, most recent first (at most CLEAN_KEPT). A version leaves the list when it
   * is retired for failing: one that ran 100 clean steps and then crashed is no fallback for anything.
   */
  private clean: Array<{ version: string; source: string; filename: string }> = [];
  private lost = false;

  constructor(
    initial: RewardEvaluator,
    private readonly rollbackAfter: number,
    private readonly onEvent: (e: RewardSlotEvent) => void,
  ) {
    this.activeRt = initial;
  }

  get active(): RewardEvaluator {
    return this.activeRt;
  }

  /** Queues a checked evaluator; it becomes active at the next step boundary the mode allows, once ready. */
  offer(rt: RewardEvaluator, mode: SwapMode, restored = false): void {
    // A restore never displaces a version someone pushed that is waiting for its episode boundary
    // (its sender was told it was accepted): that version takes over now instead, the active one
    // being lost, and the restore is not needed.
    if (restored && this.pending && !this.pending.restored) {
      rt.dispose();
      this.pending.mode = 'now';
      return;
    }
    if (this.pending) this.pending.rt.dispose();
    this.pending = { rt, mode, restored };
  }

  /** Called by the loop before submitting a step; returns true if the version changed. */
  beforeStep(episodeStart: boolean, episode: { index: number; id: string }): boolean {
    const p = this.pending;
    if (!p || (p.mode === 'next-episode' && !episodeStart) || !p.rt.ready) return false;
    this.pending = null;
    const prev = this.activeRt;
    if (p.restored || this.lost) {
      // A lost version (its host dead, or failing with nothing warm behind it) is no fallback.
      prev.dispose();
    } else {
      if (this.previousRt && this.previousRt !== prev) this.previousRt.dispose();
      this.previousRt = prev;
    }
    this.activeRt = p.rt;
    this.lost = false;
    this.consecutiveFailures = 0;
    this.cleanRun = 0;
    // A mid-episode swap starts the new program with fresh per-episode state.
    p.rt.beginEpisode(episode);
    this.onEvent({ type: 'activated', version: p.rt.info.version, name: p.rt.info.name, termNames: [...p.rt.info.termNames], previous: prev.info.version, mode: p.mode, ...(p.restored ? { restored: true } : {}) });
    return true;
  }

  /**
   * Called by the loop as each step is logged with its reward (`out`, computed by `rt`); may roll
   * back for the next step submitted. Results of a version that is no longer active (steps sent
   * before a swap or a rollback) are logged but decide nothing.
   */
  afterStep(rt: RewardEvaluator, out: RewardOutputLike, episode: { index: number; id: string }): void {
    if (rt !== this.activeRt) return;
    const status = out.status;
    if (status === RewardStatus.ok) {
      this.consecutiveFailures = 0;
      if (++this.cleanRun === CLEAN_AFTER_STEPS) {
        const i = this.activeRt.info;
        this.clean = [{ version: i.version, source: i.source, filename: i.filename }, ...this.clean.filter((c) => c.version !== i.version)].slice(0, CLEAN_KEPT);
      }
      return;
    }
    if (this.lost) return;
    const fatal = FATAL[status];
    const from = this.activeRt;
    if (fatal === undefined) {
      if (COUNTED.has(status)) this.cleanRun = 0;
      if (!COUNTED.has(status) || ++this.consecutiveFailures < this.rollbackAfter) return;
      // Nothing warm to go back to (a rollback already used it): the last other version that ran
      // clean is restored in a fresh host, as for a dead host. With none, the failing version stays
      // (its host is alive; restoring it would fail the same way) and every failure is logged.
      if (!this.previousRt && !this.clean.some((c) => c.version !== from.info.version)) return;
    }
    this.cleanRun = 0;
    const cause: RollbackCause = fatal ?? 'failures';
    const lastReason = out.reason;
    const to = this.previousRt;
    this.clean = this.clean.filter((c) => c.version !== from.info.version);
    if (!to) {
      this.lost = true;
      const i = from.info;
      const restore = this.clean[0] ?? { version: i.version, source: i.source, filename: i.filename };
      this.onEvent({ type: 'lost', version: i.version, name: i.name, termNames: [...i.termNames], cause, consecutiveFailures: this.consecutiveFailures, lastReason, restore });
      this.consecutiveFailures = 0;
      return;
    }
    this.activeRt = to;
    this.previousRt = null;
    to.beginEpisode(episode);
    from.dispose();
    this.onEvent({ type: 'rolled-back', from: from.info.version, to: to.info.version, name: to.info.name, termNames: [...to.info.termNames], cause, consecutiveFailures: this.consecutiveFailures, lastReason });
    this.consecutiveFailures = 0;
  }

  dispose(): void {
    this.pending?.rt.dispose();
    if (this.previousRt && this.previousRt !== this.activeRt) this.previousRt.dispose();
    this.activeRt.dispose();
  }
}
