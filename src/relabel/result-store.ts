import Database from '#better-sqlite3';
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { RewarddError } from '../core/errors.js';
import type { EpisodeSummary } from './stats.js';
import { decodeRelabelResult, encodeRelabelResult } from './result-file.js';
import type { RelabelResult } from './relabel-episode.js';
import type { VerifyReport } from './verify.js';

/**
 * Relabel results beside the recorder's store, never in place of it:
 *
 *   <store>/relabel/relabel.sqlite                      this index (own file; the recorder's catalog is untouched)
 *   <store>/relabel/<episode>/<rewardVersion>.rwr       the per-step columns (result-file.ts)
 *   <store>/relabel/rewards/<rewardVersion>.reward.js   the program text, so a version hash can be named later
 *
 * Re-running a relabel with the same version replaces that version's result
 * (same program, same steps: the same numbers); other versions are kept.
 */
export const RELABEL_DIR = 'relabel';
export const RELABEL_DB = 'relabel.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rewards (
  version TEXT PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL, term_names TEXT NOT NULL, weights TEXT NOT NULL,
  filename TEXT NOT NULL, first_seen_wall_ms REAL NOT NULL);
CREATE TABLE IF NOT EXISTS relabels (
  episode TEXT NOT NULL, reward_version TEXT NOT NULL, robot TEXT NOT NULL, steps INTEGER NOT NULL, failed INTEGER NOT NULL,
  return REAL NOT NULL, return_by_term TEXT NOT NULL, success INTEGER NOT NULL, success_seq INTEGER, done_seq INTEGER,
  file TEXT NOT NULL, relabelled_wall_ms REAL NOT NULL, verify_verdict TEXT, verify_json TEXT,
  PRIMARY KEY (episode, reward_version));
`;

export interface RewardIdentity {
  version: string;
  sha256: string;
  name: string;
  termNames: string[];
  weights: Record<string, number>;
  source: string;
  filename: string;
  /** meta.ranges, when the program declares them. */
  ranges?: Record<string, [number, number]>;
}

/** A stored relabel's row: the episode summary it was computed with, and where its columns are. */
export interface StoredRelabel extends Pick<EpisodeSummary, 'episode' | 'robot' | 'steps' | 'failed' | 'return' | 'returnByTerm' | 'success'> {
  rewardVersion: string;
  file: string;
  verifyVerdict: string | null;
}

export class RelabelStore {
  readonly dir: string;
  private readonly db: Database.Database;

  constructor(readonly storeDir: string) {
    this.dir = join(storeDir, RELABEL_DIR);
    try {
      mkdirSync(join(this.dir, 'rewards'), { recursive: true });
      this.db = new Database(join(this.dir, RELABEL_DB));
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('journal_mode = WAL');
      // Results are derived data (computed again if lost): a commit need not wait for the disk.
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new RewarddError('E_STORE', `relabel index ${join(this.dir, RELABEL_DB)}: ${(e as Error).message}`, { cause: e });
    }
  }

  rememberReward(r: RewardIdentity, wallMs: number): void {
    writeAtomic(join(this.dir, 'rewards', `${r.version}.reward.js`), new TextEncoder().encode(r.source));
    this.db
      .prepare('INSERT OR IGNORE INTO rewards (version, sha256, name, term_names, weights, filename, first_seen_wall_ms) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(r.version, r.sha256, r.name, JSON.stringify(r.termNames), JSON.stringify(r.weights), r.filename, wallMs);
  }

  /** The source of a version relabelled before, or undefined. */
  rewardSource(version: string): { source: string; filename: string } | undefined {
    const row = this.db.prepare<[string], { filename: string }>('SELECT filename FROM rewards WHERE version = ?').get(version);
    if (!row) return undefined;
    return { source: readFileSync(join(this.dir, 'rewards', `${version}.reward.js`), 'utf8'), filename: row.filename };
  }

  /** Writes one episode's result file (temporary name, then rename) and its index row. */
  save(result: RelabelResult, seq: Uint32Array, summary: EpisodeSummary, wallMs: number, verify?: VerifyReport): string {
    const rel = join(result.episode, `${result.rewardVersion}.rwr`);
    writeAtomic(join(this.dir, rel), encodeRelabelResult(result, seq));
    this.db
      .prepare(`INSERT OR REPLACE INTO relabels (episode, reward_version, robot, steps, failed, return, return_by_term, success, success_seq, done_seq, file,
        relabelled_wall_ms, verify_verdict, verify_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(result.episode, result.rewardVersion, summary.robot, summary.steps, summary.failed, summary.return, JSON.stringify(summary.returnByTerm),
        summary.success ? 1 : 0, summary.successSeq, summary.doneSeq, rel, wallMs, verify?.verdict ?? null, verify ? JSON.stringify(verify) : null);
    return join(this.dir, rel);
  }

  /** Indexes a result file already written (by a relabel worker) under this folder. */
  index(episode: string, version: string, file: string, summary: EpisodeSummary, wallMs: number, verify?: VerifyReport): void {
    const rel = relative(this.dir, file);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new RewarddError('E_STORE', `relabel result ${file}: expected it under ${this.dir}`);
    this.db
      .prepare(`INSERT OR REPLACE INTO relabels (episode, reward_version, robot, steps, failed, return, return_by_term, success, success_seq, done_seq, file,
        relabelled_wall_ms, verify_verdict, verify_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(episode, version, summary.robot, summary.steps, summary.failed, summary.return, JSON.stringify(summary.returnByTerm),
        summary.success ? 1 : 0, summary.successSeq, summary.doneSeq, rel, wallMs, verify?.verdict ?? null, verify ? JSON.stringify(verify) : null);
  }

  get(episode: string, version: string): StoredRelabel | undefined {
    const r = this.db
      .prepare<[string, string], { episode: string; reward_version: string; robot: string; steps: number; failed: number; return: number; return_by_term: string; success: number; file: string; verify_verdict: string | null }>(
        'SELECT * FROM relabels WHERE episode = ? AND reward_version = ?',
      )
      .get(episode, version);
    if (!r) return undefined;
    return { episode: r.episode, rewardVersion: r.reward_version, robot: r.robot, steps: r.steps, failed: r.failed, return: r.return, returnByTerm: JSON.parse(r.return_by_term) as Record<string, number>, success: r.success === 1, file: join(this.dir, r.file), verifyVerdict: r.verify_verdict };
  }

  /** A stored result's columns, or undefined when this episode was never relabelled with this version. */
  load(episode: string, version: string): { result: RelabelResult; seq: Uint32Array } | undefined {
    const row = this.get(episode, version);
    if (!row) return undefined;
    try {
      return decodeRelabelResult(readFileSync(row.file));
    } catch {
      return undefined; // gone or torn (results are not fsynced): computed again
    }
  }

  versions(episode: string): string[] {
    return this.db.prepare<[string], { reward_version: string }>('SELECT reward_version FROM relabels WHERE episode = ? ORDER BY relabelled_wall_ms').all(episode).map((r) => r.reward_version);
  }

  close(): void {
    this.db.close();
  }
}

function writeAtomic(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
