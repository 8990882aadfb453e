import { RewardStatus } from '../core/records.js';
import type { RewardEvaluator, RewardOutputLike } from './ports.js';

export type SwapMode = 'now' | 'next-episode';

export type RewardSlotEvent =
  | { type: 'activated'; version: string; name: string; termNames: string[]; previous: string | null; mode: SwapMode }
  | { type: 'rolled-back'; from: string; to: string; name: string; termNames: string[]; consecutiveFailures: number; lastReason: string };

/**
 * The active reward program and the last good one. Swaps happen only at step
 * boundaries (the loop calls `beforeStep`), either at the next tick or at the
 * next episode start. After `rollbackAfter` consecutive failed steps the
 * previous version is restored, so a reward that starts failing in the field
 * cannot leave an experiment without rewards.
 */
export class RewardSlot {
  private activeRt: RewardEvaluator;
  private previousRt: RewardEvaluator | null = null;
  private pending: { rt: RewardEvaluator; mode: SwapMode } | null = null;
  private consecutiveFailures = 0;
  private outRef: RewardOutputLike;

  constructor(
    initial: RewardEvaluator,
    private readonly rollbackAfter: number,
    private readonly onEvent: (e: RewardSlotEvent) => void,
  ) {
    this.activeRt = initial;
    this.outRef = newOutput(initial.info.termNames.length);
  }

  get active(): RewardEvaluator {
    return this.activeRt;
  }

  /** The output buffer shaped for the active version's terms. */
  get out(): RewardOutputLike {
    return this.outRef;
  }

  /** Queues a checked runtime; it becomes active at the next step boundary the mode allows. */
  offer(rt: RewardEvaluator, mode: SwapMode): void {
    if (this.pending) this.pending.rt.dispose();
    this.pending = { rt, mode };
  }

  /** Called by the loop before evaluating a step; returns true if the version changed. */
  beforeStep(episodeStart: boolean, episode: { index: number; id: string }): boolean {
    const p = this.pending;
    if (!p || (p.mode === 'next-episode' && !episodeStart)) return false;
    this.pending = null;
    const prev = this.activeRt;
    if (this.previousRt && this.previousRt !== prev) this.previousRt.dispose();
    this.previousRt = prev;
    this.activeRt = p.rt;
    this.outRef = newOutput(p.rt.info.termNames.length);
    this.consecutiveFailures = 0;
    // A mid-episode swap starts the new program with fresh per-episode state.
    p.rt.beginEpisode(episode);
    this.onEvent({ type: 'activated', version: p.rt.info.version, name: p.rt.info.name, termNames: [...p.rt.info.termNames], previous: prev.info.version, mode: p.mode });
    return true;
  }

  /** Called by the loop after evaluating a step; may roll back for the *next* step. */
  afterStep(episode: { index: number; id: string }): void {
    if (this.outRef.status === RewardStatus.ok) {
      this.consecutiveFailures = 0;
      return;
    }
    this.consecutiveFailures++;
    if (this.consecutiveFailures < this.rollbackAfter || !this.previousRt) return;
    const from = this.activeRt;
    const to = this.previousRt;
    const lastReason = this.outRef.reason;
    this.activeRt = to;
    this.previousRt = null;
    this.outRef = newOutput(to.info.termNames.length);
    to.beginEpisode(episode);
    from.dispose();
    this.onEvent({ type: 'rolled-back', from: from.info.version, to: to.info.version, name: to.info.name, termNames: [...to.info.termNames], consecutiveFailures: this.consecutiveFailures, lastReason });
    this.consecutiveFailures = 0;
  }

  dispose(): void {
    this.pending?.rt.dispose();
    if (this.previousRt && this.previousRt !== this.activeRt) this.previousRt.dispose();
    this.activeRt.dispose();
  }
}

function newOutput(terms: number): RewardOutputLike {
  return { status: RewardStatus.unavailable, total: NaN, terms: new Float64Array(terms).fill(NaN), success: false, done: false, reason: '' };
}
