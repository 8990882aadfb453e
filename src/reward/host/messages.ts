import type { CheckOptions, CheckReport } from '../check.js';
import type { Diagnostic } from '../diagnostics.js';
import type { RewardProgramInfo, RewardRuntimeOptions } from '../runtime.js';

/**
 * The supervisor's IPC with a reward host (Node's child_process channel,
 * 'advanced' serialization, so typed arrays cross as typed arrays). One
 * request at a time; every request gets exactly one reply or the host dies.
 * Steps of a live host do not use this channel: they go through FIFOs (wire.ts).
 */
export interface DryRunSegment {
  episode: string;
  obs: Float32Array;
  actions: Float32Array;
  dt: number | Float64Array;
  raw: Float32Array | null;
}

export type ToHost =
  | { t: 'load'; source: string; filename: string; options: RewardRuntimeOptions }
  /** Evaluates each segment as one episode from its first step; stops at the first failed step. */
  | { t: 'dry-run'; segments: DryRunSegment[] }
  | { t: 'check'; options: CheckOptions }
  /** Rebuilds a fresh sandbox for the loaded program and serves steps on the FIFOs until EOF. */
  | { t: 'live'; requestFifo: string; replyFifo: string };

export type FromHost =
  | { t: 'ready'; pid: number; rssBytes: number }
  | { t: 'loaded'; info: RewardProgramInfo }
  | { t: 'load-failed'; message: string; diagnostics: Diagnostic[] }
  | { t: 'dry-run'; steps: number; failure: { segment: number; step: number; episode: string; status: number; reason: string } | null }
  | { t: 'check'; report: CheckReport }
  | { t: 'live' }
  | { t: 'error'; message: string };
