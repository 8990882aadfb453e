import { RewardStatus } from '../core/records.js';
import type { Death, SandboxOptions } from './sandbox.js';
import type { Transpiled } from './transpile.js';

/**
 * Reason strings for failed steps, in the house style:
 *   E_REWARD_TIMEOUT: reward "reach" v3f2a… exceeded its 2 ms budget at step 1841
 * A thrown error is cut to its first line plus the program's own frame, with
 * TS line numbers mapped back to the .ts file, so the reason stays short and
 * still points at the line to fix.
 */
export class FailureText {
  private readonly label: string;
  private readonly frameRe: RegExp;

  constructor(
    info: { name: string; version: string; filename: string },
    private readonly t: Transpiled,
    private readonly opts: SandboxOptions,
  ) {
    this.label = `reward "${info.name}" v${info.version}`;
    const esc = info.filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.frameRe = new RegExp(`(${esc}):(\\d+):(\\d+)`);
  }

  failure(status: number, step: number, msg: string): string {
    switch (status) {
      case RewardStatus.threw:
        return `E_REWARD_THREW: ${this.label} threw at step ${step}: ${this.summarise(msg)}`;
      case RewardStatus.non_finite:
      case RewardStatus.bad_output:
        return `E_REWARD_OUTPUT: ${this.label} at step ${step}: ${msg}`;
      default:
        return `E_REWARD_OUTPUT: ${this.label} at step ${step}: status ${status}: ${msg}`;
    }
  }

  death(kind: Death, step: number, msg: string): string {
    const tail = 'sandbox disposed; no reward until the next episode';
    if (kind === 'timeout') return `E_REWARD_TIMEOUT: ${this.label} ran past its ${this.opts.budgetMs} ms budget plus ${this.opts.graceMs} ms grace at step ${step}; ${tail}`;
    if (kind === 'memory') return `E_REWARD_MEMORY: ${this.label} exceeded its ${this.opts.memoryMb} MB memory limit at step ${step} (${msg.split('\n')[0] ?? ''}); ${tail}`;
    return `E_REWARD_THREW: ${this.label} broke its sandbox at step ${step}: ${msg.split('\n')[0] ?? ''}; ${tail}`;
  }

  unavailable(kind: Death, step: number): string {
    const code = kind === 'timeout' ? 'E_REWARD_TIMEOUT' : kind === 'memory' ? 'E_REWARD_MEMORY' : 'E_REWARD_THREW';
    return `${code}: ${this.label} sandbox was disposed at step ${step} (${kind}); no reward until the next episode`;
  }

  /** "TypeError: x is not a function (rewards/a.js:12:9)" from a V8 stack. */
  summarise(stack: string): string {
    const lines = stack.split('\n');
    const head = (lines[0] ?? '').slice(0, 240);
    for (const l of lines) {
      const m = this.frameRe.exec(l);
      if (m) return `${head} (${m[1]}:${this.t.mapLine(Number(m[2]))}${this.t.exactColumns ? `:${m[3]}` : ''})`;
    }
    return head;
  }
}
