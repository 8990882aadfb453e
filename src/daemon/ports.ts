/**
 * What the control loop needs from the reward and safety rooms, stated as
 * structural interfaces so the loop can be driven by the real sandbox and
 * filter in the daemon and by plain objects in tests.
 */
import type { RewardOutput } from '../reward/output.js';

/** One step's reward, written in place: the reward room's own output type. */
export type RewardOutputLike = RewardOutput;

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
  beginEpisode(episode: { index: number; id: string }): void;
  /** `raw`: the float32-rounded raw observation (robot order), read only by programs that declare meta.raw. */
  evaluate(obs: Float32Array, action: Float32Array, dt: number, out: RewardOutputLike, raw?: Float32Array): void;
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
