/**
 * `rewardd reward diff A B --store DIR`: two reward versions on the same
 * logged transitions. The lead's `reward` verb dispatches `diff` here.
 */
import { diffRewards } from '../relabel/diff.js';
import { formatDiff } from '../relabel/format.js';
import { resolveProgramRef } from '../relabel/program-ref.js';
import { ProgressLine } from '../relabel/progress.js';
import { RewarddError } from '../core/errors.js';
import { exitCodeOf, parseFlags, type FlagSpec } from './args.js';
import { positiveNumber, requiredString } from './relabel.js';

export const help = [
  'Usage: rewardd reward diff A B --store DIR [options]',
  '',
  'Compares two reward versions (each a reward file or a 12-hex version the store knows) on the same',
  'stored transitions: Pearson and Spearman correlation of per-step totals and of episode returns,',
  'success agreement, the canonical reward distance (docs/relabel.md: 0 = the same up to a positive',
  'scale and a shift, 1 = reversed) and a per-term table of what changed.',
  '',
  '  --store DIR          the recorder\'s folder                                    (required)',
  '  --episodes FILTER    ids/globs and robot=, status=, reward=, since=, last=      (default: all)',
  '  --jobs N             worker processes                                          (default: 1)',
  '  --json               print the report as JSON                                  (default: table)',
  '',
  'Exit 0 when compared, 1 if an episode could not be read, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'store', type: 'string' },
  { flag: 'episodes', type: 'string' },
  { flag: 'jobs', type: 'string' },
  { flag: 'json', type: 'boolean' },
];

export async function main(argv: string[]): Promise<number> {
  let progress: ProgressLine | undefined;
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, true);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    if (positionals.length !== 2) throw new RewarddError('E_CONFIG', `expected two rewards A and B, found ${positionals.length} (${positionals.join(' ') || 'none'})`);
    const storeDir = requiredString('store', values.store);
    const a = await resolveProgramRef(positionals[0]!, storeDir);
    const b = await resolveProgramRef(positionals[1]!, storeDir);
    const jobs = positiveNumber('jobs', values.jobs, true) ?? 1;
    progress = new ProgressLine('reward diff');
    const p = progress;
    const d = await diffRewards({ storeDir, a, b, jobs, ...(typeof values.episodes === 'string' ? { episodes: values.episodes } : {}), onProgress: (x, t, s) => p.update(x, t, s) });
    progress.end();
    process.stdout.write(values.json ? `${JSON.stringify(d, null, 2)}\n` : `${formatDiff(d)}\n`);
    return d.errors.length > 0 ? 1 : 0;
  } catch (e) {
    progress?.end();
    process.stderr.write(`rewardd reward diff: ${(e as Error).message.split('\n')[0]}\n`);
    return exitCodeOf(e);
  }
}
