import Database from '#better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import { RewarddError } from '../core/errors.js';
import type { Staging } from './staging.js';

/**
 * The episode catalog and the recorder's staging area, in one SQLite file
 * (<out>/catalog.sqlite, WAL). Indexing received batches here (their bytes are in
 * staging files, see staging.ts), keyed by (episode, seq0), is what makes the recorder lose nothing and store nothing
 * twice: a batch is acknowledged to the broker only after its row commits, a
 * replayed batch is ignored by the primary key, and several recorders sharing a
 * subscription (and this directory) see each other's batches.
 */
export type EpisodeStatus = 'recording' | 'writing' | 'complete' | 'incomplete';

export interface EpisodeRow {
  episode: string;
  robot: string;
  index: number | null;
  startedWallMs: number | null;
  endedWallMs: number | null;
  steps: number;
  expectedSteps: number | null;
  return: number | null;
  returnByTerm: Record<string, number>;
  success: boolean | null;
  endReason: string | null;
  rewardHash: string | null;
  rewardVersions: string[];
  policyHash: string | null;
  calibrationHash: string | null;
  robotHash: string | null;
  status: EpisodeStatus;
  file: string | null;
  missing: number;
}

export type IngestItem =
  | { kind: 'start'; robot: string; episode: string; start: EpisodeStart; json: string }
  | { kind: 'steps'; robot: string; episode: string; seq0: number; count: number; bytes: Uint8Array }
  | { kind: 'end'; robot: string; episode: string; end: EpisodeEnd; json: string };

export interface PendingEpisode {
  episode: string;
  robot: string;
  activity: number;
  hasStart: boolean;
  hasEnd: boolean;
  expectedSteps: number | null;
  stagedSteps: number;
}

/**
 * The columnar copy of each finished episode (docs/relabel.md): which file, and who made
 * it: 'recorder' when it was written with the MCAP file, 'relabel' when a first relabel
 * made it from the MCAP file (stores recorded before columns files, or with them off).
 */
const COLUMNS_SCHEMA = `CREATE TABLE IF NOT EXISTS episode_columns (
  episode TEXT PRIMARY KEY, file TEXT NOT NULL, origin TEXT NOT NULL, bytes INTEGER NOT NULL, written_wall_ms REAL NOT NULL);`;

export type ColumnsOrigin = 'recorder' | 'relabel';
export interface EpisodeColumnsRow {
  file: string;
  origin: ColumnsOrigin;
  bytes: number;
  writtenWallMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS episodes (
  episode TEXT PRIMARY KEY, robot TEXT NOT NULL, idx INTEGER,
  started_wall_ms REAL, ended_wall_ms REAL, steps INTEGER NOT NULL DEFAULT 0, expected_steps INTEGER,
  return REAL, return_by_term TEXT, success INTEGER, end_reason TEXT,
  reward_hash TEXT, reward_versions TEXT, policy_hash TEXT, calibration_hash TEXT, robot_hash TEXT,
  status TEXT NOT NULL, file TEXT, missing INTEGER NOT NULL DEFAULT 0,
  start_json TEXT, end_json TEXT, activity INTEGER NOT NULL DEFAULT 0, owner TEXT, claimed_wall_ms REAL);
CREATE INDEX IF NOT EXISTS episodes_robot ON episodes(robot, started_wall_ms);
CREATE TABLE IF NOT EXISTS batches (
  episode TEXT NOT NULL, seq0 INTEGER NOT NULL, count INTEGER NOT NULL, file TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
  PRIMARY KEY (episode, seq0)) WITHOUT ROWID;
${COLUMNS_SCHEMA}`;

interface RawRow {
  episode: string; robot: string; idx: number | null; started_wall_ms: number | null; ended_wall_ms: number | null;
  steps: number; expected_steps: number | null; return: number | null; return_by_term: string | null; success: number | null;
  end_reason: string | null; reward_hash: string | null; reward_versions: string | null; policy_hash: string | null;
  calibration_hash: string | null; robot_hash: string | null; status: EpisodeStatus; file: string | null; missing: number;
}

const toRow = (r: RawRow): EpisodeRow => ({
  episode: r.episode, robot: r.robot, index: r.idx, startedWallMs: r.started_wall_ms, endedWallMs: r.ended_wall_ms,
  steps: r.steps, expectedSteps: r.expected_steps, return: r.return,
  returnByTerm: r.return_by_term ? (JSON.parse(r.return_by_term) as Record<string, number>) : {},
  success: r.success === null ? null : r.success === 1, endReason: r.end_reason, rewardHash: r.reward_hash,
  rewardVersions: r.reward_versions ? (JSON.parse(r.reward_versions) as string[]) : [], policyHash: r.policy_hash,
  calibrationHash: r.calibration_hash, robotHash: r.robot_hash, status: r.status, file: r.file, missing: r.missing,
});

export const CATALOG_FILE = 'catalog.sqlite';

/** A store path that names a file is said plainly (mkdir and SQLite would say EEXIST or ENOTDIR). */
export function assertStoreFolder(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new RewarddError('E_STORE', `store ${dir}: expected a folder (the one given to rewardd record --store), found a file`);
}

export class Catalog {
  readonly db: Database.Database;
  /** Records that arrived for an incomplete episode whose staged batches were already purged (dropped, acknowledged). */
  lateDropped = 0;
  private readonly st;
  private anyBatchQuery: Database.Statement<[string], { n: number }> | undefined;
  private pendingQuery: Database.Statement<[], { episode: string; robot: string; activity: number; has_start: number; has_end: number; expected_steps: number | null; staged: number | null }> | undefined;

  constructor(readonly dir: string, opts: { readonly?: boolean } = {}) {
    assertStoreFolder(dir);
    try {
      if (!opts.readonly) mkdirSync(dir, { recursive: true });
      this.db = new Database(join(dir, CATALOG_FILE), { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
      this.db.pragma('busy_timeout = 5000');
      if (!opts.readonly) {
        this.db.pragma('journal_mode = WAL');
        // NORMAL in WAL mode: a commit survives a process crash; only a power cut may lose the last commits.
        this.db.pragma('synchronous = NORMAL');
        this.db.exec(SCHEMA);
      } else {
        // SQLite opens lazily: a damaged or foreign file fails here, with its name, rather than at the
        // first query as a bare "file is not a database" or "no such table: episodes".
        this.db.prepare('SELECT 1 FROM episodes LIMIT 1').get();
      }
    } catch (e) {
      if (e instanceof RewarddError) throw e;
      throw new RewarddError('E_STORE', `catalog ${join(dir, CATALOG_FILE)}: expected a rewardd recorder catalog (SQLite, made by rewardd record); SQLite says: ${(e as Error).message}`, { cause: e });
    }
    const db = this.db;
    this.st = opts.readonly ? undefined : {
      status: db.prepare<[string], { status: EpisodeStatus; steps: number; has_start: number; has_end: number }>(
        'SELECT status, steps, start_json IS NOT NULL AS has_start, end_json IS NOT NULL AS has_end FROM episodes WHERE episode = ?',
      ),
      reopen: db.prepare(`UPDATE episodes SET status = 'recording', owner = NULL WHERE episode = ? AND status = 'incomplete'`),
      touch: db.prepare(`INSERT INTO episodes (episode, robot, status, activity) VALUES (?, ?, 'recording', 1)
        ON CONFLICT(episode) DO UPDATE SET activity = activity + 1`),
      start: db.prepare(`UPDATE episodes SET start_json = ?, idx = ?, started_wall_ms = ?, reward_hash = ?, policy_hash = ?,
        calibration_hash = ?, robot_hash = ? WHERE episode = ?`),
      has: db.prepare<[string, number], { n: number }>('SELECT 1 AS n FROM batches WHERE episode = ? AND seq0 = ?'),
      batch: db.prepare('INSERT OR IGNORE INTO batches (episode, seq0, count, file, offset, length) VALUES (?, ?, ?, ?, ?, ?)'),
      end: db.prepare(`UPDATE episodes SET end_json = ?, expected_steps = ?, ended_wall_ms = ?, end_reason = ? WHERE episode = ?`),
    };
  }

  /**
   * Stages received records in one transaction (one commit for a whole group: the recorder's
   * group commit). Records of finished episodes and batches already indexed are replays and
   * are ignored, including a batch that occurs twice in `items`. The batches' bytes are written
   * to staging inside the transaction, before their index rows, so a committed row always
   * points at written bytes. Returns how many batches were new.
   */
  ingest(items: readonly IngestItem[], staging: Staging): number {
    const st = this.st!;
    // IMMEDIATE: the write lock is taken (waiting up to busy_timeout) before the first read. A
    // deferred transaction that reads and then writes gets SQLITE_BUSY at once, with no wait,
    // when another recorder process of a shared group committed in between.
    return this.db.transaction(() => {
      const fresh: Extract<IngestItem, { kind: 'steps' }>[] = [];
      const inGroup = new Set<string>();
      // What this group knows of each episode it touches, read once per episode.
      const seen = new Map<string, { status: EpisodeStatus; hasStart: boolean; hasEnd: boolean; keepsBatches: boolean; touched: boolean }>();
      for (const it of items) {
        let ep = seen.get(it.episode);
        if (!ep) {
          const row = st.status.get(it.episode);
          ep = {
            status: row?.status ?? 'recording',
            hasStart: row?.has_start === 1,
            hasEnd: row?.has_end === 1,
            // An incomplete episode still holding its staged batches (or one that never had any) can be reopened.
            keepsBatches: row?.status === 'incomplete' && (row.steps === 0 || this.hasStagedBatches(it.episode)),
            touched: false,
          };
          seen.set(it.episode, ep);
        }
        // 'complete': every step is in the file, so this is a replay. 'writing' goes on: what it
        // stages is either in the file or reopens the episode (finish).
        if (ep.status === 'complete') continue;
        if (ep.status === 'incomplete') {
          // Late records of an episode written as incomplete (an outage longer than the
          // recorder's timeout). A batch it does not have, or its end record, reopens it: it is
          // written again with them from its staged batches, which incomplete episodes keep.
          // A replay of what it has changes nothing. Once the staged batches are purged
          // (retention) a rewrite would lose the steps in the file, so late records are then
          // counted and dropped.
          const news = it.kind === 'steps' ? !st.has.get(it.episode, it.seq0) : it.kind === 'end' ? !ep.hasEnd : !ep.hasStart;
          if (!news) continue;
          if (!ep.keepsBatches) {
            this.lateDropped += 1;
            continue;
          }
          st.reopen.run(it.episode);
          ep.status = 'recording';
        }
        // Once per episode per group: creates the row, and marks the episode alive (activity
        // only has to change between two finalize passes, not count records).
        if (!ep.touched) {
          st.touch.run(it.episode, it.robot);
          ep.touched = true;
        }
        if (it.kind === 'start') {
          const p = it.start;
          st.start.run(it.json, p.index ?? null, p.startedWallMs ?? null, p.reward?.hash ?? null, p.policy?.hash ?? null, p.calibration?.hash ?? null, p.robotDescription?.hash ?? null, it.episode);
        } else if (it.kind === 'steps') {
          const key = `${it.episode}\u0000${it.seq0}`;
          if (inGroup.has(key) || st.has.get(it.episode, it.seq0)) continue; // a replay: stored already
          inGroup.add(key);
          fresh.push(it);
        } else {
          st.end.run(it.json, it.end.steps ?? null, it.end.endedWallMs ?? null, it.end.reason ?? null, it.episode);
        }
      }
      const at = staging.appendAll(fresh);
      fresh.forEach((it, i) => st.batch.run(it.episode, it.seq0, it.count, at[i]!.file, at[i]!.offset, at[i]!.length));
      return fresh.length;
    }).immediate();
  }

  pending(): PendingEpisode[] {
    // Prepared once: the recorder asks on every finalize pass.
    this.pendingQuery ??= this.db.prepare<[], { episode: string; robot: string; activity: number; has_start: number; has_end: number; expected_steps: number | null; staged: number | null }>(
      `SELECT e.episode, e.robot, e.activity, e.start_json IS NOT NULL AS has_start, e.end_json IS NOT NULL AS has_end, e.expected_steps,
        (SELECT SUM(count) FROM batches b WHERE b.episode = e.episode) AS staged
       FROM episodes e WHERE e.status = 'recording'`,
    );
    return this.pendingQuery
      .all()
      .map((r) => ({ episode: r.episode, robot: r.robot, activity: r.activity, hasStart: r.has_start === 1, hasEnd: r.has_end === 1, expectedSteps: r.expected_steps, stagedSteps: r.staged ?? 0 }));
  }

  /** Atomically takes an episode for writing: only one recorder of a group wins. */
  claim(episode: string, owner: string, wallMs: number): boolean {
    return this.db.prepare(`UPDATE episodes SET status = 'writing', owner = ?, claimed_wall_ms = ? WHERE episode = ? AND status = 'recording'`).run(owner, wallMs, episode).changes === 1;
  }

  /** Claims of a recorder that died mid-write go back to 'recording' after `olderThanMs`. */
  releaseStale(wallMs: number, olderThanMs: number): number {
    return this.db.prepare(`UPDATE episodes SET status = 'recording', owner = NULL WHERE status = 'writing' AND claimed_wall_ms < ?`).run(wallMs - olderThanMs).changes;
  }

  /** Gives back one claim (a failed write) so the next pass retries it. */
  release(episode: string): void {
    this.db.prepare(`UPDATE episodes SET status = 'recording', owner = NULL WHERE episode = ? AND status = 'writing'`).run(episode);
  }

  records(episode: string): { start: EpisodeStart | undefined; end: EpisodeEnd | undefined } {
    const r = this.db.prepare<[string], { start_json: string | null; end_json: string | null }>('SELECT start_json, end_json FROM episodes WHERE episode = ?').get(episode);
    return { start: r?.start_json ? (JSON.parse(r.start_json) as EpisodeStart) : undefined, end: r?.end_json ? (JSON.parse(r.end_json) as EpisodeEnd) : undefined };
  }

  /**
   * Staged batch payloads in seq order, read in pages of `page` rows: the connection is never
   * held by an open cursor, so ingest can go on while the file is written. Bound: one page.
   * A batch that cannot be read comes as its error, so the caller can leave a gap and go on.
   */
  *stagedBatches(episode: string, staging: Staging, page = 64): Generator<{ seq0: number; bytes: Uint8Array } | { seq0: number; error: Error }> {
    const q = this.db.prepare<[string, number, number], { seq0: number; file: string; offset: number; length: number }>(
      'SELECT seq0, file, offset, length FROM batches WHERE episode = ? AND seq0 > ? ORDER BY seq0 LIMIT ?',
    );
    for (let after = -1; ; ) {
      const rows = q.all(episode, after, page);
      for (const r of rows) {
        let bytes: Uint8Array;
        try {
          bytes = staging.read(r.file, r.offset, r.length);
        } catch (e) {
          yield { seq0: r.seq0, error: e as Error };
          continue;
        }
        yield { seq0: r.seq0, bytes };
      }
      if (rows.length < page) return;
      after = rows[rows.length - 1]!.seq0;
    }
  }

  /**
   * Records a written file. A complete episode's staged batches are deleted (the caller then
   * removes its staging files). An incomplete one keeps them (see ingest; purgeIncomplete ends
   * that), and if anything was staged for it while the file was written (its activity moved
   * since `activityAtClaim`: a batch the writer may not have read, or the end record that makes
   * it whole), it goes back to 'recording' to be written again. Returns the status it has now.
   */
  finish(episode: string, f: { status: 'complete' | 'incomplete'; file: string; steps: number; missing: number; return: number; returnByTerm: Record<string, number>; success: boolean; rewardVersions: string[]; startedWallMs: number | undefined; endedWallMs: number | undefined; columns?: { file: string; bytes: number; wallMs: number } | null }, activityAtClaim: number): EpisodeStatus {
    return this.db.transaction((): EpisodeStatus => {
      const activity = this.db.prepare<[string], { activity: number }>('SELECT activity FROM episodes WHERE episode = ?').get(episode)?.activity;
      const status: EpisodeStatus = f.status === 'incomplete' && activity !== undefined && activity !== activityAtClaim ? 'recording' : f.status;
      this.db
        .prepare(`UPDATE episodes SET status = ?, file = ?, steps = ?, missing = ?, return = ?, return_by_term = ?, success = ?, reward_versions = ?,
          started_wall_ms = COALESCE(started_wall_ms, ?), ended_wall_ms = COALESCE(ended_wall_ms, ?), owner = NULL WHERE episode = ?`)
        .run(status, f.file, f.steps, f.missing, f.return, JSON.stringify(f.returnByTerm), f.success ? 1 : 0, JSON.stringify(f.rewardVersions), f.startedWallMs ?? null, f.endedWallMs ?? null, episode);
      if (f.status === 'complete') this.db.prepare('DELETE FROM batches WHERE episode = ?').run(episode);
      // The columns file goes with the MCAP file it was made from (null: none was written this time).
      if (f.columns) this.putColumns(episode, { file: f.columns.file, origin: 'recorder', bytes: f.columns.bytes, writtenWallMs: f.columns.wallMs });
      else if (f.columns === null) this.db.prepare('DELETE FROM episode_columns WHERE episode = ?').run(episode);
      return status;
    }).immediate();
  }

  /** Records the columns file of an episode (a relabel's lazy copy; the recorder's goes through finish). */
  putColumns(episode: string, c: EpisodeColumnsRow): void {
    this.db.prepare('INSERT OR REPLACE INTO episode_columns (episode, file, origin, bytes, written_wall_ms) VALUES (?, ?, ?, ?, ?)').run(episode, c.file, c.origin, c.bytes, c.writtenWallMs);
  }

  /** Every episode's columns file, by episode (empty for a store recorded before columns files). */
  columnsIndex(): Map<string, EpisodeColumnsRow> {
    const has = this.db.prepare<[], { n: number }>(`SELECT 1 AS n FROM sqlite_master WHERE type = 'table' AND name = 'episode_columns'`).get();
    if (!has) return new Map();
    const rows = this.db.prepare<[], { episode: string; file: string; origin: ColumnsOrigin; bytes: number; written_wall_ms: number }>('SELECT * FROM episode_columns').all();
    return new Map(rows.map((r) => [r.episode, { file: r.file, origin: r.origin, bytes: r.bytes, writtenWallMs: r.written_wall_ms }]));
  }

  hasStagedBatches(episode: string): boolean {
    this.anyBatchQuery ??= this.db.prepare<[string], { n: number }>('SELECT 1 AS n FROM batches WHERE episode = ? LIMIT 1');
    return this.anyBatchQuery.get(episode) !== undefined;
  }

  /** Incomplete episodes written before `wallMs` whose staged batches are still kept: their index rows are deleted and they are returned (the caller removes their staging files). */
  purgeIncomplete(wallMs: number): string[] {
    return this.db.transaction((): string[] => {
      const eps = this.db
        .prepare<[number], { episode: string }>(`SELECT episode FROM episodes e WHERE status = 'incomplete' AND claimed_wall_ms < ? AND EXISTS (SELECT 1 FROM batches b WHERE b.episode = e.episode)`)
        .all(wallMs)
        .map((r) => r.episode);
      const del = this.db.prepare('DELETE FROM batches WHERE episode = ?');
      for (const e of eps) del.run(e);
      return eps;
    }).immediate();
  }

  list(filter: { robot?: string; status?: EpisodeStatus; limit?: number } = {}): EpisodeRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.robot !== undefined) (where.push('robot = ?'), args.push(filter.robot));
    if (filter.status !== undefined) (where.push('status = ?'), args.push(filter.status));
    const sql = `SELECT * FROM episodes ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_wall_ms IS NULL, started_wall_ms, episode LIMIT ?`;
    return this.db.prepare<(string | number)[], RawRow>(sql).all(...args, filter.limit ?? 1000).map(toRow);
  }

  get(episode: string): EpisodeRow | undefined {
    const r = this.db.prepare<[string], RawRow>('SELECT * FROM episodes WHERE episode = ?').get(episode);
    return r ? toRow(r) : undefined;
  }

  close(): void {
    this.db.close();
  }
}
