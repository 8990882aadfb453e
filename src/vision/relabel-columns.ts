import type { EpisodeStart } from '../core/records.js';

/** What vision rescoring needs of relabel's episode columns (src/relabel/episode-columns.ts). */
export interface RelabelColumns {
  start: EpisodeStart | undefined;
  observationNames: string[];
  count: number;
  seq: Uint32Array;
  obs: Float32Array;
  obsRaw?: Float32Array;
}
