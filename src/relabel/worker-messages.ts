import type { RewardProgramInfo } from '../reward/runtime.js';
import type { Diagnostic } from '../reward/diagnostics.js';
import type { EpisodeJob, EpisodeOutcome, ProgramSpec, RuntimeTuning, WorkerFailure } from './episode-job.js';

/**
 * What the CLI process and a relabel worker process (worker-main.ts) say to
 * each other over Node's IPC channel (advanced serialization: typed arrays
 * cross as copies). One job in flight per worker; `programs` may change
 * between jobs, and the worker keeps the runtimes it compiled (warm).
 */
export type ToWorker =
  | { type: 'programs'; key: string; programs: ProgramSpec[]; tuning: RuntimeTuning }
  | { type: 'identify'; observationNames: string[]; actionNames: string[] }
  | { type: 'job'; id: number; job: EpisodeJob }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'identity'; programs: ProgramIdentity[] }
  /** The programs did not compile or load: the diagnostics, as RewardRuntime.create throws them. */
  | { type: 'rejected'; diagnostics: Diagnostic[]; message: string }
  /** Heartbeat: steps evaluated so far in job `id` (at most four a second), and whether evaluation has started. */
  | { type: 'progress'; id: number; steps: number; evaluating: boolean }
  | { type: 'done'; id: number; outcome: EpisodeOutcome };

/** RewardProgramInfo without the source and file name (the CLI process has them) and the vision prompts. */
export type ProgramIdentity = Omit<RewardProgramInfo, 'source' | 'filename' | 'vision'>;

export type { WorkerFailure };
