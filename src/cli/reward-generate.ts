/**
 * `rewardd reward generate --task TEXT --samples K --out DIR`: asks a model for
 * K reward programs and puts each through `reward check` and a repair loop.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { generateRewards, type SampleRow } from '../authoring/generate.js';
import { Interrupted } from '../authoring/llm-client.js';
import { DEFAULT_EXAMPLE } from '../authoring/prompt.js';
import { RewarddError } from '../core/errors.js';
import { loadRobot } from '../core/robot.js';
import { packageRoot } from '../core/version.js';
import { EXIT_USAGE, exitCodeOf, parseFlags, type FlagSpec } from './args.js';
import { clientFromFlags, interruptOnSigint, LLM_FLAGS, LLM_HELP, numberFlag, repairTurnsFlag } from './llm-flags.js';

export const help = [
  'Usage: rewardd reward generate --task TEXT --samples K --out DIR --endpoint URL --model NAME [options]',
  '',
  'Asks the model for K reward programs for the task. The prompt is the robot description (names, units,',
  'ranges, descriptions: the environment abstraction, no simulator source), the reward contract and',
  'standard library (docs/reward-programs.md), one example program and the task. Each answer goes through',
  '`reward check`; its diagnostics go back to the model, at most --repair-turns times. Writes, per sample n:',
  'DIR/<n>.reward.js (passed the check) or DIR/<n>.failed.js (did not), DIR/<n>.json (provenance, every',
  'turn\'s check) and DIR/<n>.exchanges.jsonl (every request and answer, written as it happens). Prints a',
  'table: sample, compiled, checked, repairs, terms.',
  '',
  '  --task TEXT            what the robot should do                                (required)',
  '  --samples K            programs to ask for                                     (default: 4)',
  '  --out DIR              a new or empty folder                                   (required)',
  '  --robot PATH           robot description                                       (default: robots/rover.json)',
  `  --example FILE         the example program shown to the model                  (default: ${DEFAULT_EXAMPLE}, shipped)`,
  '  --json                 print the rows as JSON                                  (default: table)',
  '',
  LLM_HELP,
  '',
  'Exit 0 when at least one sample passed reward check, 1 when none did, 2 on bad usage, 130 on Ctrl-C',
  '(what was done is kept).',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'task', type: 'string' },
  { flag: 'samples', type: 'string' },
  { flag: 'out', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'example', type: 'string' },
  { flag: 'json', type: 'boolean' },
  ...LLM_FLAGS,
];

export function formatSampleTable(rows: SampleRow[]): string {
  const head = ['sample', 'compiled', 'checked', 'repairs', 'terms'];
  const yn = (b: boolean): string => (b ? 'yes' : 'no');
  const body = rows.map((r) => [String(r.sample), yn(r.compiled), yn(r.checked), String(r.repairs), (r.terms.join(', ') || '-') + (r.error ? `  (${r.error.split('\n')[0]})` : '')]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n');
}

/** Bad flags or unreadable input files are usage errors (2); anything else is a failure (1): args.ts exitCodeOf. */
export const usageError = (e: unknown): boolean => exitCodeOf(e) === EXIT_USAGE;

export function exampleProgram(path: string | undefined): { path: string; source: string } {
  const p = path ?? DEFAULT_EXAMPLE;
  const file = path === undefined && !isAbsolute(p) ? join(packageRoot(), p) : p;
  try {
    return { path: p, source: readFileSync(file, 'utf8') };
  } catch (e) {
    throw new RewarddError('E_FILE', `--example ${p}: ${(e as Error).message}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  let stop: ReturnType<typeof interruptOnSigint> | undefined;
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, true);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new RewarddError('E_CONFIG', `expected only options, found "${positionals.join(' ')}"`);
    const task = typeof values.task === 'string' ? values.task.trim() : '';
    if (task === '') throw new RewarddError('E_CONFIG', '--task: expected a description of what the robot should do, found none');
    const out = typeof values.out === 'string' && values.out !== '' ? values.out : undefined;
    if (out === undefined) throw new RewarddError('E_CONFIG', '--out: expected a folder for the samples, found none');
    const samples = numberFlag(values, 'samples', true) ?? 4;
    if (samples < 1 || samples > 64) throw new RewarddError('E_CONFIG', `--samples: expected an integer in [1, 64], found ${samples}`);
    const repairTurns = repairTurnsFlag(values);
    const robot = loadRobot(typeof values.robot === 'string' ? values.robot : 'robots/rover.json');
    const example = exampleProgram(typeof values.example === 'string' ? values.example : undefined);
    stop = interruptOnSigint('rewardd reward generate');
    const { client, redact } = clientFromFlags(values, stop.signal);
    const t0 = performance.now();
    let rows: SampleRow[];
    try {
      rows = await generateRewards({
        prompt: { task, robot, example },
        samples,
        outDir: out,
        client,
        repairTurns,
        redact,
        onSample: (n, of, row) => {
          if (n === 0) process.stderr.write(`asking ${client.opts.model} at ${client.opts.endpoint} for ${of} sample(s)...\n`);
          else if (row) process.stderr.write(`sample ${n}/${of}: ${row.checked ? 'passed reward check' : 'failed'}${row.repairs ? ` after ${row.repairs} repair(s)` : ''}\n`);
        },
      });
    } catch (e) {
      if (e instanceof Interrupted) {
        process.stderr.write(`rewardd reward generate: interrupted; every request and answer so far is in ${out}\n`);
        return 130;
      }
      throw e;
    }
    const passed = rows.filter((r) => r.checked).length;
    const t = client.totals;
    if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      process.stdout.write(`${formatSampleTable(rows)}\n`);
      process.stdout.write(`${passed} of ${rows.length} sample(s) passed reward check; files in ${out} (${t.requests} request(s), ${t.attempts} attempt(s), ${t.total_tokens} tokens, ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
    return passed > 0 ? 0 : 1;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    process.stderr.write(`rewardd reward generate: ${msg}\n`);
    return usageError(e) ? 2 : 1;
  } finally {
    stop?.dispose();
  }
}
