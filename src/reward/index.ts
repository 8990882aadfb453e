/**
 * The reward stage: load a reward program, check it like a compiler, and
 * evaluate it in an isolated-vm sandbox once per tick or in batches.
 * See docs/reward-programs.md (the file format) and docs/sandbox.md (why and how).
 */
export { RewardRuntime, REWARD_RUNTIME_DEFAULTS, type RewardProgramInfo, type RewardRuntimeOptions } from './runtime.js';
export { newRewardOutput, newRewardBatchOutput, MAX_BATCH_REASONS, type RewardOutput, type RewardBatchOutput } from './output.js';
export { formatDiagnostic, diagnosticsOf, type Diagnostic } from './diagnostics.js';
export { STDLIB_NAMES, hostStdlib } from './stdlib.js';

export { loadRewardFile, MAX_REWARD_FILE_BYTES } from './reward-file.js';
export { checkRewardProgramHere, type CheckOptions, type CheckReport, type TermStats, type ProbeResult } from './check.js';
export { checkRewardProgram } from './check-isolated.js';
export { RewardHost, HostDiedError, REWARD_HOST_DEFAULTS, type RewardHostOptions } from './host/reward-host.js';
export type { HostDeath, HostDeathReason } from './host/death.js';
