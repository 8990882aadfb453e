/** One camera frame as the encoder sees it: packed 8-bit RGB, row-major, top row first. */
export interface Frame {
  /** Per-source sequence number, from 1, counting every frame the source delivered. */
  readonly seq: number;
  /** Monotonic time the frame was taken (or arrived, for sources that carry no time), ns. */
  readonly tNs: bigint;
  readonly width: number;
  readonly height: number;
  /** width × height × 3 bytes. */
  readonly rgb: Uint8Array;
}

/** Largest frame any source accepts (a bigger one is garbage, counted and dropped): 4096 × 4096. */
export const MAX_FRAME_PIXELS = 4096 * 4096;
