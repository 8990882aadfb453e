/**
 * What the control loop needs from the reward and safety rooms, stated as
 * structural interfaces so the loop can be driven by the real sandbox and
 * filter in the daemon and by plain objects in tests.
 */
import type { RewardOutput } from '../reward/output.js';

/** One step's reward, written in place: the reward room's own output type. */
export type RewardOutputLike = RewardOutput;

/**
 * A reward version as the control loop drives it: pipelined. `submit` sends a
 * step right after its command went out and returns a ticket; `result` writes
 * that step's result once it is known (true) and returns false while it is
 * still being computed. Results come in submission order. Neither throws:
 * failures are statuses. The daemon's evaluators run the program in a reward
 * host process (src/reward/host/live-reward.ts); tests and the bench also use
 * an in-thread one (src/reward/in-thread-reward.ts).
 */
export interface RewardEvaluator {
  readonly info: {
    readonly version: string;
    readonly sha256: string;
    readonly name: string;
    readonly termNames: readonly string[];
    readonly weights: Readonly<Record<string, number>>;
    readonly source: string;
    readonly filename: string;
  };
  /** False until the evaluator can take steps (a live host has said HELLO); a swap waits for it. */
  readonly ready: boolean;
  beginEpisode(episode: { index: number; id: string }): void;
  /** `raw`: the float32-rounded raw observation (robot order), read only by programs that declare meta.raw. */
  submit(obs: Float32Array, action: Float32Array, dt: number, raw?: Float32Array): number;
  result(ticket: number, out: RewardOutputLike): boolean;
  dispose(): void;
}

export interface ActionFilter {
  /** Writes the action to apply into out; returns SafetyFlag bits for what it changed. */
  apply(commanded: Float32Array, commandedAtNs: bigint | null, nowNs: bigint, out: Float32Array): number;
  estop(reason: string): void;
  resetEstop(): void;
  arm(): void;
  disarm(): void;
  /** Read every tick: a field, where state() builds a snapshot object. */
  readonly estopLatched: boolean;
  state(): { armed: boolean; estop: { latched: boolean } };
}
