/**
 * The LLM flags `reward generate` and `reward refine` share, their help lines,
 * and Ctrl-C: the first one stops the run after writing what it has (every
 * file is already written as it goes), a second one exits at once.
 */
import { ChatClient } from '../authoring/llm-client.js';
import { apiKeyFromEnv, LLM_DEFAULTS, normaliseLlmOptions } from '../authoring/llm-options.js';
import { Redactor } from '../authoring/transcript.js';
import { RewarddError } from '../core/errors.js';
import type { FlagSpec } from './args.js';

export const LLM_FLAGS: FlagSpec[] = [
  { flag: 'endpoint', type: 'string' },
  { flag: 'model', type: 'string' },
  { flag: 'temperature', type: 'string' },
  { flag: 'max-tokens', type: 'string' },
  { flag: 'timeout-s', type: 'string' },
  { flag: 'retries', type: 'string' },
  { flag: 'backoff-s', type: 'string' },
  { flag: 'max-backoff-s', type: 'string' },
  { flag: 'continuations', type: 'string' },
  { flag: 'repair-turns', type: 'string' },
];

export const LLM_HELP = [
  'The model (any OpenAI-compatible chat-completions API; the key, if it needs one, from',
  'REWARDD_LLM_API_KEY or OPENAI_API_KEY, never from a flag, never logged or stored):',
  '  --endpoint URL         base URL ending in /v1, e.g. https://api.openai.com/v1,',
  '                         http://127.0.0.1:11434/v1 (Ollama), http://127.0.0.1:8080/v1 (llama-server)  (required)',
  '  --model NAME           model name as the server knows it                       (required)',
  `  --temperature T        sampling temperature                                    (default: ${LLM_DEFAULTS.temperature})`,
  `  --max-tokens N         max_tokens per request                                  (default: ${LLM_DEFAULTS.maxTokens})`,
  `  --timeout-s S          per request, to the whole answer                        (default: ${LLM_DEFAULTS.timeoutS})`,
  `  --retries N            retries after 429, 5xx, timeouts, dropped connections   (default: ${LLM_DEFAULTS.retries})`,
  `  --backoff-s S          first wait, doubled per retry, unless Retry-After says  (default: ${LLM_DEFAULTS.backoffS})`,
  `  --max-backoff-s S      cap on any one wait, Retry-After included               (default: ${LLM_DEFAULTS.maxBackoffS})`,
  `  --continuations N      finish_reason "length": ask to continue, at most N times (default: ${LLM_DEFAULTS.continuations})`,
  '  --repair-turns N       reward check diagnostics sent back per sample, at most  (default: 3)',
].join('\n');

export function numberFlag(values: Record<string, string | boolean>, flag: string, integer = false): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new RewarddError('E_CONFIG', `--${flag}: expected ${integer ? 'an integer' : 'a number'}, found "${String(v)}"`);
  return n;
}

export function repairTurnsFlag(values: Record<string, string | boolean>): number {
  const n = numberFlag(values, 'repair-turns', true) ?? 3;
  if (n < 0 || n > 10) throw new RewarddError('E_CONFIG', `--repair-turns: expected an integer in [0, 10], found ${n}`);
  return n;
}

export function clientFromFlags(values: Record<string, string | boolean>, signal: AbortSignal): { client: ChatClient; redact: Redactor } {
  const str = (f: string): string | undefined => (typeof values[f] === 'string' ? (values[f] as string) : undefined);
  const apiKey = apiKeyFromEnv();
  const opts = normaliseLlmOptions({
    endpoint: str('endpoint'),
    model: str('model'),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...opt('temperature', numberFlag(values, 'temperature')),
    ...opt('maxTokens', numberFlag(values, 'max-tokens', true)),
    ...opt('timeoutS', numberFlag(values, 'timeout-s')),
    ...opt('retries', numberFlag(values, 'retries', true)),
    ...opt('backoffS', numberFlag(values, 'backoff-s')),
    ...opt('maxBackoffS', numberFlag(values, 'max-backoff-s')),
    ...opt('continuations', numberFlag(values, 'continuations', true)),
  });
  const redact = new Redactor([apiKey]);
  return { client: new ChatClient(opts, signal, (s) => redact.text(s)), redact };
}

const opt = <K extends string>(k: K, v: number | undefined): { [P in K]?: number } => (v === undefined ? {} : ({ [k]: v } as { [P in K]: number }));

/** First Ctrl-C: abort (the run writes what it has and exits 130). Second: exit at once. */
export function interruptOnSigint(what: string): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(`\n${what}: interrupted; writing what was done so far (Ctrl-C again to quit at once)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', onSigint) };
}
