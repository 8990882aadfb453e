/**
 * The reward stage: load a reward program, check it like a compiler, and
 * evaluate it in an isolated-vm sandbox once per tick or in batches.
 * See docs/reward-programs.md (the file format) and docs/sandbox.md (why and how).
 */
import { readFile, stat } from 'node:fs/promises';
import { RewarddError } from '../core/errors.js';

export { RewardRuntime, REWARD_RUNTIME_DEFAULTS, type RewardProgramInfo, type RewardRuntimeOptions } from './runtime.js';
export { newRewardOutput, newRewardBatchOutput, MAX_BATCH_REASONS, type RewardOutput, type RewardBatchOutput } from './output.js';
export { formatDiagnostic, diagnosticsOf, type Diagnostic } from './diagnostics.js';
export { STDLIB_NAMES, hostStdlib } from './stdlib.js';

/** Reward files are small programs; anything bigger is a mistake or an attack. */
export const MAX_REWARD_FILE_BYTES = 256 * 1024;

export async function loadRewardFile(path: string): Promise<{ source: string; filename: string }> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new RewarddError('E_FILE', `reward file ${path}: ${(e as Error).message}`);
  }
  if (size > MAX_REWARD_FILE_BYTES) {
    throw new RewarddError('E_FILE', `reward file ${path}: expected at most ${MAX_REWARD_FILE_BYTES} bytes, found ${size}`);
  }
  const source = await readFile(path, 'utf8');
  return { source, filename: path };
}
export { checkRewardProgramHere, type CheckOptions, type CheckReport, type TermStats, type ProbeResult } from './check.js';
export { checkRewardProgram } from './check-isolated.js';
export { RewardHost, HostDiedError, REWARD_HOST_DEFAULTS, type RewardHostOptions } from './host/reward-host.js';
export type { HostDeath, HostDeathReason } from './host/death.js';
