import { RewarddError } from '../core/errors.js';

/**
 * Options of the chat-completions client, with one normaliser and every
 * default written once here (docs/authoring.md repeats them).
 */
export interface LlmOptions {
  /** Base URL ending in /v1: https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama), ... */
  endpoint: string;
  model: string;
  /** From REWARDD_LLM_API_KEY or OPENAI_API_KEY; sent as a Bearer token, never logged or stored. Absent for servers without auth. */
  apiKey?: string;
  temperature: number;
  /** max_tokens of each request. */
  maxTokens: number;
  /** Per request, from sending it to the whole answer (monotonic), seconds. */
  timeoutS: number;
  /** Retries after a 429, a 5xx, a timeout or a dropped connection (so at most retries + 1 attempts per request). */
  retries: number;
  /** First backoff, doubled after each failed attempt (± 25 % jitter), seconds. */
  backoffS: number;
  /** Cap on one wait, including a server's Retry-After, seconds. */
  maxBackoffS: number;
  /** finish_reason "length": ask the model to continue where it stopped, at most this many times. */
  continuations: number;
}

export const LLM_DEFAULTS = {
  temperature: 1.0,
  maxTokens: 4096,
  timeoutS: 300,
  retries: 5,
  backoffS: 1,
  maxBackoffS: 60,
  continuations: 2,
} as const;

export type LlmOptionsInput = Partial<Omit<LlmOptions, 'endpoint' | 'model'>> & { endpoint?: string | undefined; model?: string | undefined };

/** The API key from the environment; never from a flag (it would end up in shell history and ps). */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const k = env.REWARDD_LLM_API_KEY ?? env.OPENAI_API_KEY;
  return k !== undefined && k.trim() !== '' ? k.trim() : undefined;
}

export function normaliseLlmOptions(o: LlmOptionsInput): LlmOptions {
  if (o.endpoint === undefined || o.endpoint === '') throw new RewarddError('E_CONFIG', '--endpoint: expected the base URL of an OpenAI-compatible API ending in /v1 (e.g. http://127.0.0.1:11434/v1), found none');
  let url: URL;
  try {
    url = new URL(o.endpoint);
  } catch {
    throw new RewarddError('E_CONFIG', `--endpoint: expected a URL ending in /v1, found "${o.endpoint}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RewarddError('E_CONFIG', `--endpoint: expected an http or https URL, found "${url.protocol}"`);
  if (url.username !== '' || url.password !== '') throw new RewarddError('E_CONFIG', '--endpoint: expected no credentials in the URL (put the key in REWARDD_LLM_API_KEY), found some');
  if (!/\/v1\/?$/.test(url.pathname)) throw new RewarddError('E_CONFIG', `--endpoint: expected a base URL ending in /v1 (the client appends /chat/completions), found "${o.endpoint}"`);
  if (o.model === undefined || o.model.trim() === '') throw new RewarddError('E_CONFIG', '--model: expected a model name (gpt-4o, qwen2.5-coder:7b, ...), found none');
  const num = (flag: string, v: number | undefined, dflt: number, lo: number, hi: number, integer = false): number => {
    const n = v ?? dflt;
    if (!(n >= lo && n <= hi) || (integer && !Number.isInteger(n))) throw new RewarddError('E_CONFIG', `--${flag}: expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], found ${String(v)}`);
    return n;
  };
  return {
    endpoint: url.href.replace(/\/$/, ''),
    model: o.model.trim(),
    ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
    temperature: num('temperature', o.temperature, LLM_DEFAULTS.temperature, 0, 2),
    maxTokens: num('max-tokens', o.maxTokens, LLM_DEFAULTS.maxTokens, 16, 1_000_000, true),
    timeoutS: num('timeout-s', o.timeoutS, LLM_DEFAULTS.timeoutS, 0.05, 3600),
    retries: num('retries', o.retries, LLM_DEFAULTS.retries, 0, 20, true),
    backoffS: num('backoff-s', o.backoffS, LLM_DEFAULTS.backoffS, 0, 600),
    maxBackoffS: num('max-backoff-s', o.maxBackoffS, LLM_DEFAULTS.maxBackoffS, 0, 3600),
    continuations: num('continuations', o.continuations, LLM_DEFAULTS.continuations, 0, 10, true),
  };
}
