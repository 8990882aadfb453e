import { newRewardOutput, type RewardOutput } from './output.js';
import type { RewardRuntime } from './runtime.js';

/**
 * A RewardRuntime behind the control loop's submit/collect contract, in the
 * calling thread. Not for untrusted code in a process that matters (the
 * daemon uses reward hosts): it is the baseline the bench compares the host
 * against, and the evaluator of tests that drive the loop without processes.
 */
export class InThreadReward {
  private readonly last: RewardOutput;
  private ticket = 0;

  constructor(readonly runtime: RewardRuntime) {
    this.last = newRewardOutput(runtime.info.termNames.length);
  }

  get info(): RewardRuntime['info'] {
    return this.runtime.info;
  }

  get ready(): boolean {
    return true;
  }

  beginEpisode(episode: { index: number; id: string }): void {
    this.runtime.beginEpisode(episode);
  }

  submit(obs: ArrayLike<number>, action: ArrayLike<number>, dt: number, raw?: ArrayLike<number> | null): number {
    this.runtime.evaluate(obs, action, dt, this.last, raw);
    return ++this.ticket;
  }

  /** Only the last ticket's result is kept: the loop reads each result before it submits the next step. */
  result(ticket: number, out: RewardOutput): boolean {
    if (ticket !== this.ticket) return false;
    out.status = this.last.status;
    out.total = this.last.total;
    out.terms.set(this.last.terms);
    out.success = this.last.success;
    out.done = this.last.done;
    out.reason = this.last.reason;
    return true;
  }

  dispose(): void {
    this.runtime.dispose();
  }
}
