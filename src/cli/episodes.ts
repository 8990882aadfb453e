/**
 * `rewardd episodes list|show|label`: reads the recorder's catalog; `label`
 * adds an operator's outcome label (src/store/labels.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { Catalog, CATALOG_FILE, type EpisodeRow, type EpisodeStatus } from '../store/catalog.js';
import { EpisodeLabels, type LabelRow } from '../store/labels.js';
import { episodeFileIn } from '../relabel/episode-filter.js';
import { exitCodeOf, parseFlags, storeFlag, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd episodes list [options]',
  '       rewardd episodes show EPISODE [options]',
  '       rewardd episodes label EPISODE --success|--failure [--note TEXT] [--store DIR]',
  '',
  'Lists or shows episodes in a recorder\'s catalog (DIR/catalog.sqlite). label records an operator\'s',
  'verdict on an episode (kept with every earlier one; the newest counts), the outcome signal that',
  '`rewardd reward refine --store` ranks reward programs against.',
  '',
  '  --store DIR      the recorder\'s folder (--out DIR: the same)      (default: episodes)',
  '  --robot NAME     list: only this robot                            (default: every robot)',
  '  --status S       list: recording | writing | complete | incomplete (default: any)',
  '  --limit N        list: at most N episodes                         (default: 1000)',
  '  --json           machine-readable output (one JSON object per line for list) (default: off)',
  '  --success        label: the episode achieved its task',
  '  --failure        label: it did not',
  '  --note TEXT      label: why, in a sentence (at most 2000 characters)         (default: none)',
  '',
  'Exit 0 on success, 1 if the episode is not found, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'store', type: 'string' },
  { flag: 'out', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'status', type: 'string' },
  { flag: 'limit', type: 'string' },
  { flag: 'json', type: 'boolean' },
  { flag: 'success', type: 'boolean' },
  { flag: 'failure', type: 'boolean' },
  { flag: 'note', type: 'string' },
];
const STATUSES = ['recording', 'writing', 'complete', 'incomplete'];

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
const num = (v: number | null, d = 3): string => (v === null ? '-' : v.toFixed(d));

function table(rows: EpisodeRow[], labels: Map<string, LabelRow>): string {
  const head = ['episode', 'robot', 'started (UTC)', 'steps', 'return', 'success', 'label', 'status', 'reward'];
  const body = rows.map((r) => [r.episode, r.robot, iso(r.startedWallMs), String(r.steps), num(r.return), r.success === null ? '-' : r.success ? 'yes' : 'no', labels.get(r.episode)?.label ?? '-', r.status, r.rewardHash ?? '-']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

function show(r: EpisodeRow, labels: LabelRow[], storeDir: string): string {
  const lines = [
    `episode          ${r.episode}`,
    `robot            ${r.robot}`,
    `index            ${r.index ?? '-'}`,
    `status           ${r.status}${r.endReason ? ` (${r.endReason})` : ''}`,
    `started / ended  ${iso(r.startedWallMs)} / ${iso(r.endedWallMs)}`,
    `steps            ${r.steps}${r.expectedSteps !== null ? ` of ${r.expectedSteps}` : ''}${r.missing ? `, ${r.missing} missing` : ''}`,
    `return           ${num(r.return)}`,
    ...Object.entries(r.returnByTerm).map(([k, v]) => `  ${k.padEnd(15)}${num(v)}`),
    `success          ${r.success === null ? '-' : r.success ? 'yes' : 'no'}`,
    `reward           ${r.rewardHash ?? '-'} (versions: ${r.rewardVersions.join(', ') || '-'})`,
    `policy           ${r.policyHash ?? '-'}`,
    `calibration      ${r.calibrationHash ?? '-'}`,
    `robot desc.      ${r.robotHash ?? '-'}`,
    // Where the file is in this store (the catalog keeps the recorder's path, which a copied or moved store no longer has).
    `file             ${r.file ? episodeFileIn(storeDir, r) : '-'}`,
    ...(labels.length === 0 ? ['label            -'] : labels.map((l, i) => `${i === 0 ? 'label' : ''}`.padEnd(17) + `${l.label} (${l.source}, ${iso(l.wallMs)})${l.note ? `: ${l.note}` : ''}`)),
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let cat: Catalog | undefined;
  let labels: EpisodeLabels | undefined;
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, true);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    const out = storeFlag(values, 'episodes');
    const verb = positionals[0];
    if (verb === 'label') return label(out, positionals.slice(1), values);
    if (verb !== 'list' && verb !== 'show') throw new RewarddError('E_CONFIG', `expected list, show or label, found ${verb === undefined ? 'nothing' : `"${verb}"`}`);
    if (verb === 'show' && positionals.length !== 2) throw new RewarddError('E_CONFIG', `show: expected one episode id, found ${positionals.length - 1}`);
    if (verb === 'list' && positionals.length !== 1) throw new RewarddError('E_CONFIG', `list: expected no positional arguments, found "${positionals.slice(1).join(' ')}"`);
    const status = values.status;
    if (status !== undefined && (typeof status !== 'string' || !STATUSES.includes(status))) throw new RewarddError('E_CONFIG', `--status: expected one of ${STATUSES.join(' | ')}, found "${String(status)}"`);
    const limit = values.limit === undefined ? 1000 : Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RewarddError('E_CONFIG', `--limit: expected an integer >= 1, found "${String(values.limit)}"`);
    if (!existsSync(join(out, CATALOG_FILE))) throw new RewarddError('E_STORE', `expected a catalog at ${join(out, CATALOG_FILE)}, found none (is --store the recorder's folder?)`);
    cat = new Catalog(out, { readonly: true });
    labels = new EpisodeLabels(out, { readonly: true });
    if (verb === 'list') {
      const rows = cat.list({ ...(typeof values.robot === 'string' ? { robot: values.robot } : {}), ...(status ? { status: status as EpisodeStatus } : {}), limit });
      const latest = labels.latest();
      const withLabel = rows.map((r) => ({ ...r, label: latest.get(r.episode)?.label ?? null }));
      process.stdout.write(values.json ? withLabel.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '') : `${table(rows, latest)}\n${rows.length} episode(s)\n`);
      return 0;
    }
    const row = cat.get(positionals[1]!);
    if (!row) {
      process.stderr.write(`rewardd episodes: expected episode "${positionals[1]}" in ${join(out, CATALOG_FILE)}, found none\n`);
      return 1;
    }
    const history = labels.history(row.episode);
    process.stdout.write(values.json ? `${JSON.stringify({ ...row, ...(row.file ? { file: episodeFileIn(out, row) } : {}), labels: history }, null, 2)}\n` : `${show(row, history, out)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`rewardd episodes: ${(e as Error).message}\n`);
    return exitCodeOf(e);
  } finally {
    cat?.close();
    labels?.close();
  }
}

function label(out: string, args: string[], values: Record<string, string | boolean>): number {
  if (args.length !== 1) throw new RewarddError('E_CONFIG', `label: expected one episode id, found ${args.length}`);
  if ((values.success === true) === (values.failure === true)) throw new RewarddError('E_CONFIG', `label: expected exactly one of --success and --failure, found ${values.success === true ? 'both' : 'neither'}`);
  const note = typeof values.note === 'string' && values.note.trim() !== '' ? values.note.trim() : null;
  const episode = args[0]!;
  const labels = new EpisodeLabels(out);
  try {
    if (!labels.hasEpisode(episode)) {
      process.stderr.write(`rewardd episodes: expected episode "${episode}" in ${join(out, CATALOG_FILE)}, found none\n`);
      return 1;
    }
    const verdict = values.success === true ? 'success' : 'failure';
    labels.add(episode, verdict, note, 'operator', Date.now());
    const n = labels.history(episode).length;
    process.stdout.write(`${episode}: labelled ${verdict}${note ? ` (${note})` : ''}${n > 1 ? `; replaces ${n - 1} earlier label(s), which are kept` : ''}\n`);
    return 0;
  } finally {
    labels.close();
  }
}
