import { RewarddError } from '../core/errors.js';
import type { ChannelInfo, Frame } from './frames.js';
import { cobsDecodeInto, cobsEncodeInto } from './cobs.js';
import { compileLayout, type SampleLayout } from './layout.js';
import { ParseError, parseRawFrame, type ParseResult } from './payload-decode.js';
import { ENCODE_SCRATCH_BYTES, writeRawFrame } from './payload-encode.js';
import { MAX_ENCODED_FRAME, MAX_RAW_FRAME } from './wire.js';

/**
 * One-frame-at-a-time encode and decode, for senders (the simulated rover,
 * the serial link's commands) and for tests. Stream decoding with counters
 * and resync lives in decoder.ts.
 */
const scratch = new Uint8Array(ENCODE_SCRATCH_BYTES);
const scratchView = new DataView(scratch.buffer);

/** Accepts a channel table or an already compiled layout (cheaper for per-tick senders). */
export type ChannelsOrLayout = readonly ChannelInfo[] | SampleLayout;

const layoutCache = new WeakMap<readonly ChannelInfo[], SampleLayout>();
function toLayout(c: ChannelsOrLayout | undefined): SampleLayout | null {
  if (c === undefined) return null;
  if (!Array.isArray(c)) return c as SampleLayout;
  const table = c as readonly ChannelInfo[];
  let l = layoutCache.get(table);
  if (l === undefined) {
    l = compileLayout(table);
    layoutCache.set(table, l);
  }
  return l;
}

/** Raw frame bytes (header | payload | CRC), before COBS. Throws E_PROTOCOL on an unencodable frame. */
export function encodeRawFrame(frame: Frame, channels?: ChannelsOrLayout): Uint8Array {
  const n = writeRawFrame(frame, scratch, scratchView, toLayout(channels));
  return scratch.slice(0, n);
}

/**
 * A frame ready for the wire: COBS-encoded, INCLUDING the trailing 0x00
 * delimiter. SAMPLE needs the channel table to pack values by type.
 */
export function encodeFrame(frame: Frame, channels?: ChannelsOrLayout): Uint8Array {
  const out = new Uint8Array(MAX_ENCODED_FRAME + 1);
  const n = encodeFrameInto(frame, out, 0, channels);
  return out.slice(0, n);
}

/** Encode into out at offset (needs MAX_ENCODED_FRAME + 1 bytes of room); returns the new offset. */
export function encodeFrameInto(frame: Frame, out: Uint8Array, offset: number, channels?: ChannelsOrLayout): number {
  const n = writeRawFrame(frame, scratch, scratchView, toLayout(channels));
  const end = cobsEncodeInto(scratch, 0, n, out, offset);
  out[end] = 0;
  return end + 1;
}

const result: ParseResult = { why: ParseError.NONE, detail: '', layout: null };

/**
 * Decode one raw frame (header | payload | CRC, COBS removed). SAMPLE needs the
 * channel table. Throws E_PROTOCOL saying what was expected and found.
 */
export function decodeFramePayload(raw: Uint8Array, channels?: ChannelsOrLayout): Frame {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const f = parseRawFrame(raw, raw.length, dv, toLayout(channels), result);
  if (f === null) throw new RewarddError('E_PROTOCOL', result.detail);
  return f;
}

/** Decode one COBS-encoded frame (trailing 0x00 optional). Throws E_PROTOCOL. */
export function decodeFrame(encoded: Uint8Array, channels?: ChannelsOrLayout): Frame {
  const end = encoded.length > 0 && encoded[encoded.length - 1] === 0 ? encoded.length - 1 : encoded.length;
  if (end > MAX_ENCODED_FRAME) throw new RewarddError('E_PROTOCOL', `expected <= ${MAX_ENCODED_FRAME} encoded bytes, found ${end}`);
  const raw = new Uint8Array(MAX_RAW_FRAME);
  const n = cobsDecodeInto(encoded, 0, end, raw);
  if (n < 0) throw new RewarddError('E_PROTOCOL', 'expected valid COBS (no 0x00 inside, codes within the frame), found invalid bytes');
  return decodeFramePayload(raw.subarray(0, n), channels);
}
