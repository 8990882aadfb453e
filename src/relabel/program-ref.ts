import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { loadRewardFile } from '../reward/reward-file.js';
import { Catalog, CATALOG_FILE } from '../store/catalog.js';
import type { ProgramSpec } from './episode-job.js';
import { RELABEL_DB, RELABEL_DIR, RelabelStore } from './result-store.js';

/**
 * Names a reward program on the command line: a file path, or a 12-hex
 * version hash that the store knows, either because a relabel stored its
 * source (<store>/relabel/rewards/) or because an episode's start record
 * carries it (every episode logs its reward source).
 */
export async function resolveProgramRef(ref: string, storeDir: string): Promise<ProgramSpec> {
  if (existsSync(ref)) return loadRewardFile(ref);
  if (/^[0-9a-f]{12}$/.test(ref)) {
    if (existsSync(join(storeDir, RELABEL_DIR, RELABEL_DB))) {
      const rs = new RelabelStore(storeDir);
      try {
        const s = rs.rewardSource(ref);
        if (s) return s;
      } finally {
        rs.close();
      }
    }
    const logged = loggedSource(storeDir, ref);
    if (logged) return logged;
  }
  throw new RewarddError('E_FILE', `reward "${ref}": expected a reward file or a 12-hex version known to ${storeDir} (relabelled or logged), found neither`);
}

/**
 * The source of a version from the newest episode that logged it: in its start record (the
 * version that started the episode), or in its end record's rewardSources (a version swapped in
 * mid-episode).
 */
function loggedSource(storeDir: string, version: string): ProgramSpec | undefined {
  if (!existsSync(join(storeDir, CATALOG_FILE))) return undefined;
  const cat = new Catalog(storeDir, { readonly: true });
  try {
    const rows = cat.list({ limit: Number.MAX_SAFE_INTEGER }).filter((r) => r.rewardHash === version || r.rewardVersions.includes(version)).reverse();
    for (const r of rows) {
      const { start, end } = cat.records(r.episode);
      if (start && start.reward.hash === version) return { source: start.reward.content, filename: `${start.reward.name}@${version}.reward.js` };
      const swapped = end?.rewardSources?.find((s) => s.hash === version);
      if (swapped) return { source: swapped.content, filename: `${swapped.name}@${version}.reward.${/\.tsx?$/.test(swapped.filename) ? 'ts' : 'js'}` };
    }
  } finally {
    cat.close();
  }
  return undefined;
}

/**
 * The reward version the fleet runs now: that of the newest stored episode's
 * start record (optionally of one robot). Undefined for an empty store.
 */
export function activeProgram(storeDir: string, robot?: string): (ProgramSpec & { version: string }) | undefined {
  if (!existsSync(join(storeDir, CATALOG_FILE))) return undefined;
  const cat = new Catalog(storeDir, { readonly: true });
  try {
    const rows = cat.list({ ...(robot !== undefined ? { robot } : {}), limit: Number.MAX_SAFE_INTEGER }).filter((r) => r.startedWallMs !== null);
    for (const r of rows.reverse()) {
      const st = cat.records(r.episode).start;
      if (st) return { source: st.reward.content, filename: `${st.reward.name}@${st.reward.hash}.reward.js`, version: st.reward.hash };
    }
  } finally {
    cat.close();
  }
  return undefined;
}

/** Versions with stored relabel sources (for error messages and listings). */
export function knownRelabelVersions(storeDir: string): string[] {
  const dir = join(storeDir, RELABEL_DIR, 'rewards');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.reward.js')).map((f) => f.slice(0, -'.reward.js'.length)) : [];
}
