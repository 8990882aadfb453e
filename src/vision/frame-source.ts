import type { Frame } from './frame.js';

/**
 * Where frames come from (sim render, ffmpeg, MQTT). A source keeps at most
 * one frame, the newest (bound: one frame; an older one not yet taken is
 * overwritten and counted as dropped), and never throws into its caller:
 * failures are counted and left in lastError.
 */
export interface SourceCounters {
  /** Frames the source delivered. */
  received: number;
  /** Frames overwritten by a newer one before the encoder took them (a camera faster than the encoder). */
  dropped: number;
  /** Frames that could not be decoded (garbage) or had the wrong size. */
  garbage: number;
  /** Times the source was restarted after it died (ffmpeg) or reconnected (MQTT). */
  restarts: number;
}

export interface FrameSource {
  readonly kind: string;
  /** The newest frame not yet taken, or null. */
  take(): Frame | null;
  counters(): SourceCounters;
  readonly lastError: string;
  close(): Promise<void>;
}
