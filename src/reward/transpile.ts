import { createRequire } from 'node:module';
import type { Message } from 'esbuild';
import type { Diagnostic } from './diagnostics.js';

/**
 * Reward source → the ES module text the sandbox compiles.
 * JS is passed through unchanged (so V8's line numbers are the author's);
 * esbuild only parses it, because its syntax errors carry line, column and
 * the line text, which V8's do not. TS is transpiled without a type check
 * (types are erased, nothing else), and a line map sends runtime stack
 * lines back to the .ts file.
 */
export interface Transpiled {
  code: string;
  /** generated line (1-based) → original line (1-based); identity for JS. */
  mapLine: (line: number) => number;
  /** True when V8's columns are the author's (JS); TS columns are the transpiled code's. */
  exactColumns: boolean;
}

export const isTypeScript = (filename: string): boolean => /\.(ts|mts|cts)$/i.test(filename);

/** esbuild, loaded on first use: JavaScript that V8 compiles never needs it (see jsAsWritten). */
let esbuild: typeof import('esbuild') | undefined;
const esbuildSync = (): typeof import('esbuild') => (esbuild ??= createRequire(import.meta.url)('esbuild') as typeof import('esbuild'));

/**
 * JavaScript as the sandbox runs it: the text as written (what transpile returns for JS too).
 * RewardRuntime compiles it without esbuild and calls transpile only when V8 rejects it, for
 * esbuild's diagnostic: starting esbuild's service costs 50-500 ms of CPU per process, which
 * every relabel worker and reward host paid at start-up.
 */
export const jsAsWritten = (source: string): Transpiled => ({ code: source, mapLine: (l) => l, exactColumns: true });

export function transpile(source: string, filename: string): { ok: true; out: Transpiled } | { ok: false; diagnostics: Diagnostic[] } {
  const ts = isTypeScript(filename);
  try {
    const r = esbuildSync().transformSync(source, {
      loader: ts ? 'ts' : 'js',
      format: 'esm',
      target: 'es2022',
      sourcefile: filename,
      sourcemap: ts ? 'external' : false,
      logLevel: 'silent',
    });
    if (!ts) return { ok: true, out: jsAsWritten(source) };
    return { ok: true, out: { code: r.code, mapLine: lineMapper(r.map), exactColumns: false } };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (!Array.isArray(errors)) throw e;
    return {
      ok: false,
      diagnostics: errors.map((m) => ({
        severity: 'error' as const,
        code: 'E_REWARD_COMPILE' as const,
        file: filename,
        line: m.location?.line ?? 0,
        column: m.location ? m.location.column + 1 : 0,
        message: `syntax error: ${m.text}`,
        ...(m.location?.lineText !== undefined ? { lineText: m.location.lineText } : {}),
      })),
    };
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes just enough of a v3 source map: the original line of each generated line's first segment. */
function lineMapper(mapJson: string): (line: number) => number {
  const map = JSON.parse(mapJson) as { mappings: string };
  const byLine: number[] = [];
  let origLine = 0;
  const lines = map.mappings.split(';');
  for (let gl = 0; gl < lines.length; gl++) {
    let first = -1;
    for (const seg of (lines[gl] ?? '').split(',')) {
      if (seg === '') continue;
      const f = decodeVlq(seg);
      if (f.length >= 4) {
        origLine += f[2] ?? 0;
        if (first < 0) first = origLine;
      }
    }
    byLine[gl] = first;
  }
  return (line) => {
    for (let l = line - 1; l >= 0; l--) {
      const o = byLine[l];
      if (o !== undefined && o >= 0) return o + 1;
    }
    return line;
  };
}

function decodeVlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const digit = B64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
