import { basename } from 'node:path';
import { transformSync } from 'esbuild';

const SOURCE_EXT = /\.(?:[cm]?[jt]s)$/i;

/**
 * The file name a pushed reward source is compiled under. Its extension is
 * what picks JavaScript or TypeScript (transpile.ts), so:
 * - a name that came with the push (the signed envelope's `filename`, or an
 *   MQTT 5 user property `filename`) is used when it ends in .js/.ts;
 * - a user property `language` of `ts` or `js` picks the extension;
 * - otherwise the source decides: it is JavaScript if it parses as JavaScript,
 *   TypeScript if only TypeScript parses it (type annotations); if neither does,
 *   the one that parses further (so a TypeScript file with a typo gets
 *   TypeScript's diagnostic, not JavaScript's complaint about its first
 *   annotation).
 */
export function pushedFilename(hint: { filename?: string | undefined; language?: string | undefined }, source: string): string {
  if (hint.filename !== undefined && SOURCE_EXT.test(hint.filename)) return basename(hint.filename);
  const lang = hint.language?.toLowerCase();
  if (lang === 'ts' || lang === 'typescript') return 'reward-set.ts';
  if (lang === 'js' || lang === 'javascript') return 'reward-set.js';
  const js = parsedUpTo(source, 'js');
  if (js === Infinity) return 'reward-set.js';
  return parsedUpTo(source, 'ts') > js ? 'reward-set.ts' : 'reward-set.js';
}

/** Infinity when the source parses; else the offset (line × 1e6 + column) of the first error. */
function parsedUpTo(source: string, loader: 'js' | 'ts'): number {
  try {
    transformSync(source, { loader, format: 'esm', target: 'es2022', logLevel: 'silent' });
    return Infinity;
  } catch (e) {
    const loc = (e as { errors?: Array<{ location?: { line: number; column: number } | null }> }).errors?.[0]?.location;
    return loc ? loc.line * 1e6 + loc.column : 0;
  }
}
