/**
 * How the recorder stages vision batches without a table of their own: as
 * batches carrying no steps under seq0 = VISION_SEQ0_BASE + batch index, past
 * any step's seq (steps are uint32 in the file), so the catalog's replay
 * de-duplication, step counts and retention apply unchanged, and they come
 * out of staging after every step batch.
 */
export const VISION_SEQ0_BASE = 2 ** 40;
