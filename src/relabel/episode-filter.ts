import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { assertStoreFolder, Catalog, CATALOG_FILE, type EpisodeRow } from '../store/catalog.js';

/**
 * Which stored episodes a relabel, diff, check or export reads.
 *
 * FILTER is a comma-separated list of terms:
 *   EPISODE or a glob with `*`   (these are OR-ed: any of them)
 *   robot=NAME                   only this robot
 *   status=complete|incomplete   only this status (default: both; episodes still being recorded have no file)
 *   reward=VERSION               only episodes that logged this reward version
 *   since=ISO-TIME               started at or after this wall time
 *   last=N                       only the N most recently started of what is left
 * Keyed terms are AND-ed with each other and with the episode terms.
 */
export interface EpisodeFilter {
  ids: RegExp[];
  robot?: string;
  status?: 'complete' | 'incomplete';
  reward?: string;
  sinceMs?: number;
  last?: number;
}

export function parseEpisodeFilter(text: string | undefined): EpisodeFilter {
  const f: EpisodeFilter = { ids: [] };
  if (text === undefined || text.trim() === '' || text.trim() === 'all') return f;
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const eq = term.indexOf('=');
    if (eq < 0) {
      if (!/^[A-Za-z0-9_.*-]+$/.test(term)) throw new RewarddError('E_CONFIG', `--episodes: expected an episode id or glob (letters, digits, - _ . *), found "${term}"`);
      f.ids.push(new RegExp(`^${term.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`));
      continue;
    }
    const key = term.slice(0, eq);
    const value = term.slice(eq + 1);
    switch (key) {
      case 'robot':
        f.robot = value;
        break;
      case 'reward':
        f.reward = value;
        break;
      case 'status':
        if (value !== 'complete' && value !== 'incomplete') throw new RewarddError('E_CONFIG', `--episodes status=: expected complete or incomplete, found "${value}"`);
        f.status = value;
        break;
      case 'since': {
        const ms = Date.parse(value);
        if (!Number.isFinite(ms)) throw new RewarddError('E_CONFIG', `--episodes since=: expected an ISO time like 2026-11-27T14:00Z, found "${value}"`);
        f.sinceMs = ms;
        break;
      }
      case 'last': {
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n < 1) throw new RewarddError('E_CONFIG', `--episodes last=: expected an integer >= 1, found "${value}"`);
        f.last = n;
        break;
      }
      default:
        throw new RewarddError('E_CONFIG', `--episodes: expected robot=, status=, reward=, since=, last= or an episode id, found "${term}"`);
    }
  }
  return f;
}

export interface StoredEpisode {
  row: EpisodeRow;
  /** Path of the episode's MCAP file, resolved against the store folder. */
  file: string;
}

/**
 * Where an episode's MCAP file is in THIS store: `<store>/<robot>/<episode>.mcap`, where the recorder
 * writes it. The catalog's file column is the path the recorder used (absolute, or relative to the
 * folder it ran in), so a store copied with `cp -r` names the original's files: read as they were, a
 * relabel of the copy read (and wrote columns files into) the original store. So the column is used
 * only for the file's name, and the folder is always this store's.
 */
export function episodeFileIn(storeDir: string, row: EpisodeRow): string {
  return join(storeDir, row.robot, row.file ? basename(row.file) : `${row.episode}.mcap`);
}

/** The error of a relabel or diff whose selection is empty (export words its own). */
export function noEpisodesError(verb: string, storeDir: string, episodes: string | EpisodeFilter | undefined): RewarddError {
  const matching = episodes !== undefined ? ` matching --episodes "${typeof episodes === 'string' ? episodes : '(filter)'}"` : '';
  return new RewarddError('E_STORE', `${verb}: expected at least one stored episode${matching} in ${storeDir}, found none`);
}

/** The episodes of a store that match, oldest first. Throws E_STORE when the store has no catalog. */
export function selectEpisodes(storeDir: string, filter: EpisodeFilter): StoredEpisode[] {
  assertStoreFolder(storeDir);
  if (!existsSync(join(storeDir, CATALOG_FILE))) {
    throw new RewarddError('E_STORE', `expected a recorder catalog at ${join(storeDir, CATALOG_FILE)}, found none (is --store the folder given to rewardd record --store?)`);
  }
  const cat = new Catalog(storeDir, { readonly: true });
  let rows: EpisodeRow[];
  try {
    rows = cat.list({ ...(filter.robot !== undefined ? { robot: filter.robot } : {}), ...(filter.status !== undefined ? { status: filter.status } : {}), limit: Number.MAX_SAFE_INTEGER });
  } finally {
    cat.close();
  }
  rows = rows.filter(
    (r) =>
      (r.status === 'complete' || r.status === 'incomplete') &&
      (filter.ids.length === 0 || filter.ids.some((re) => re.test(r.episode))) &&
      (filter.reward === undefined || r.rewardVersions.includes(filter.reward) || r.rewardHash === filter.reward) &&
      (filter.sinceMs === undefined || (r.startedWallMs ?? -Infinity) >= filter.sinceMs),
  );
  if (filter.last !== undefined) rows = rows.slice(-filter.last);
  const out: StoredEpisode[] = [];
  // A file that is missing fails its own episode when it is read (loadStoredEpisode), not the run.
  for (const row of rows) out.push({ row, file: episodeFileIn(storeDir, row) });
  return out;
}
