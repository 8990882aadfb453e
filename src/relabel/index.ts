/**
 * Offline relabel, reward comparison and export over stored episodes
 * (docs/relabel.md). The CLI verbs relabel, reward diff, reward check (store
 * part) and export are thin wrappers around these.
 */
export { relabelStore, type RelabelOptions, type RelabelReport, type EpisodeLine, type ReadReport } from './relabel.js';
export { diffRewards, type DiffOptions, type DiffReport, type TermChange } from './diff.js';
export { checkRewardOnStore, type StoreCheckOptions, type StoreCheckReport } from './check.js';
export { exportEpisodes, EXPORT_SCHEMA, type ExportOptions, type ExportReport } from './export.js';
export { readEpisodeColumns, type EpisodeColumns, type EpisodeLogged, type EpisodeSteps, type LoggedSegment } from './episode-columns.js';
export { RelabelPool, POOL_DEFAULTS, type PoolOptions } from './pool.js';
export { loadStoredEpisode, writeColumnsFile, type LoadedEpisode } from './stored-episode.js';
export { relabelEpisode, dtColumn, type RelabelResult } from './relabel-episode.js';
export { verifyEpisode, type VerifyReport, type VerifyMismatch } from './verify.js';
export { parseEpisodeFilter, selectEpisodes, type EpisodeFilter } from './episode-filter.js';
export { resolveProgramRef, activeProgram } from './program-ref.js';
export { RelabelStore, RELABEL_DIR } from './result-store.js';
export { encodeRelabelResult, decodeRelabelResult, RELABEL_SCHEMA } from './result-file.js';
export { readNpz, NpzWriter } from './npz.js';
export { canonicalDistance, spearman, pearson } from './correlation.js';
export { formatRelabel, formatDiff, formatStoreCheck } from './format.js';
