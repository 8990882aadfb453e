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
 *   TypeScript if only TypeScript parses it (type annotations), and JavaScript
 *   again if neither does (so the diagnostics are JavaScript's).
 */
export function pushedFilename(hint: { filename?: string | undefined; language?: string | undefined }, source: string): string {
  if (hint.filename !== undefined && SOURCE_EXT.test(hint.filename)) return basename(hint.filename);
  const lang = hint.language?.toLowerCase();
  if (lang === 'ts' || lang === 'typescript') return 'reward-set.ts';
  if (lang === 'js' || lang === 'javascript') return 'reward-set.js';
  return parses(source, 'js') || !parses(source, 'ts') ? 'reward-set.js' : 'reward-set.ts';
}

function parses(source: string, loader: 'js' | 'ts'): boolean {
  try {
    transformSync(source, { loader, format: 'esm', target: 'es2022', logLevel: 'silent' });
    return true;
  } catch {
    return false;
  }
}
