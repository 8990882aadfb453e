import { RewarddError, type ErrorCode } from '../core/errors.js';

/**
 * A compiler-style finding about a reward program. The formatted line is meant
 * to be pasted back into an LLM prompt as-is: file:line:column, the code, what
 * was expected and what was found.
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** An ErrorCode for errors; a W_ code for warnings. */
  code: ErrorCode | `W_${string}`;
  file: string;
  /** 1-based; 0 when the finding is about the whole file. */
  line: number;
  /** 1-based; 0 when unknown. */
  column: number;
  message: string;
  /** The offending source line, when there is one. */
  lineText?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}${d.column > 0 ? `:${d.column}` : ''}` : d.file;
  const head = `${where}: ${d.severity} ${d.code}: ${d.message}`;
  return d.lineText !== undefined && d.lineText.trim() !== '' ? `${head}\n    ${d.lineText.trim()}` : head;
}

/** Throwable form: the first error's code, every diagnostic in the message. */
export function diagnosticsError(diags: Diagnostic[]): RewarddError {
  const first = diags.find((d) => d.severity === 'error') ?? diags[0];
  const code: ErrorCode = first && !first.code.startsWith('W_') ? (first.code as ErrorCode) : 'E_REWARD_COMPILE';
  const body = diags.map(formatDiagnostic).join('\n');
  const err = new RewarddError(code, body.startsWith(`${code}`) ? body : `${body}`);
  (err as RewarddError & { diagnostics?: Diagnostic[] }).diagnostics = diags;
  return err;
}

/** The diagnostics carried by an error thrown from RewardRuntime.create, if any. */
export function diagnosticsOf(e: unknown): Diagnostic[] | undefined {
  const d = (e as { diagnostics?: unknown } | null)?.diagnostics;
  return Array.isArray(d) ? (d as Diagnostic[]) : undefined;
}

/** 1-based line and column of the first match of `re` in `source`, or 0:0. */
export function locate(source: string, re: RegExp): { line: number; column: number; lineText: string } {
  const m = re.exec(source);
  if (!m) return { line: 0, column: 0, lineText: '' };
  const before = source.slice(0, m.index);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineText = source.slice(lineStart).split('\n')[0] ?? '';
  return { line, column: m.index - lineStart + 1, lineText };
}

export function sourceLine(source: string, line: number): string {
  return source.split('\n')[line - 1] ?? '';
}
