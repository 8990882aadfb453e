/**
 * A client for OpenAI-compatible chat completions (POST {endpoint}/chat/completions)
 * over plain fetch: OpenAI, Ollama's /v1, llama.cpp's llama-server, vLLM.
 *
 * What real servers do, and what this does about it:
 * - 429 (rate limit) and 5xx, a dropped connection, a timeout: retried up to
 *   `retries` times, waiting the server's Retry-After (or retry-after-ms) when
 *   it gives one, else backoffS × 2^attempt ± 25 %, every wait capped at
 *   maxBackoffS. Other 4xx answers are final (a wrong model name, a bad key).
 * - finish_reason "length": the client CONTINUES (it does not retry): the cut
 *   answer goes back as the assistant turn with a request to go on from where
 *   it stopped, at most `continuations` times; the parts are joined. Still cut
 *   after that, the answer is returned marked truncated.
 * - no `n`: several answers to one conversation are asked for with n = k once;
 *   a server that returns fewer choices, or refuses n with a 400, is asked one
 *   answer per request from then on.
 * Every request and answer goes to the candidates' transcripts as it happens.
 */
import { RewarddError } from '../core/errors.js';
import type { LlmOptions } from './llm-options.js';
import { MAX_BODY_CHARS, wallTime, type ExchangeSink, type TokenUsage } from './transcript.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatAnswer {
  content: string;
  /** The last part's finish_reason ("stop", "length", ...). */
  finishReason: string;
  /** Continuation requests made after finish_reason "length". */
  continued: number;
  /** Still cut by the token limit after every continuation. */
  truncated: boolean;
  /** Requests whose answers make up this one (a shared n > 1 request counts for each answer it served). */
  requests: number;
  usage: Required<TokenUsage>;
  ms: number;
}

export class LlmError extends RewarddError {
  constructor(message: string, readonly status?: number) {
    super('E_LLM', message);
  }
}

/** The run was interrupted (Ctrl-C): not a failure of the endpoint. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

export const CONTINUE_PROMPT = 'Your answer was cut off by the token limit. Continue exactly where it stopped: no repetition, no preamble. Close the code block when the program is complete.';

interface Choice {
  content: string;
  finishReason: string;
}

interface Posted {
  choices: Choice[];
  usage: Required<TokenUsage>;
  ms: number;
}

const zeroUsage = (): Required<TokenUsage> => ({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Interrupted());
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    const onAbort = (): void => (clearTimeout(t), reject(new Interrupted()));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Seconds to wait from Retry-After (delta seconds or an HTTP date) or retry-after-ms; undefined if absent or unreadable. */
export function retryAfterS(h: Headers): number | undefined {
  const ms = h.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms) / 1000;
  const v = h.get('retry-after');
  if (v === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  // An HTTP date says when, on the server's wall clock: the only place wall time enters a wait.
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, (at - Date.now()) / 1000) : undefined;
}

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  // Some servers send content parts: [{ type: 'text', text }].
  if (Array.isArray(c)) return c.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  return '';
}

export class ChatClient {
  /** Whether the server honours n > 1; unknown until it has been asked. */
  private nSupported: boolean | undefined;
  private nextRequest = 0;
  /** Every request of this client, each counted once. */
  readonly totals = { requests: 0, attempts: 0, ...zeroUsage() };

  /** redact: applied to every error text this client makes from a server's answer (a server may echo the key). */
  constructor(readonly opts: LlmOptions, private readonly signal?: AbortSignal, private readonly redact: (s: string) => string = (s) => s) {}

  get url(): string {
    return `${this.opts.endpoint}/chat/completions`;
  }

  /** One answer, with continuations after finish_reason "length". */
  async answer(messages: ChatMessage[], sink: ExchangeSink, purpose: string): Promise<ChatAnswer> {
    const p = await this.post(messages, 1, [sink], purpose);
    const first = p.choices[0];
    if (!first) throw new LlmError(`expected one choice in the answer to ${purpose}, found none`);
    return this.finish(messages, first, p, sink, purpose);
  }

  /**
   * k answers to the same conversation (one per sink). A failure of one
   * continuation or fallback request is that answer's failure, not the others'.
   */
  async sample(messages: ChatMessage[], sinks: ExchangeSink[], purpose: string): Promise<Array<ChatAnswer | LlmError>> {
    const k = sinks.length;
    const out: Array<ChatAnswer | LlmError> = [];
    if (k > 1 && this.nSupported !== false) {
      try {
        const p = await this.post(messages, k, sinks, `${purpose} (n=${k})`);
        if (p.choices.length < k) this.nSupported = false;
        else this.nSupported = true;
        for (let i = 0; i < Math.min(k, p.choices.length); i++) out.push(await this.finish(messages, p.choices[i]!, p, sinks[i]!, purpose).catch(failure));
      } catch (e) {
        // A 400 after asking for n > 1: a server that refuses n. Anything else is a real failure.
        if (!(e instanceof LlmError && e.status === 400)) throw e;
        this.nSupported = false;
      }
    }
    for (let i = out.length; i < k; i++) out.push(await this.answer(messages, sinks[i]!, purpose).catch(failure));
    return out;
  }

  private async finish(messages: ChatMessage[], first: Choice, p: Posted, sink: ExchangeSink, purpose: string): Promise<ChatAnswer> {
    const a: ChatAnswer = { content: first.content, finishReason: first.finishReason, continued: 0, truncated: false, requests: 1, usage: { ...p.usage }, ms: p.ms };
    while (a.finishReason === 'length' && a.continued < this.opts.continuations) {
      const more = [...messages, { role: 'assistant' as const, content: a.content }, { role: 'user' as const, content: CONTINUE_PROMPT }];
      const q = await this.post(more, 1, [sink], `${purpose}, continuation ${a.continued + 1}`);
      const c = q.choices[0];
      if (!c) throw new LlmError(`expected one choice in the continuation of ${purpose}, found none`);
      // A model that reopens the code fence it was writing in: drop the second opening.
      a.content += a.content.includes('```') ? c.content.replace(/^\s*```[a-zA-Z]*\n/, '') : c.content;
      a.finishReason = c.finishReason;
      a.continued++;
      a.requests++;
      a.ms += q.ms;
      for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const) a.usage[k] += q.usage[k];
    }
    a.truncated = a.finishReason === 'length';
    return a;
  }

  /** One logical request with its retries. Throws LlmError when it cannot get an answer, Interrupted on abort. */
  private async post(messages: ChatMessage[], n: number, sinks: ExchangeSink[], purpose: string): Promise<Posted> {
    const o = this.opts;
    const id = this.nextRequest++;
    const body = { model: o.model, messages, temperature: o.temperature, max_tokens: o.maxTokens, ...(n > 1 ? { n } : {}), stream: false };
    const log = (e: Parameters<ExchangeSink['write']>[0]): void => sinks.forEach((s) => s.write(e));
    log({ kind: 'request', request: id, wallTime: wallTime(), url: this.url, body, purpose });
    this.totals.requests++;
    let last = '';
    let serverSaysWaitS: number | undefined;
    for (let attempt = 0; attempt <= o.retries; attempt++) {
      if (attempt > 0) {
        // The server's own Retry-After first; else exponential backoff with jitter, so clients that failed together do not retry together.
        const wait = Math.min(o.maxBackoffS, serverSaysWaitS ?? o.backoffS * 2 ** (attempt - 1) * (0.75 + 0.5 * Math.random()));
        log({ kind: 'retry', request: id, attempt, wallTime: wallTime(), reason: last, waitS: wait });
        await sleep(wait * 1000, this.signal);
      }
      this.totals.attempts++;
      const r = await this.attempt(body, id, attempt, log);
      if (r.kind === 'ok') {
        for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const) this.totals[k] += r.posted.usage[k];
        return r.posted;
      }
      if (r.kind === 'final') throw new LlmError(this.redact(`${purpose}: ${r.reason}`), r.status);
      last = r.reason;
      serverSaysWaitS = r.retryAfterS;
    }
    throw new LlmError(this.redact(`${purpose}: no answer after ${o.retries + 1} attempt${o.retries === 0 ? '' : 's'}; last: ${last}`));
  }

  private async attempt(
    body: Record<string, unknown>,
    id: number,
    attempt: number,
    log: (e: Parameters<ExchangeSink['write']>[0]) => void,
  ): Promise<{ kind: 'ok'; posted: Posted } | { kind: 'retry'; reason: string; retryAfterS?: number } | { kind: 'final'; reason: string; status?: number }> {
    const o = this.opts;
    if (this.signal?.aborted) throw new Interrupted();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), o.timeoutS * 1000);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout.signal]) : timeout.signal;
    const t0 = performance.now();
    const ms = (): number => performance.now() - t0;
    let status = 0;
    let text = '';
    let headers: Headers;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(o.apiKey !== undefined ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal,
      });
      status = res.status;
      headers = res.headers;
      text = await res.text();
    } catch (e) {
      if (this.signal?.aborted) throw new Interrupted();
      const reason = timeout.signal.aborted ? `no complete answer within ${o.timeoutS} s (--timeout-s)` : `connection failed: ${describeFetchError(e)}`;
      log({ kind: 'failure', request: id, attempt, wallTime: wallTime(), reason, ms: ms() });
      return { kind: 'retry', reason };
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const stored = json ?? (text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}... (${text.length} characters, cut)` : text);
    const parsed = status === 200 ? parseCompletion(json) : undefined;
    log({ kind: 'response', request: id, attempt, wallTime: wallTime(), status, ms: ms(), body: stored, ...(parsed && typeof parsed !== 'string' ? { usage: parsed.usage, finishReasons: parsed.choices.map((c) => c.finishReason) } : {}) });
    if (status === 200) {
      if (typeof parsed === 'string') return { kind: 'retry', reason: `HTTP 200 but ${parsed}` };
      return { kind: 'ok', posted: { ...parsed!, ms: ms() } };
    }
    const detail = errorDetail(json, text);
    if (status === 429 || status >= 500 || status === 408) {
      const ra = retryAfterS(headers);
      return { kind: 'retry', reason: `HTTP ${status}${detail}`, ...(ra !== undefined ? { retryAfterS: ra } : {}) };
    }
    return { kind: 'final', reason: `expected HTTP 200, found ${status}${detail}`, status };
  }
}

const failure = (e: unknown): LlmError => {
  if (e instanceof LlmError) return e;
  throw e;
};

function describeFetchError(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message;
}

function errorDetail(json: unknown, text: string): string {
  const m = (json as { error?: { message?: unknown } | string } | undefined)?.error;
  const msg = typeof m === 'string' ? m : typeof m?.message === 'string' ? m.message : text.slice(0, 200);
  return msg.trim() ? `: ${msg.trim().split('\n')[0]!.slice(0, 300)}` : '';
}

/** The choices and usage of a chat completion, or a sentence saying what was wrong with it. */
export function parseCompletion(json: unknown): { choices: Choice[]; usage: Required<TokenUsage> } | string {
  const choices = (json as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) return `expected a chat completion with choices, found ${json === undefined ? 'a body that is not JSON' : 'no choices'}`;
  const u = (json as { usage?: TokenUsage }).usage ?? {};
  const usage = { prompt_tokens: Number(u.prompt_tokens ?? 0) || 0, completion_tokens: Number(u.completion_tokens ?? 0) || 0, total_tokens: Number(u.total_tokens ?? 0) || 0 };
  const sorted = [...choices].sort((a, b) => Number((a as { index?: number }).index ?? 0) - Number((b as { index?: number }).index ?? 0));
  return {
    usage,
    choices: sorted.map((c) => {
      const x = c as { message?: { content?: unknown }; finish_reason?: unknown };
      return { content: contentText(x.message?.content), finishReason: typeof x.finish_reason === 'string' ? x.finish_reason : 'unknown' };
    }),
  };
}
