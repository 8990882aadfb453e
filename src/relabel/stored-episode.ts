import { existsSync } from 'node:fs';
import { RewarddError } from '../core/errors.js';
import { ColumnFileUnusable, columnFileFor, type ColumnFileFooter, type NumericColumn } from '../recorder/column-file.js';
import { checkSource, closeColumnFile, columnBytes, openColumnFile, readColumnInto, readReasons, sourceOf, type OpenColumnFile } from '../recorder/column-file-reader.js';
import { ColumnFileWriter, type ColumnRows } from '../recorder/column-file-writer.js';
import type { ArraySource } from './buffer-pool.js';
import type { EpisodeColumns, EpisodeLogged, EpisodeSteps, LoggedSegment } from './episode-columns.js';

/**
 * A stored episode for relabelling: from its columns file when there is a good
 * one (only the columns asked for are read), else from its MCAP file, saying
 * why, and then (writeColumns) making the columns file so the next relabel is
 * fast. A columns file is not used when it is missing, damaged (any CRC, size
 * or layout check fails) or stale (its MCAP file was rewritten since).
 */
export type Need = 'steps' | 'logged' | 'all';
type Of<N extends Need> = N extends 'steps' ? EpisodeSteps : N extends 'logged' ? EpisodeLogged : EpisodeColumns;

export interface LoadedEpisode<T> {
  ep: T;
  readFrom: 'columns' | 'mcap';
  /** Why the columns file was not used (when it was not). */
  note?: string;
  /** The columns file made from the MCAP file by this load. */
  written?: { file: string; bytes: number };
}

export interface LoadOptions {
  /** The columns file the catalog names; default: beside the MCAP file. */
  columnsFile?: string | undefined;
  /** Read the raw observation column too (a program declares meta.raw). */
  raw: boolean;
  /** Make the columns file from the MCAP file when it cannot be used. */
  writeColumns: boolean;
  /** Where arrays come from: a worker's BufferPool, or fresh ones. */
  arrays: ArraySource;
  /** Refuse episodes longer than this (memory bound). Default 10,000,000 steps. */
  maxSteps?: number;
}

export async function loadStoredEpisode<N extends Need>(mcapFile: string, need: N, o: LoadOptions): Promise<LoadedEpisode<Of<N>>> {
  // The MCAP file is the episode; its columns file is a copy checked against it (size and time), so
  // without it nothing can be trusted. Said plainly here: it fails this episode, not the run.
  if (!existsSync(mcapFile)) throw new RewarddError('E_STORE', `${mcapFile}: expected the episode's MCAP file (the catalog lists the episode), found none: moved or deleted?`);
  const colFile = o.columnsFile ?? columnFileFor(mcapFile);
  const maxSteps = o.maxSteps ?? 10_000_000;
  let why: string;
  try {
    const f = openColumnFile(colFile);
    try {
      checkSource(f, mcapFile);
      if (f.footer.count > maxSteps) throw new RewarddError('E_STORE', `${colFile}: expected at most ${maxSteps} steps, found ${f.footer.count}`);
      return { ep: fromColumns(f, need, o.raw, o.arrays) as Of<N>, readFrom: 'columns' };
    } finally {
      closeColumnFile(f);
    }
  } catch (e) {
    if (!(e instanceof ColumnFileUnusable)) throw e;
    why = `columns file ${e.kind} (${e.message})`;
  }
  // The MCAP reader (and @mcap/core) is loaded only for an episode without a usable columns file: a
  // relabel worker that reads columns files starts without it (~30 ms of its start-up, measured).
  const { readEpisodeColumns } = await import('./episode-columns.js');
  const ep = await readEpisodeColumns(mcapFile, { maxSteps });
  const out: LoadedEpisode<Of<N>> = { ep: ep as Of<N>, readFrom: 'mcap', note: `${why}: read the MCAP file instead` };
  if (o.writeColumns) {
    try {
      out.written = { file: colFile, bytes: writeColumnsFile(colFile, ep, sourceOf(mcapFile)) };
      out.note += ` and wrote ${colFile} from it`;
    } catch (e) {
      out.note += `; could not write ${colFile}: ${(e as Error).message}`;
    }
  }
  return out;
}

function fromColumns(f: OpenColumnFile, need: Need, raw: boolean, arrays: ArraySource): EpisodeSteps | EpisodeLogged | EpisodeColumns {
  const ft = f.footer;
  const n = ft.count;
  const no = ft.observationNames.length;
  const na = ft.actionNames.length;
  const read = <T extends ArrayBufferView>(name: NumericColumn, a: T): T => {
    readColumnInto(f, name, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return a;
  };
  const steps: EpisodeSteps = {
    episode: ft.episode,
    robot: ft.robot,
    start: ft.start ?? undefined,
    observationNames: ft.observationNames,
    actionNames: ft.actionNames,
    count: n,
    seq: read('seq', arrays.u32('seq', n)),
    tNs: read('tNs', arrays.i64('tNs', n)),
    obs: read('obs', arrays.f32('obs', n * no)),
    actionApplied: read('actionApplied', arrays.f32('actionApplied', n * na)),
  };
  if ((raw || need === 'all') && ft.raw) steps.obsRaw = read('obsRaw', arrays.f32('obsRaw', n * no));
  if (need === 'steps') return steps;
  const terms = read('rewardTerms', arrays.f64('rewardTerms', columnBytes(ft, 'rewardTerms') / 8));
  const logged: EpisodeLogged = {
    ...steps,
    flags: read('flags', arrays.u8('flags', n)),
    loggedStatus: read('rewardStatus', arrays.u8('rewardStatus', n)),
    loggedTotal: read('rewardTotal', arrays.f64('rewardTotal', n)),
    loggedSegments: segmentsOf(ft, terms),
    loggedReasons: readReasons(f),
  };
  if (need === 'logged') return logged;
  return {
    ...logged,
    actionCommanded: read('actionCommanded', arrays.f32('actionCommanded', n * na)),
    safety: read('safety', arrays.u16('safety', n)),
    wallMs: read('wallMs', arrays.f64('wallMs', n)),
    obsTNs: read('obsTNs', arrays.i64('obsTNs', n)),
  };
}

function segmentsOf(ft: ColumnFileFooter, terms: Float64Array): LoggedSegment[] {
  let at = 0;
  return ft.segments.map((s) => {
    const len = (s.to - s.from) * s.termNames.length;
    const seg = { version: s.version, termNames: s.termNames, from: s.from, to: s.to, terms: terms.subarray(at, at + len) };
    at += len;
    return seg;
  });
}

/** Writes the columns file of an episode already read into columns (from its MCAP file). Returns its size. */
export function writeColumnsFile(path: string, ep: EpisodeColumns, source: ColumnFileFooter['source']): number {
  if (ep.count > 0 && (!ep.wallMs || !ep.obsTNs)) throw new RewarddError('E_STORE', `episode ${ep.episode}: expected wall and sample times to copy, found none`);
  const w = new ColumnFileWriter(path, { episode: ep.episode, robot: ep.robot, observationNames: ep.observationNames, actionNames: ep.actionNames, raw: ep.obsRaw !== undefined });
  try {
    for (const s of ep.loggedSegments) w.append(segmentRows(ep, s));
    return w.finish(ep.start, source);
  } catch (e) {
    w.discard();
    throw e;
  }
}

function segmentRows(ep: EpisodeColumns, s: LoggedSegment): ColumnRows {
  const no = ep.observationNames.length;
  const na = ep.actionNames.length;
  const rows = <T extends { subarray(a: number, b: number): T }>(a: T, w = 1): T => a.subarray(s.from * w, s.to * w);
  return {
    count: s.to - s.from,
    seqAt: (r) => ep.seq[s.from + r]!,
    tNs: rows(ep.tNs),
    obsTNs: rows(ep.obsTNs!),
    wallMs: rows(ep.wallMs!),
    flags: rows(ep.flags),
    safety: rows(ep.safety),
    obs: rows(ep.obs, no),
    obsRaw: ep.obsRaw ? rows(ep.obsRaw, no) : undefined,
    actionCommanded: rows(ep.actionCommanded, na),
    actionApplied: rows(ep.actionApplied, na),
    rewardStatus: rows(ep.loggedStatus),
    rewardTotal: rows(ep.loggedTotal),
    rewardVersion: s.version,
    termNames: s.termNames,
    rewardTerms: s.terms,
    reasonAt: (r) => ep.loggedReasons.get(s.from + r),
  };
}
