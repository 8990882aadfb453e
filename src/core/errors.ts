/**
 * Stable error codes. A message says what was expected and what was found,
 * so a user (or an LLM fixing a reward file) can act on it from the line alone.
 * Codes are part of the public contract: add, never renumber or reuse.
 */
export const ErrorCodes = {
  E_CONFIG: 'bad option or configuration value',
  E_FILE: 'a file could not be read or parsed',
  E_ROBOT: 'bad robot description',
  E_CALIBRATION: 'bad calibration file',
  E_POLICY: 'bad policy folder or manifest',
  E_POLICY_CONTRACT: 'policy contract does not match the robot',
  E_REWARD_COMPILE: 'reward program does not compile',
  E_REWARD_EXPORTS: 'reward program exports are wrong',
  E_REWARD_TIMEOUT: 'reward program exceeded its time budget',
  E_REWARD_THREW: 'reward program threw',
  E_REWARD_OUTPUT: 'reward program returned a bad value',
  E_REWARD_COLUMNS: 'reward program\'s rewardColumns does not compute the same reward as reward()',
  E_REWARD_MEMORY: 'reward program exceeded its memory limit',
  E_REWARD_CRASHED: 'the reward host process running the program died',
  E_REWARD_LATE: 'the reward host did not answer in time for the step',
  E_REWARD_SOURCE: 'a pushed reward source is empty, too large or unreadable',
  E_PROTOCOL: 'wire protocol violation',
  E_LINK: 'link to the microcontroller failed',
  E_BATCH: 'bad step batch',
  E_MQTT: 'MQTT failure',
  E_OUTBOX: 'outbox failure',
  E_STORE: 'episode store failure',
  E_VISION: 'bad vision model, camera or prompts',
  E_LLM: 'the LLM endpoint failed or gave no usable answer',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class RewarddError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = 'RewarddError';
  }
}

export const isRewarddError = (e: unknown): e is RewarddError => e instanceof RewarddError;

/** Describe a found value briefly for "expected X, found Y" messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a string "${v.slice(0, 37)}..."` : `"${v}"`;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `non-finite ${v}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
