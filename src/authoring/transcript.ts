import { appendFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Everything said to and by the model for one candidate, one JSON object per
 * line, appended synchronously as it happens: a Ctrl-C or a crash leaves every
 * request and answer made so far on disk. Request headers are never written
 * (the key travels only there), and every string is passed through `redact`
 * first, so a server that echoes the key in an error body cannot leak it.
 *
 * Bound: a candidate makes at most (1 + repair turns) × (1 + continuations)
 * requests of at most (1 + retries) attempts; each response body is cut at
 * MAX_BODY_CHARS.
 */
export const MAX_BODY_CHARS = 1_000_000;

export type ExchangeEvent =
  | { kind: 'request'; request: number; wallTime: string; url: string; body: unknown; purpose: string }
  | { kind: 'response'; request: number; attempt: number; wallTime: string; status: number; ms: number; body: unknown; usage?: TokenUsage; finishReasons?: string[] }
  | { kind: 'retry'; request: number; attempt: number; wallTime: string; reason: string; waitS: number }
  | { kind: 'failure'; request: number; attempt: number; wallTime: string; reason: string; ms: number };

export interface TokenUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** One destination for exchange events. A shared request (n > 1) is written to every candidate it serves. */
export interface ExchangeSink {
  write(e: ExchangeEvent): void;
}

export class Redactor {
  private readonly secrets: string[];
  constructor(secrets: Array<string | undefined>) {
    // Only non-trivial secrets: redacting "a" would garble the log and protect nothing.
    this.secrets = secrets.filter((s): s is string => s !== undefined && s.length >= 4);
  }
  text(s: string): string {
    let out = s;
    for (const k of this.secrets) out = out.split(k).join('[redacted]');
    return out;
  }
  /** JSON text with every secret replaced (the whole serialised form, so nested strings are covered too). */
  json(v: unknown, space?: number): string {
    return this.text(JSON.stringify(v, null, space));
  }
}

export class Transcript implements ExchangeSink {
  constructor(readonly path: string, private readonly redact: Redactor) {
    writeFileSync(path, '', { flag: 'a' });
  }
  write(e: ExchangeEvent): void {
    appendFileSync(this.path, `${this.redact.json(e)}\n`);
  }
}

/** A JSON file replaced whole (write to a temporary name, then rename), so a reader never sees half of it. */
export function writeJsonAtomic(path: string, value: unknown, redact: Redactor): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${redact.json(value, 2)}\n`);
  renameSync(tmp, path);
}

/** A text file replaced whole. */
export function writeTextAtomic(path: string, text: string, redact: Redactor): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, redact.text(text));
  renameSync(tmp, path);
}

export const wallTime = (): string => new Date().toISOString();
