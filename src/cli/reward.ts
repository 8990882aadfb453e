import { parseArgs } from 'node:util';
import { isRewarddError, RewarddError } from '../core/errors.js';
import { shippedDefault } from '../core/version.js';
import { loadRobot } from '../core/robot.js';
import type { CheckReport } from '../reward/check.js';
import { checkRewardProgram } from '../reward/check-isolated.js';
import { formatDiagnostic } from '../reward/diagnostics.js';
import { loadRewardFile, REWARD_RUNTIME_DEFAULTS } from '../reward/index.js';
import { checkRewardOnStore, type StoreCheckReport } from '../relabel/check.js';
import { formatStoreCheck } from '../relabel/format.js';
import { exitCodeOf } from './args.js';

export const help = `Usage: rewardd reward check FILE [options]

Compiles a reward program, checks its exports, runs it in the sandbox on
synthetic observations built from the robot description (zeros, limits,
a 1000-step random walk), measures time per step and reports term ranges.
Diagnostics look like a compiler's: file:line:column, code, expected, found.
With --store, a program that passes is then run over stored episodes (the
relabel room's regression check: failures, term ranges, distance to the
active version). Exit 0 when the program may go on a robot (warnings
allowed), 1 on errors, 2 on bad usage.

Options:
  --robot PATH       robot description to probe with     (default: robots/rover.json)
  --budget-ms N      per-step time budget, ms              (default: ${REWARD_RUNTIME_DEFAULTS.budgetMs})
  --memory-mb N      sandbox memory limit, MB              (default: ${REWARD_RUNTIME_DEFAULTS.memoryMb})
  --steps N          steps of the random-walk probe        (default: 1000)
  --store DIR        also dry-run on stored episodes in DIR (default: off)
  --episodes FILTER  which stored episodes, with --store    (default: last=20)
  --json             print the whole report as JSON        (default: off)
  -h, --help         show this help

The other reward subcommands (diff, push, generate, refine): rewardd reward --help.`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        robot: { type: 'string' },
        'budget-ms': { type: 'string' },
        'memory-mb': { type: 'string' },
        steps: { type: 'string', default: '1000' },
        store: { type: 'string' },
        episodes: { type: 'string', default: 'last=20' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`rewardd reward: ${(e as Error).message} (see rewardd reward --help)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const [sub, file, ...rest] = positionals;
  if (sub !== 'check') {
    process.stderr.write(`rewardd reward: expected the subcommand "check", found ${sub === undefined ? 'nothing' : `"${sub}"`} (see rewardd reward --help)\n`);
    return 2;
  }
  if (file === undefined || rest.length > 0) {
    process.stderr.write(`rewardd reward check: expected exactly one FILE, found ${file === undefined ? 'none' : positionals.length - 1}\n`);
    return 2;
  }
  const num = (name: string, v: string | undefined, lo: number, hi: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n >= lo && n <= hi)) throw new RewarddError('E_CONFIG', `--${name}: expected a number in [${lo}, ${hi}], found "${v}"`);
    return n;
  };
  try {
    const budgetMs = num('budget-ms', values['budget-ms'], 0.01, 10_000);
    const memoryMb = num('memory-mb', values['memory-mb'], 8, 4096);
    const typicalSteps = num('steps', values.steps, 1, 1_000_000);
    const robot = loadRobot(values.robot ?? shippedDefault('robots/rover.json')).robot;
    const { source, filename } = await loadRewardFile(file);
    const report = await checkRewardProgram({
      source,
      filename,
      robot,
      ...(budgetMs !== undefined ? { budgetMs } : {}),
      ...(memoryMb !== undefined ? { memoryMb } : {}),
      ...(typicalSteps !== undefined ? { typicalSteps: Math.round(typicalSteps) } : {}),
    });
    // The dry run over logged steps belongs to the relabel room; only a program that passed
    // the probes is worth running over a store.
    let stored: StoreCheckReport | undefined;
    if (values.store !== undefined && report.ok) {
      stored = await checkRewardOnStore({ storeDir: values.store, program: { source, filename }, episodes: values.episodes });
    }
    if (values.json) process.stdout.write(`${JSON.stringify(stored ? { ...report, store: stored } : report, null, 2)}\n`);
    else process.stdout.write(formatReport(report) + (stored ? `${formatStoreCheck(stored)}\n` : ''));
    return report.ok && (stored?.ok ?? true) ? 0 : 1;
  } catch (e) {
    process.stderr.write(`rewardd reward check: ${isRewarddError(e) ? e.message : (e as Error).message}\n`);
    return exitCodeOf(e);
  }
}

export function formatReport(r: CheckReport): string {
  const lines: string[] = r.diagnostics.map(formatDiagnostic);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = r.diagnostics.length - errors;
  if (r.info) {
    const i = r.info;
    lines.push(`${r.file}: reward "${i.name}" v${i.version}: ${i.termNames.length} terms; success() ${i.hasSuccess ? 'yes' : 'no'}; done() ${i.hasDone ? 'yes' : 'no'}`);
    lines.push(`  goal: ${i.goal}`);
    for (const p of r.probes) lines.push(`  ${p.name}: ${p.steps} steps, ${p.failed === 0 ? 'all ok' : 'failed (stopped at the first failure)'}`);
    if (r.timing) {
      const t = r.timing;
      lines.push(`  time per step: ${t.batchUsPerStep.toFixed(2)} µs batch, ${t.onlineUsPerStep.toFixed(2)} µs online (p99 ${t.onlineP99Us.toFixed(1)} µs)${t.columnsUsPerStep !== undefined ? `, ${t.columnsUsPerStep.toFixed(3)} µs rewardColumns` : ''}; budget ${t.budgetMs} ms`);
    }
    if (r.terms.length > 0) {
      const w = Math.max(4, ...r.terms.map((t) => t.name.length));
      const f = (v: number): string => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v)).padStart(10);
      lines.push(`  ${'term'.padEnd(w)} ${'weight'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)} ${'mean'.padStart(10)}  declared`);
      for (const t of r.terms) {
        lines.push(`  ${t.name.padEnd(w)} ${f(t.weight)} ${f(t.min)} ${f(t.max)} ${f(t.mean)}  ${t.declared ? `[${t.declared[0]}, ${t.declared[1]}]` : '-'}`);
      }
    }
  }
  lines.push(`${r.file}: ${r.ok ? 'ok' : 'FAILED'} (${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}, ${r.elapsedMs.toFixed(0)} ms)`);
  return `${lines.join('\n')}\n`;
}
