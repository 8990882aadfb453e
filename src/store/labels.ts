import Database from '#better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { CATALOG_FILE } from './catalog.js';

/**
 * Outcome labels of stored episodes, in the catalog's SQLite file (table
 * `labels`): `rewardd episodes label EP --success|--failure` writes them, and
 * `reward refine --store` reads them as the outcome signal. Every label is
 * kept (who changed their mind, and when); the newest row of an episode is its
 * label. The table is the recorder's neighbour, not its concern: the recorder
 * never reads it, and it survives re-recording an episode.
 */
export type Outcome = 'success' | 'failure';

export interface LabelRow {
  episode: string;
  label: Outcome;
  note: string | null;
  /** Who gave it: 'operator' for `episodes label`. */
  source: string;
  wallMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS labels (
  id INTEGER PRIMARY KEY AUTOINCREMENT, episode TEXT NOT NULL,
  label TEXT NOT NULL CHECK (label IN ('success', 'failure')), note TEXT, source TEXT NOT NULL, wall_ms REAL NOT NULL);
CREATE INDEX IF NOT EXISTS labels_episode ON labels(episode, id);
`;

/** A note is a sentence, not a document. */
export const MAX_NOTE_CHARS = 2000;

type Raw = { episode: string; label: Outcome; note: string | null; source: string; wall_ms: number };
const toRow = (r: Raw): LabelRow => ({ episode: r.episode, label: r.label, note: r.note, source: r.source, wallMs: r.wall_ms });

export class EpisodeLabels {
  private readonly db: Database.Database;
  private readonly hasTable: boolean;

  constructor(dir: string, opts: { readonly?: boolean } = {}) {
    const file = join(dir, CATALOG_FILE);
    if (!existsSync(file)) throw new RewarddError('E_STORE', `expected a catalog at ${file}, found none (is it the recorder's folder?)`);
    try {
      this.db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: true });
      this.db.pragma('busy_timeout = 5000');
      if (!opts.readonly) this.db.exec(SCHEMA);
      this.hasTable = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'labels'`).get() !== undefined;
    } catch (e) {
      throw new RewarddError('E_STORE', `labels in ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  hasEpisode(episode: string): boolean {
    return this.db.prepare('SELECT 1 FROM episodes WHERE episode = ?').get(episode) !== undefined;
  }

  add(episode: string, label: Outcome, note: string | null, source: string, wallMs: number): void {
    if (note !== null && note.length > MAX_NOTE_CHARS) throw new RewarddError('E_CONFIG', `--note: expected at most ${MAX_NOTE_CHARS} characters, found ${note.length}`);
    this.db.prepare('INSERT INTO labels (episode, label, note, source, wall_ms) VALUES (?, ?, ?, ?, ?)').run(episode, label, note, source, wallMs);
  }

  /** Every label of one episode, oldest first. */
  history(episode: string): LabelRow[] {
    if (!this.hasTable) return [];
    return this.db.prepare<[string], Raw>('SELECT episode, label, note, source, wall_ms FROM labels WHERE episode = ? ORDER BY id').all(episode).map(toRow);
  }

  /** The newest label of every labelled episode. */
  latest(): Map<string, LabelRow> {
    const out = new Map<string, LabelRow>();
    if (!this.hasTable) return out;
    const rows = this.db.prepare<[], Raw>('SELECT episode, label, note, source, wall_ms FROM labels WHERE id IN (SELECT MAX(id) FROM labels GROUP BY episode)').all();
    for (const r of rows) out.set(r.episode, toRow(r));
    return out;
  }

  close(): void {
    this.db.close();
  }
}
