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

  submit(obs: ArrayLike<number>, action: ArrayLike<number>, dt: number, raw?: ArrayLike<number> | null): void {
    this.runtime.evaluate(obs, action, dt, this.last, raw);
  }

  collect(out: RewardOutput, _deadlineMs: number): void {
    out.status = this.last.status;
    out.total = this.last.total;
    out.terms.set(this.last.terms);
    out.success = this.last.success;
    out.done = this.last.done;
    out.reason = this.last.reason;
  }

  dispose(): void {
    this.runtime.dispose();
  }
}
