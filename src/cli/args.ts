import { parseArgs } from 'node:util';
import { RewarddError, isRewarddError } from '../core/errors.js';

export interface FlagSpec {
  flag: string;
  /** Everything but 'boolean' takes a value (checked by the verb's own normaliser). */
  type: 'string' | 'number' | 'auto-number' | 'port' | 'boolean';
}

/**
 * Strict argument parsing shared by the verbs: unknown options and missing
 * values are one-line E_CONFIG errors; booleans also accept --no-<flag>.
 * Returns values keyed by flag name (strings, or true/false).
 */
export function parseFlags(argv: string[], specs: readonly FlagSpec[], allowPositionals = false): { values: Record<string, string | boolean>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const s of specs) {
    options[s.flag] = { type: s.type === 'boolean' ? 'boolean' : 'string' };
    if (s.type === 'boolean') options[`no-${s.flag}`] = { type: 'boolean' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (e) {
    throw new RewarddError('E_CONFIG', (e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const values: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined) continue;
    if (k.startsWith('no-') && options[k.slice(3)]) values[k.slice(3)] = false;
    else values[k] = v as string | boolean;
  }
  return { values, positionals: parsed.positionals };
}

/**
 * The exit code every verb shares: 0 success, 1 failure, 2 bad usage. Bad usage is an unknown
 * or missing option or argument, a bad value for one (E_CONFIG), or a file it names that cannot
 * be read (E_FILE, E_ROBOT). Everything else that stops a verb is a failure: a reward that does
 * not compile, a damaged store, a worker that died, an output that cannot be written.
 */
export const EXIT_USAGE = 2;
export function exitCodeOf(e: unknown): number {
  return isRewarddError(e) && (e.code === 'E_CONFIG' || e.code === 'E_FILE' || e.code === 'E_ROBOT') ? EXIT_USAGE : 1;
}

/**
 * A recorder store folder: `--store DIR`, the name every verb uses, or `--out DIR`, the older
 * name `record` and `episodes` still accept. Both at once must name the same folder.
 */
export function storeFlag(values: Record<string, string | boolean>, fallback: string): string {
  const store = values.store;
  const out = values.out;
  if (store !== undefined && typeof store !== 'string') throw new RewarddError('E_CONFIG', '--store: expected a folder, found no value');
  if (out !== undefined && typeof out !== 'string') throw new RewarddError('E_CONFIG', '--out: expected a folder, found no value');
  if (store !== undefined && out !== undefined && store !== out) throw new RewarddError('E_CONFIG', `--store and --out (its older name): expected one folder, found two ("${store}" and "${out}")`);
  return store ?? out ?? fallback;
}
