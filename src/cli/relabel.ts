/**
 * `rewardd relabel`: score stored episodes with a reward program (batch mode,
 * same sandbox as on the robot) and store the result beside each episode.
 */
import { RewarddError } from '../core/errors.js';
import { formatRelabel } from '../relabel/format.js';
import { resolveProgramRef } from '../relabel/program-ref.js';
import { ProgressLine } from '../relabel/progress.js';
import { relabelStore } from '../relabel/relabel.js';
import { exitCodeOf, parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd relabel --store DIR --reward FILE|VERSION [options]',
  '',
  'Evaluates a reward program over stored episodes in batch mode, in the same sandbox as on the robot,',
  'and stores each episode\'s result beside the original (DIR/relabel/<episode>/<version>.rwr, indexed in',
  'DIR/relabel/relabel.sqlite; the recorded files are never rewritten). Prints per-episode return and',
  'success and per-term max/mean/min/std over all steps.',
  '',
  '  --store DIR            the recorder\'s folder (rewardd record --store)          (required)',
  '  --reward FILE|VERSION  a reward file, or a 12-hex version the store knows       (required)',
  '  --episodes FILTER      ids/globs and robot=, status=, reward=, since=, last=     (default: all)',
  '  --jobs N               worker processes (reward code never runs in this one)  (default: 1)',
  '  --verify               compare with the logged values of the steps recorded with this version,',
  '                         bit for bit; report the first differing step             (default: off)',
  '  --verify-against V     with --verify: compare with the steps logged under version V instead',
  '                         (is an edited file still the same reward?)              (default: the program\'s own)',
  '  --no-save              do not store results                                     (default: save)',
  '  --tick-hz HZ           tick rate for episodes without a start record or two steps (default: none)',
  '  --budget-ms MS         per-step time budget in the sandbox                     (default: 2)',
  '  --per-step             evaluate reward() step by step even if the program exports',
  '                         rewardColumns (docs/reward-columns.md)                (default: rewardColumns)',
  '  --json                 print the report as JSON                                 (default: table)',
  '  --vision-model DIR     episodes with a camera: the model whose text encoder embeds the program\'s',
  '                         new meta.vision prompts (the stored image embeddings are rescored) (default: none)',
  '  --vision-frames-model DIR  re-embed the stored camera frames with this model instead   (default: none)',
  '',
  'Exit 0 on success; 1 if --verify found a mismatch or an episode could not be read; 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'store', type: 'string' },
  { flag: 'reward', type: 'string' },
  { flag: 'episodes', type: 'string' },
  { flag: 'jobs', type: 'string' },
  { flag: 'verify', type: 'boolean' },
  { flag: 'verify-against', type: 'string' },
  { flag: 'save', type: 'boolean' },
  { flag: 'tick-hz', type: 'string' },
  { flag: 'budget-ms', type: 'string' },
  { flag: 'json', type: 'boolean' },
  { flag: 'per-step', type: 'boolean' },
  { flag: 'vision-model', type: 'string' },
  { flag: 'vision-frames-model', type: 'string' },
];

export function positiveNumber(flag: string, v: string | boolean | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !(n > 0) || (integer && !Number.isSafeInteger(n))) throw new RewarddError('E_CONFIG', `--${flag}: expected ${integer ? 'an integer >= 1' : 'a number > 0'}, found "${String(v)}"`);
  return n;
}

export function requiredString(flag: string, v: string | boolean | undefined): string {
  if (typeof v !== 'string' || v === '') throw new RewarddError('E_CONFIG', `--${flag}: expected a value, found none`);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  let progress: ProgressLine | undefined;
  try {
    const { values } = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    const storeDir = requiredString('store', values.store);
    const reward = await resolveProgramRef(requiredString('reward', values.reward), storeDir);
    const jobs = positiveNumber('jobs', values.jobs, true) ?? 1;
    const tickHz = positiveNumber('tick-hz', values['tick-hz'], false);
    const budgetMs = positiveNumber('budget-ms', values['budget-ms'], false);
    const against = values['verify-against'];
    if (against !== undefined && (typeof against !== 'string' || !/^[0-9a-f]{12}$/.test(against))) throw new RewarddError('E_CONFIG', `--verify-against: expected a 12-hex reward version, found "${String(against)}"`);
    if (against !== undefined && !values.verify) throw new RewarddError('E_CONFIG', '--verify-against: expected it together with --verify, found it alone');
    progress = new ProgressLine('relabel');
    const p = progress;
    const rep = await relabelStore({
      storeDir,
      reward,
      jobs,
      verify: values.verify === true,
      save: values.save !== false,
      perStep: values['per-step'] === true,
      ...(typeof values.episodes === 'string' ? { episodes: values.episodes } : {}),
      ...(against !== undefined ? { verifyAgainst: against } : {}),
      ...(tickHz !== undefined ? { tickHz } : {}),
      ...(budgetMs !== undefined ? { tuning: { budgetMs } } : {}),
      vision: {
        ...(typeof values['vision-model'] === 'string' ? { modelDir: values['vision-model'] } : {}),
        ...(typeof values['vision-frames-model'] === 'string' ? { framesModelDir: values['vision-frames-model'] } : {}),
      },
      onProgress: (d, t, s) => p.update(d, t, s),
    });
    progress.end();
    process.stdout.write(values.json ? `${JSON.stringify(rep, null, 2)}\n` : `${formatRelabel(rep)}\n`);
    return rep.errors.length > 0 || (rep.verify?.mismatched ?? 0) > 0 ? 1 : 0;
  } catch (e) {
    progress?.end();
    process.stderr.write(`rewardd relabel: ${(e as Error).message.split('\n')[0]}\n`);
    return exitCodeOf(e);
  }
}
