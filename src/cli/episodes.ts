/**
 * `rewardd episodes list|show`: reads the recorder's catalog.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { Catalog, CATALOG_FILE, type EpisodeRow, type EpisodeStatus } from '../store/catalog.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd episodes list [options]',
  '       rewardd episodes show EPISODE [options]',
  '',
  'Lists or shows episodes in a recorder\'s catalog (DIR/catalog.sqlite).',
  '',
  '  --out DIR        the recorder\'s output folder                     (default: episodes)',
  '  --robot NAME     list: only this robot                            (default: every robot)',
  '  --status S       list: recording | writing | complete | incomplete (default: any)',
  '  --limit N        list: at most N episodes                         (default: 1000)',
  '  --json           machine-readable output (one JSON object per line for list) (default: off)',
  '',
  'Exit 0 on success, 1 if the episode is not found, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'out', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'status', type: 'string' },
  { flag: 'limit', type: 'string' },
  { flag: 'json', type: 'boolean' },
];
const STATUSES = ['recording', 'writing', 'complete', 'incomplete'];

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
const num = (v: number | null, d = 3): string => (v === null ? '-' : v.toFixed(d));

function table(rows: EpisodeRow[]): string {
  const head = ['episode', 'robot', 'started (UTC)', 'steps', 'return', 'success', 'status', 'reward'];
  const body = rows.map((r) => [r.episode, r.robot, iso(r.startedWallMs), String(r.steps), num(r.return), r.success === null ? '-' : r.success ? 'yes' : 'no', r.status, r.rewardHash ?? '-']);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

function show(r: EpisodeRow): string {
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
    `file             ${r.file ?? '-'}`,
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let cat: Catalog | undefined;
  try {
    const { values, positionals } = parseFlags(argv, FLAGS, true);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    const out = typeof values.out === 'string' ? values.out : 'episodes';
    const verb = positionals[0];
    if (verb !== 'list' && verb !== 'show') throw new RewarddError('E_CONFIG', `expected list or show, found ${verb === undefined ? 'nothing' : `"${verb}"`}`);
    if (verb === 'show' && positionals.length !== 2) throw new RewarddError('E_CONFIG', `show: expected one episode id, found ${positionals.length - 1}`);
    if (verb === 'list' && positionals.length !== 1) throw new RewarddError('E_CONFIG', `list: expected no positional arguments, found "${positionals.slice(1).join(' ')}"`);
    const status = values.status;
    if (status !== undefined && (typeof status !== 'string' || !STATUSES.includes(status))) throw new RewarddError('E_CONFIG', `--status: expected one of ${STATUSES.join(' | ')}, found "${String(status)}"`);
    const limit = values.limit === undefined ? 1000 : Number(values.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RewarddError('E_CONFIG', `--limit: expected an integer >= 1, found "${String(values.limit)}"`);
    if (!existsSync(join(out, CATALOG_FILE))) throw new RewarddError('E_STORE', `expected a catalog at ${join(out, CATALOG_FILE)}, found none (is --out the recorder's folder?)`);
    cat = new Catalog(out, { readonly: true });
    if (verb === 'list') {
      const rows = cat.list({ ...(typeof values.robot === 'string' ? { robot: values.robot } : {}), ...(status ? { status: status as EpisodeStatus } : {}), limit });
      process.stdout.write(values.json ? rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '') : `${table(rows)}\n${rows.length} episode(s)\n`);
      return 0;
    }
    const row = cat.get(positionals[1]!);
    if (!row) {
      process.stderr.write(`rewardd episodes: expected episode "${positionals[1]}" in ${join(out, CATALOG_FILE)}, found none\n`);
      return 1;
    }
    process.stdout.write(values.json ? `${JSON.stringify(row, null, 2)}\n` : `${show(row)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`rewardd episodes: ${(e as Error).message}\n`);
    return 2;
  } finally {
    cat?.close();
  }
}
