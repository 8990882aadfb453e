import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (port 0),
 * for the authoring tests. It answers POST /v1/chat/completions from a queue
 * of scripted replies, one per request, and keeps every request it received
 * (body and headers) for the test to inspect. Replies mimic what real servers
 * send: the OpenAI response shape with usage, a 429 with Retry-After, a 500,
 * a reply that never comes (timeout), finish_reason "length", and servers
 * that ignore n (Ollama, llama-server) by answering with one choice.
 */
export type Reply =
  /** A completion. `content` per choice; with n > 1 and `ignoreN` unset, choices repeat the list cyclically. */
  | { kind: 'answer'; content: string | string[]; finishReason?: string | string[]; ignoreN?: boolean }
  /** Any HTTP status with a JSON error body. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Hold the request open this long without answering, then drop it. */
  | { kind: 'hang'; ms: number };

export interface ReceivedRequest {
  body: { model: string; messages: Array<{ role: string; content: string }>; n?: number; max_tokens?: number; temperature?: number };
  headers: IncomingMessage['headers'];
  /** What the server did with it. */
  reply: Reply['kind'] | 'unscripted';
}

export class FakeLlm {
  readonly requests: ReceivedRequest[] = [];
  private readonly queue: Reply[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(private readonly server: Server, readonly url: string, private readonly fallback: ((r: ReceivedRequest) => Reply) | undefined) {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** fallback: what to answer when the queue is empty (else a 500 saying the script ran out). */
  static async start(fallback?: (r: ReceivedRequest) => Reply): Promise<FakeLlm> {
    let self: FakeLlm | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    self = new FakeLlm(server, `http://127.0.0.1:${port}/v1`, fallback);
    return self;
  }

  script(...replies: Reply[]): this {
    this.queue.push(...replies);
    return this;
  }

  get pending(): number {
    return this.queue.length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    // A client that gave up (timed out) before this request was read gets nothing, and takes no scripted reply.
    if (req.socket.destroyed) return;
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedRequest['body'];
    const r: ReceivedRequest = { body, headers: req.headers, reply: 'unscripted' };
    this.requests.push(r);
    const reply = this.queue.shift() ?? this.fallback?.(r);
    if (!reply) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'fake LLM: script ran out' } }));
      return;
    }
    r.reply = reply.kind;
    if (reply.kind === 'hang') {
      setTimeout(() => req.socket.destroy(), reply.ms).unref();
      return;
    }
    if (reply.kind === 'status') {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify({ error: { message: reply.message ?? `scripted ${reply.status}`, type: 'scripted' } }));
      return;
    }
    const list = Array.isArray(reply.content) ? reply.content : [reply.content];
    const n = reply.ignoreN ? 1 : Math.max(1, body.n ?? 1);
    const reasons = Array.isArray(reply.finishReason) ? reply.finishReason : [reply.finishReason ?? 'stop'];
    const choices = Array.from({ length: n }, (_, i) => ({ index: i, message: { role: 'assistant', content: list[i % list.length] }, finish_reason: reasons[i % reasons.length] }));
    const promptTokens = JSON.stringify(body.messages).length >> 2;
    const completionTokens = choices.reduce((a, c) => a + (c.message.content!.length >> 2), 0);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id: `chatcmpl-fake-${this.requests.length}`, object: 'chat.completion', created: 1_790_000_000, model: body.model, choices, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } }),
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A model's answer: some prose around one fenced program. */
export const fenced = (code: string, lang = 'js'): string => `Here is a reward program for the task.\n\n\`\`\`${lang}\n${code.trim()}\n\`\`\`\n\nThe progress term dominates; the cost per step makes finishing early pay.`;
