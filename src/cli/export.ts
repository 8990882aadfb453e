/**
 * `rewardd export`: relabelled episodes as a dataset for offline RL.
 */
import { RewarddError } from '../core/errors.js';
import { exportEpisodes } from '../relabel/export.js';
import { resolveProgramRef } from '../relabel/program-ref.js';
import { ProgressLine } from '../relabel/progress.js';
import { exitCodeOf, parseFlags, type FlagSpec } from './args.js';
import { requiredString } from './relabel.js';
import { grouped } from '../core/grouped.js';

export const help = [
  'Usage: rewardd export --store DIR --reward FILE|VERSION --out FILE.npz|DIR [--format npz|lerobot] [options]',
  '',
  'Writes stored episodes, with rewards from the given version, as one NumPy .npz in the D4RL layout',
  '(observations, actions, rewards, terminals, timeouts, next_observations, plus reward_terms, dt,',
  'episode_index, step_index, ... and meta.json), or with --format lerobot as a LeRobotDataset folder',
  '(codebase v3.0: data/*.parquet, meta/info.json, meta/stats.json, meta/tasks.parquet, meta/episodes/).',
  'docs/relabel.md lists every array and column. Results stored by `rewardd relabel` are reused;',
  'other episodes are evaluated on the way.',
  '',
  '  --store DIR            the recorder\'s folder                                  (required)',
  '  --reward FILE|VERSION  a reward file, or a 12-hex version the store knows     (required)',
  '  --out FILE|DIR         the .npz file, or (lerobot) a folder that must not exist (required)',
  '  --episodes FILTER      ids/globs and robot=, status=, reward=, since=, last=   (default: all)',
  '  --format F             npz or lerobot                                        (default: npz)',
  '  --json                 print the summary as JSON                             (default: text)',
  '',
  'Exit 0 on success, 2 on bad usage or an unreadable store.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'store', type: 'string' },
  { flag: 'reward', type: 'string' },
  { flag: 'out', type: 'string' },
  { flag: 'episodes', type: 'string' },
  { flag: 'format', type: 'string' },
  { flag: 'json', type: 'boolean' },
];

export async function main(argv: string[]): Promise<number> {
  let progress: ProgressLine | undefined;
  try {
    const { values } = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    const format = values.format ?? 'npz';
    if (format !== 'npz' && format !== 'lerobot') throw new RewarddError('E_CONFIG', `--format: expected npz or lerobot, found "${String(format)}"`);
    const storeDir = requiredString('store', values.store);
    const out = requiredString('out', values.out);
    const program = await resolveProgramRef(requiredString('reward', values.reward), storeDir);
    progress = new ProgressLine('export');
    const p = progress;
    const rep = await exportEpisodes({ storeDir, program, out, format, ...(typeof values.episodes === 'string' ? { episodes: values.episodes } : {}), onProgress: (d, t, s) => p.update(d, t, s) });
    progress.end();
    process.stdout.write(values.json ? `${JSON.stringify(rep, null, 2)}\n` : `wrote ${rep.file}: ${rep.episodes} episode(s), ${grouped(rep.steps)} steps, rewards of v${rep.rewardVersion} (${rep.reused} reused from stored relabels)\n${rep.format === 'npz' ? 'arrays' : 'files'}: ${rep.arrays.join(', ')}\n`);
    return 0;
  } catch (e) {
    progress?.end();
    process.stderr.write(`rewardd export: ${(e as Error).message.split('\n')[0]}\n`);
    return exitCodeOf(e);
  }
}
