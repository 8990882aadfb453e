import type { RecordKindCode } from './record-format.js';

/** What the outbox hands to the publisher, and what it reports. */
export interface ReadyRecord {
  id: number;
  kind: RecordKindCode;
  topic: string;
  steps: number;
  payload: Uint8Array;
}

export interface OutboxStats {
  /** Unacknowledged records and their steps / bytes. */
  pendingRecords: number;
  pendingSteps: number;
  pendingBytes: number;
  ackedSteps: number;
  ackedRecords: number;
  droppedRecords: number;
  droppedSteps: number;
  quarantinedRanges: number;
  quarantinedBytes: number;
  /** Records recovered from disk at open. */
  replayedRecords: number;
  writeErrors: number;
  /** Records that failed their checksum when read back for sending (after start-up). */
  corruptRecords: number;
  memoryBytes: number;
  segments: number;
  /** False while the full-policy refuses new episodes. */
  acceptingEpisodes: boolean;
  /** True while at the hard bound (alarm). */
  full: boolean;
}

