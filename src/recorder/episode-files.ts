import { unlinkSync } from 'node:fs';
import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import type { StepBatch } from '../episode/batch.js';
import type { VisionBatch } from '../vision/vision-batch.js';
import { columnFileFor } from './column-file.js';
import { sourceOf } from './column-file-reader.js';
import { ColumnFileWriter, type ColumnRows } from './column-file-writer.js';
import { writeEpisodeMcap, type EpisodeFileStatus, type EpisodeFileSummary } from './mcap-episode-writer.js';

/**
 * What the recorder writes when it finalises an episode: the MCAP file and,
 * from the same decoded batches in the same pass, its columnar copy
 * (column-file.ts) for relabelling. The MCAP file is the record; the columns
 * file is derived from it, so a failure to write it never fails the episode
 * (relabel then makes it from the MCAP file) and it is not fsynced (a torn one
 * fails its CRCs and is remade).
 */
export interface EpisodeFilesResult {
  summary: EpisodeFileSummary;
  /** The columns file written, or null (turned off, nothing to write, or failed: see columnsError). */
  columns: { file: string; bytes: number } | null;
  columnsError?: string;
}

export async function writeEpisodeFiles(
  path: string,
  input: { episode: string; robot: string; start: EpisodeStart | undefined; end: EpisodeEnd | undefined; status: EpisodeFileStatus; batches: Iterable<StepBatch>; vision?: readonly VisionBatch[] },
  opts: { columns?: boolean } = {},
): Promise<EpisodeFilesResult> {
  const colPath = columnFileFor(path);
  let w: ColumnFileWriter | undefined;
  let columnsError: string | undefined;
  const on = opts.columns !== false;
  const fail = (e: unknown): void => {
    columnsError = (e as Error).message;
    w?.discard();
    w = undefined;
  };
  const batches = (function* () {
    for (const b of input.batches) {
      if (on && columnsError === undefined) {
        try {
          w ??= new ColumnFileWriter(colPath, { episode: input.episode, robot: input.robot, observationNames: b.observationNames, actionNames: b.actionNames, raw: b.obsRaw !== undefined });
          w.append(batchRows(b));
        } catch (e) {
          fail(e);
        }
      }
      yield b;
    }
  })();
  let summary: EpisodeFileSummary;
  try {
    summary = await writeEpisodeMcap(path, { ...input, batches });
  } catch (e) {
    w?.discard();
    throw e;
  }
  try {
    // An episode with no steps still gets a (row-less) copy when its start record names the fields.
    if (on && columnsError === undefined && !w && input.start) {
      w = new ColumnFileWriter(colPath, { episode: input.episode, robot: input.robot, observationNames: input.start.observationNames, actionNames: input.start.actionNames, raw: false });
    }
    if (w) return { summary, columns: { file: colPath, bytes: w.finish(input.start, sourceOf(path)) } };
  } catch (e) {
    fail(e);
  }
  // No fresh copy: an older one would describe the previous MCAP file.
  try {
    unlinkSync(colPath);
  } catch {
    /* there was none */
  }
  return { summary, columns: null, ...(columnsError !== undefined ? { columnsError } : {}) };
}

/** A decoded step batch as the rows the columns writer takes. */
export function batchRows(b: StepBatch): ColumnRows {
  // The MCAP file keeps a reason only when it is not empty (a zero-length string reads back as none).
  const reasons = b.rewardReasons.length > 0 ? new Map(b.rewardReasons.filter(([, r]) => r !== '')) : undefined;
  return {
    count: b.count,
    seqAt: (row) => b.seq0 + row,
    tNs: b.tNs,
    obsTNs: b.obsTNs,
    wallMs: b.wallMs,
    flags: b.flags,
    safety: b.safety,
    obs: b.obs,
    obsRaw: b.obsRaw,
    actionCommanded: b.actionCommanded,
    actionApplied: b.actionApplied,
    rewardStatus: b.rewardStatus,
    rewardTotal: b.rewardTotal,
    rewardVersion: b.rewardVersion,
    termNames: b.termNames,
    rewardTerms: b.rewardTerms,
    reasonAt: (row) => reasons?.get(row),
  };
}
