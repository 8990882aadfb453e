import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient, CONTINUE_PROMPT, LlmError, retryAfterS } from '../../src/authoring/llm-client.js';
import { normaliseLlmOptions, type LlmOptionsInput } from '../../src/authoring/llm-options.js';
import { Redactor, Transcript, type ExchangeEvent } from '../../src/authoring/transcript.js';
import { FakeLlm } from '../helpers/fake-llm.js';
import { tempDirs } from '../helpers/temp.js';

const KEY = 'sk-test-0123456789-NEVER-STORED';
const temp = tempDirs();
let server: FakeLlm | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A client against a fresh fake server, with fast retries, and a transcript in a temp folder. */
async function setup(o: LlmOptionsInput = {}): Promise<{ fake: FakeLlm; client: ChatClient; log: Transcript; events: () => ExchangeEvent[] }> {
  const fake = await FakeLlm.start();
  server = fake;
  const redact = new Redactor([KEY]);
  const client = new ChatClient(normaliseLlmOptions({ endpoint: fake.url, model: 'fake-model', apiKey: KEY, backoffS: 0.01, maxBackoffS: 2, timeoutS: 5, ...o }), undefined, (s) => redact.text(s));
  const path = join(temp('rewardd-llm-'), 'x.exchanges.jsonl');
  const log = new Transcript(path, redact);
  return { fake, client, log, events: () => readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as ExchangeEvent) };
}

const user = [{ role: 'user' as const, content: 'write a reward' }];

describe('the chat-completions client against a scripted OpenAI-compatible server', () => {
  it('sends the model, parameters and the key as a Bearer token; logs request and answer with usage, never the key', async () => {
    const { fake, client, log, events } = await setup();
    fake.script({ kind: 'answer', content: 'hello' });
    const a = await client.answer(user, log, 'first answer');
    expect(a).toMatchObject({ content: 'hello', finishReason: 'stop', continued: 0, truncated: false, requests: 1 });
    expect(a.usage.total_tokens).toBeGreaterThan(0);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(fake.requests[0]!.body).toMatchObject({ model: 'fake-model', temperature: 1, max_tokens: 4096 });
    const ev = events();
    expect(ev.map((e) => e.kind)).toEqual(['request', 'response']);
    expect(ev[1]).toMatchObject({ status: 200, usage: { total_tokens: a.usage.total_tokens }, finishReasons: ['stop'] });
    expect(readFileSync(log.path, 'utf8')).not.toContain(KEY);
  });

  it('429 with Retry-After: waits what the server says, then succeeds', async () => {
    const { fake, client, log, events } = await setup();
    fake.script({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { kind: 'answer', content: 'ok' });
    expect((await client.answer(user, log, 'x')).content).toBe('ok');
    const retry = events().find((e) => e.kind === 'retry');
    expect(retry).toMatchObject({ attempt: 1, waitS: 1 });
    expect((retry as { reason: string }).reason).toMatch(/^HTTP 429/);
    expect(client.totals).toMatchObject({ requests: 1, attempts: 2 });
  });

  it('a 500 is retried with backoff; a server that keeps failing gives a coded error after retries + 1 attempts', async () => {
    const { fake, client, log, events } = await setup({ retries: 2 });
    fake.script({ kind: 'status', status: 500 }, { kind: 'answer', content: 'ok' });
    expect((await client.answer(user, log, 'x')).content).toBe('ok');
    fake.script({ kind: 'status', status: 503 }, { kind: 'status', status: 502 }, { kind: 'status', status: 500, message: `bad key ${KEY}` });
    const e = await client.answer(user, log, 'second').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LlmError);
    expect((e as Error).message).toMatch(/^E_LLM: second: no answer after 3 attempts; last: HTTP 500: bad key \[redacted\]$/);
    expect(events().filter((x) => x.kind === 'retry').map((x) => (x as { waitS: number }).waitS).every((w) => w > 0 && w <= 2)).toBe(true);
    expect(readFileSync(log.path, 'utf8')).not.toContain(KEY);
  });

  it('other 4xx answers are final: no retry, the server\'s message in one line, the key redacted', async () => {
    const { fake, client, log } = await setup();
    fake.script({ kind: 'status', status: 401, message: `Incorrect API key provided: ${KEY}` });
    const e = (await client.answer(user, log, 'x').catch((x: unknown) => x)) as LlmError;
    expect(e.status).toBe(401);
    expect(e.message).toBe('E_LLM: x: expected HTTP 200, found 401: Incorrect API key provided: [redacted]');
    expect(fake.requests).toHaveLength(1);
  });

  it('a request that gets no answer times out and is retried', async () => {
    const { fake, client, log, events } = await setup({ timeoutS: 3 });
    fake.script({ kind: 'hang', ms: 10_000 }, { kind: 'answer', content: 'late but fine' });
    expect((await client.answer(user, log, 'x')).content).toBe('late but fine');
    const f = events().find((e) => e.kind === 'failure') as { reason: string };
    expect(f.reason).toBe('no complete answer within 3 s (--timeout-s)');
  });

  it('finish_reason "length": continues (does not retry), joins the parts, and marks an answer still cut as truncated', async () => {
    const { fake, client, log } = await setup({ continuations: 1 });
    fake.script({ kind: 'answer', content: '```js\nexport const meta = ', finishReason: 'length' }, { kind: 'answer', content: '```js\n{ name: "x" };\n```' });
    const a = await client.answer(user, log, 'x');
    expect(a).toMatchObject({ content: '```js\nexport const meta = { name: "x" };\n```', continued: 1, truncated: false, requests: 2 });
    const cont = fake.requests[1]!.body.messages;
    expect(cont.slice(-2)).toEqual([{ role: 'assistant', content: '```js\nexport const meta = ' }, { role: 'user', content: CONTINUE_PROMPT }]);
    fake.script({ kind: 'answer', content: 'a', finishReason: 'length' }, { kind: 'answer', content: 'b', finishReason: 'length' });
    expect(await client.answer(user, log, 'y')).toMatchObject({ content: 'ab', continued: 1, truncated: true });
  });

  it('asks for n answers at once; a server that ignores n (one choice) is asked one answer per request from then on', async () => {
    const { fake, client, log } = await setup();
    fake.script({ kind: 'answer', content: ['one', 'two', 'three'] });
    expect((await client.sample(user, [log, log, log], 's')).map((a) => (a as { content: string }).content)).toEqual(['one', 'two', 'three']);
    expect(fake.requests.map((r) => r.body.n)).toEqual([3]);
    const { fake: f2, client: c2, log: l2 } = await setup();
    f2.script({ kind: 'answer', content: 'a', ignoreN: true }, { kind: 'answer', content: 'b' }, { kind: 'answer', content: 'c' }, { kind: 'answer', content: 'd' }, { kind: 'answer', content: 'e' });
    expect((await c2.sample(user, [l2, l2, l2], 's')).map((a) => (a as { content: string }).content)).toEqual(['a', 'b', 'c']);
    expect((await c2.sample(user, [l2, l2], 's')).map((a) => (a as { content: string }).content)).toEqual(['d', 'e']);
    expect(f2.requests.map((r) => r.body.n)).toEqual([3, undefined, undefined, undefined, undefined]);
    await fake.close();
  });

  it('a 400 refusing n falls back to one request per answer', async () => {
    const { fake, client, log } = await setup();
    fake.script({ kind: 'status', status: 400, message: "'n' is not supported" }, { kind: 'answer', content: 'a' }, { kind: 'answer', content: 'b' });
    expect((await client.sample(user, [log, log], 's')).map((a) => (a as { content: string }).content)).toEqual(['a', 'b']);
    expect(fake.requests.map((r) => r.body.n)).toEqual([2, undefined, undefined]);
  });

  it('the options normaliser rejects a bad endpoint, a missing model and credentials in the URL with one line each', () => {
    expect(() => normaliseLlmOptions({ endpoint: 'http://127.0.0.1:8080', model: 'm' })).toThrow(/^E_CONFIG: --endpoint: expected a base URL ending in \/v1/);
    expect(() => normaliseLlmOptions({ endpoint: 'http://127.0.0.1:8080/v1' })).toThrow(/^E_CONFIG: --model: expected a model name/);
    expect(() => normaliseLlmOptions({ endpoint: 'https://u:p@api.example/v1', model: 'm' })).toThrow(/no credentials in the URL/);
    expect(() => normaliseLlmOptions({ endpoint: 'ftp://x/v1', model: 'm' })).toThrow(/expected an http or https URL/);
    expect(normaliseLlmOptions({ endpoint: 'http://127.0.0.1:11434/v1/', model: ' qwen ' })).toMatchObject({ endpoint: 'http://127.0.0.1:11434/v1', model: 'qwen', retries: 5, timeoutS: 300 });
  });

  it('Retry-After as seconds, as an HTTP date, and retry-after-ms', () => {
    expect(retryAfterS(new Headers({ 'retry-after': '7' }))).toBe(7);
    expect(retryAfterS(new Headers({ 'retry-after-ms': '250' }))).toBe(0.25);
    const inTen = new Date(Date.now() + 10_000).toUTCString();
    expect(retryAfterS(new Headers({ 'retry-after': inTen }))).toBeGreaterThan(5);
    expect(retryAfterS(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterS(new Headers())).toBeUndefined();
  });
});
