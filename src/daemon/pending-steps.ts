import type { EpisodeEndReason } from '../core/records.js';
import type { RewardEvaluator } from './ports.js';

/**
 * A step whose command went out and whose reward the reward host is still
 * computing. It is logged once its reward is in, in order. Its arrays are
 * copies of the tick's (the observation object is reused by the next tick).
 */
export interface PendingStep {
  index: number;
  ticket: number;
  rt: RewardEvaluator | null;
  submittedMs: number;
  tNs: bigint;
  wallMs: number;
  obsTNs: bigint;
  obs: Float32Array;
  obsRaw: Float32Array;
  commanded: Float32Array;
  applied: Float32Array;
  safety: number;
  /** An end known when the step was taken (link lost, e-stop, stop request, step limit); the reward may still end it as success/done. */
  end: EpisodeEndReason | null;
}

/**
 * The steps waiting for their reward, oldest first. Bound: `capacity` steps,
 * preallocated; the control loop gives up on the oldest (logs it as `late`)
 * when the ring is full or the step is older than its late limit, so the
 * ring never grows and the tick never waits.
 */
export class PendingSteps {
  private readonly slots: PendingStep[];
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number, nObs: number, nAct: number) {
    this.slots = Array.from({ length: capacity }, () => ({
      index: 0,
      ticket: 0,
      rt: null,
      submittedMs: 0,
      tNs: 0n,
      wallMs: 0,
      obsTNs: 0n,
      obs: new Float32Array(nObs),
      obsRaw: new Float32Array(nObs),
      commanded: new Float32Array(nAct),
      applied: new Float32Array(nAct),
      safety: 0,
      end: null,
    }));
  }

  get count(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** The oldest step, or null. */
  oldest(): PendingStep | null {
    return this.size === 0 ? null : this.slots[this.head]!;
  }

  /** A slot for a new step (the caller fills it in); only when not full. */
  push(): PendingStep {
    if (this.full) throw new Error('PendingSteps.push on a full ring');
    const s = this.slots[(this.head + this.size) % this.capacity]!;
    this.size++;
    return s;
  }

  shift(): void {
    if (this.size === 0) return;
    this.slots[this.head]!.rt = null;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
  }

  /** Drops every pending step (those taken after their episode turned out to have ended); returns how many. */
  clear(): number {
    const n = this.size;
    while (this.size > 0) this.shift();
    return n;
  }
}
