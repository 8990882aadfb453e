/**
 * `rewardd reward refine --from DIR|FILE --out DIR [--sim] [--store DIR]`:
 * Eureka's loop (train or relabel, reflect, ask again, keep the best).
 */
import { shippedDefault } from '../core/version.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SimEvaluator } from '../authoring/evaluate-sim.js';
import { OUTCOME_SOURCES, StoreEvaluator, type OutcomeSource } from '../authoring/evaluate-store.js';
import type { Evaluator } from '../authoring/evaluation.js';
import { refineRewards, type RefineReport } from '../authoring/refine.js';
import { lineage } from '../authoring/refine-report.js';
import { fmt } from '../authoring/reflection.js';
import { SIM_TRAIN_DEFAULTS, type SimTrainOptions } from '../authoring/sim/train-with-reward.js';
import { Redactor } from '../authoring/transcript.js';
import { RewarddError } from '../core/errors.js';
import { loadRobot } from '../core/robot.js';
import { loadRewardFile } from '../reward/index.js';
import { parseFlags, type FlagSpec } from './args.js';
import { clientFromFlags, interruptOnSigint, LLM_FLAGS, LLM_HELP, numberFlag, repairTurnsFlag } from './llm-flags.js';
import { exampleProgram, usageError } from './reward-generate.js';

const D = SIM_TRAIN_DEFAULTS;
const SIM_TIMEOUT_S = 600;

export const help = [
  'Usage: rewardd reward refine --from DIR|FILE --out DIR (--sim | --store DIR) [options]',
  '',
  'Eureka\'s loop. Iteration 0 evaluates the given programs (DIR/*.reward.js, e.g. from reward generate,',
  'or one FILE). Each later iteration shows the model the best program so far with its reward reflection',
  '(per term max/mean/min at evenly spaced points, success rate, episode length, hints: flat term,',
  'dominating term, success near zero), asks for K new programs, checks and repairs each, and evaluates',
  'those that pass. The best by fitness is written to OUT/best.reward.js (ready for reward push), with',
  'OUT/report.md and OUT/report.json (every candidate, its fitness, reflection and lineage) and',
  'OUT/iter<i>/ (programs, provenance, every request and answer), all written as they happen.',
  '',
  '  --from DIR|FILE        the programs to start from                              (required)',
  '  --out DIR              a new or empty folder                                   (required)',
  '  --iterations I         iterations after iteration 0 (0: evaluate --from only)  (default: 3)',
  '  --samples K            programs asked for per iteration                        (default: 4)',
  '  --task TEXT            the task    (default: the task in DIR/<n>.json, else the first program\'s meta.goal)',
  '  --robot PATH           robot description                                       (default: robots/rover.json)',
  '  --example FILE         the example program shown to the model                  (default: rewards/reach-beacon.reward.js)',
  '  --json                 print report.json instead of the summary                 (default: off)',
  '',
  'Fitness (one or both; with both, the mean of success rate and (Spearman + 1) / 2):',
  '  --sim                  train the rover policy in the simulator with the candidate as its reward (the',
  '                         repo\'s ES trainer, in a child process), then score the task\'s own success test',
  '                         (beacon within 0.25 m in 15 s) on held-out episodes (rover seed 7)',
  `  --sim-generations N    ES generations                                          (default: ${D.generations})`,
  `  --sim-pairs N          antithetic pairs per generation                         (default: ${D.pairs})`,
  `  --sim-episodes N       training episodes per policy                            (default: ${D.episodesPerCandidate})`,
  `  --sim-checkpoints N    evenly spaced points of training for the reflection     (default: ${D.checkpoints})`,
  `  --sim-checkpoint-episodes N  episodes at each point                         (default: ${D.checkpointEpisodes})`,
  `  --sim-eval-episodes N  held-out episodes scored                                (default: ${D.evalEpisodes})`,
  `  --sim-seed N           seed of the initial policy and the ES noise             (default: ${D.seed})`,
  `  --sim-timeout-s S      a candidate's training is stopped after this            (default: ${SIM_TIMEOUT_S})`,
  '  --store DIR            relabel the recorder\'s episodes in DIR with the candidate; fitness is Spearman\'s',
  '                         rho of episode return against the outcome (1 success, 0 failure); the canonical',
  '                         distance from the version the newest episode ran is reported beside it',
  '  --episodes FILTER      which stored episodes (relabel\'s syntax)               (default: all)',
  `  --outcome SRC          ${OUTCOME_SOURCES.join(' | ')}: operator labels (rewardd episodes label) then logged`,
  '                         success / labels only / logged only                     (default: auto)',
  '  --vision-model DIR     episodes with a camera: the model whose text encoder embeds each candidate\'s',
  '                         meta.vision prompts (as relabel\'s; without it such episodes are skipped, said)  (default: none)',
  '  --vision-frames-model DIR  re-embed the stored camera frames with this model     (default: none)',
  '',
  `${LLM_HELP}`,
  '  (the model flags are needed only when --iterations > 0)',
  '',
  'Exit 0 when a best program was written, 1 when no candidate could be evaluated, 2 on bad usage,',
  '130 on Ctrl-C (everything done so far is kept, report included).',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'from', type: 'string' },
  { flag: 'out', type: 'string' },
  { flag: 'iterations', type: 'string' },
  { flag: 'samples', type: 'string' },
  { flag: 'task', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'example', type: 'string' },
  { flag: 'json', type: 'boolean' },
  { flag: 'sim', type: 'boolean' },
  { flag: 'sim-generations', type: 'string' },
  { flag: 'sim-pairs', type: 'string' },
  { flag: 'sim-episodes', type: 'string' },
  { flag: 'sim-checkpoints', type: 'string' },
  { flag: 'sim-checkpoint-episodes', type: 'string' },
  { flag: 'sim-eval-episodes', type: 'string' },
  { flag: 'sim-seed', type: 'string' },
  { flag: 'sim-timeout-s', type: 'string' },
  { flag: 'store', type: 'string' },
  { flag: 'episodes', type: 'string' },
  { flag: 'outcome', type: 'string' },
  { flag: 'vision-model', type: 'string' },
  { flag: 'vision-frames-model', type: 'string' },
  ...LLM_FLAGS,
];

type Values = Record<string, string | boolean>;

function intIn(values: Values, flag: string, dflt: number, lo: number, hi: number): number {
  const n = numberFlag(values, flag, true) ?? dflt;
  if (n < lo || n > hi) throw new RewarddError('E_CONFIG', `--${flag}: expected an integer in [${lo}, ${hi}], found ${n}`);
  return n;
}

export function simOptions(values: Values): SimTrainOptions {
  return {
    generations: intIn(values, 'sim-generations', D.generations, 1, 10_000),
    pairs: intIn(values, 'sim-pairs', D.pairs, 1, 1000),
    episodesPerCandidate: intIn(values, 'sim-episodes', D.episodesPerCandidate, 1, 1000),
    checkpoints: intIn(values, 'sim-checkpoints', D.checkpoints, 1, 100),
    checkpointEpisodes: intIn(values, 'sim-checkpoint-episodes', D.checkpointEpisodes, 1, 1000),
    evalEpisodes: intIn(values, 'sim-eval-episodes', D.evalEpisodes, 1, 10_000),
    seed: intIn(values, 'sim-seed', D.seed, 0, 2 ** 31 - 1),
  };
}

/** The starting programs, and the task their provenance names (generate's <n>.json). */
export async function loadSeeds(from: string): Promise<{ seeds: Array<{ source: string; filename: string; from: string }>; task?: string }> {
  if (!existsSync(from)) throw new RewarddError('E_FILE', `--from ${from}: expected a folder of *.reward.js files or one reward file, found nothing there`);
  if (!statSync(from).isDirectory()) {
    const p = await loadRewardFile(from);
    return { seeds: [{ ...p, from }] };
  }
  const files = readdirSync(from).filter((f) => f.endsWith('.reward.js') || f.endsWith('.reward.ts')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new RewarddError('E_FILE', `--from ${from}: expected *.reward.js files (reward generate writes the ones that passed reward check), found none`);
  const seeds = [];
  for (const f of files) seeds.push({ ...(await loadRewardFile(join(from, f))), from: join(from, f) });
  let task: string | undefined;
  for (const f of files) {
    const prov = join(from, `${basename(f).replace(/\.reward\.[jt]s$/, '')}.json`);
    try {
      const t = (JSON.parse(readFileSync(prov, 'utf8')) as { task?: unknown }).task;
      if (typeof t === 'string' && t.trim() !== '') {
        task = t;
        break;
      }
    } catch {
      /* no provenance beside it: the task comes from elsewhere */
    }
  }
  return { seeds, ...(task !== undefined ? { task } : {}) };
}

function summary(r: RefineReport, out: string): string {
  const lines = [
    ...r.bestPerIteration.map((b) => `iteration ${b.iteration}: best ${b.id ?? '-'}${b.fitness !== null ? `, fitness ${fmt(b.fitness)}` : ''}`),
    `${r.candidates.length} candidate(s), ${r.candidates.filter((c) => c.checked).length} passed reward check, ${r.candidates.filter((c) => c.fitness !== null).length} evaluated${r.interrupted ? '; INTERRUPTED' : ''}`,
  ];
  if (r.best) lines.push(`best: ${r.best.id}, fitness ${fmt(r.best.fitness)}, lineage ${lineage(r, r.best.id).join(' -> ')}: ${join(out, r.best.file)} (rewardd reward push ${join(out, r.best.file)} --robot ID)`);
  else lines.push('no candidate could be evaluated');
  lines.push(`report: ${join(out, 'report.md')}, ${join(out, 'report.json')}`);
  return `${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  let stop: ReturnType<typeof interruptOnSigint> | undefined;
  // Closed in finally: the store evaluator keeps relabel workers between candidates.
  const evaluators: Evaluator[] = [];
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, true);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new RewarddError('E_CONFIG', `expected only options, found "${positionals.join(' ')}"`);
    const from = typeof values.from === 'string' && values.from !== '' ? values.from : undefined;
    if (from === undefined) throw new RewarddError('E_CONFIG', '--from: expected a folder of reward programs or one reward file, found none');
    const out = typeof values.out === 'string' && values.out !== '' ? values.out : undefined;
    if (out === undefined) throw new RewarddError('E_CONFIG', '--out: expected a folder for the refinement, found none');
    const iterations = intIn(values, 'iterations', 3, 0, 100);
    const samples = intIn(values, 'samples', 4, 1, 64);
    const repairTurns = repairTurnsFlag(values);
    const robot = loadRobot(typeof values.robot === 'string' ? values.robot : shippedDefault('robots/rover.json'));
    if (values.sim !== true && values.store === undefined) throw new RewarddError('E_CONFIG', 'expected a fitness: --sim, --store DIR, or both; found neither');
    const outcome = (values.outcome ?? 'auto') as OutcomeSource;
    if (!OUTCOME_SOURCES.includes(outcome)) throw new RewarddError('E_CONFIG', `--outcome: expected one of ${OUTCOME_SOURCES.join(' | ')}, found "${String(values.outcome)}"`);
    if (values.sim === true) {
      const timeoutS = numberFlag(values, 'sim-timeout-s') ?? SIM_TIMEOUT_S;
      if (!(timeoutS > 0)) throw new RewarddError('E_CONFIG', `--sim-timeout-s: expected a number > 0, found ${timeoutS}`);
      evaluators.push(new SimEvaluator({ robot: robot.robot, train: simOptions(values), timeoutS }));
    }
    if (typeof values.store === 'string') {
      const vision = {
        ...(typeof values['vision-model'] === 'string' ? { modelDir: values['vision-model'] } : {}),
        ...(typeof values['vision-frames-model'] === 'string' ? { framesModelDir: values['vision-frames-model'] } : {}),
      };
      evaluators.push(new StoreEvaluator({ storeDir: values.store, ...(typeof values.episodes === 'string' ? { episodes: values.episodes } : {}), outcome, points: 10, vision }));
    }
    const { seeds, task: provTask } = await loadSeeds(from);
    const goal = /\bgoal\s*:\s*(['"`])((?:(?!\1).)+)\1/.exec(seeds[0]!.source)?.[2];
    const task = (typeof values.task === 'string' && values.task.trim() !== '' ? values.task : (provTask ?? goal))?.trim();
    if (!task) throw new RewarddError('E_CONFIG', '--task: expected the task in words (found none in --task, in provenance files, or in meta.goal)');
    const example = exampleProgram(typeof values.example === 'string' ? values.example : undefined);
    stop = interruptOnSigint('rewardd reward refine');
    const llm = iterations > 0 ? clientFromFlags(values, stop.signal) : undefined;
    const redact = llm?.redact ?? new Redactor([]);
    const tty = process.stderr.isTTY === true;
    let lastProgress = -Infinity;
    process.stderr.write(`reward refine: ${seeds.length} starting program(s), ${iterations} iteration(s) × ${samples} sample(s); fitness from ${evaluators.map((e) => e.describe()).join('; ')}\n`);
    const report = await refineRewards({
      prompt: { task, robot, example },
      seeds,
      iterations,
      samples,
      outDir: out,
      evaluators,
      ...(llm ? { client: llm.client } : {}),
      repairTurns,
      redact,
      signal: stop.signal,
      log: (line) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`),
      progress: (text) => {
        const now = performance.now();
        if (now - lastProgress < (tty ? 100 : 5000)) return;
        lastProgress = now;
        process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    process.stdout.write(values.json ? `${redact.json(report, 2)}\n` : summary(report, out));
    if (report.interrupted) return 130;
    return report.best ? 0 : 1;
  } catch (e) {
    process.stderr.write(`rewardd reward refine: ${(e as Error).message.split('\n')[0]}\n`);
    return usageError(e) ? 2 : 1;
  } finally {
    stop?.dispose();
    await Promise.all(evaluators.map((e) => e.close?.()));
  }
}
