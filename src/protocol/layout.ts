import { RewarddError } from '../core/errors.js';
import type { ChannelInfo } from './frames.js';
import { ChannelTypeCode, MAX_PAYLOAD, channelTypeSize } from './wire.js';

/**
 * A channel table compiled for SAMPLE packing: one type code per scalar value
 * in table order, so the hot decode loop is a switch over a Uint8Array with no
 * lookups by name.
 */
export interface SampleLayout {
  readonly channels: readonly ChannelInfo[];
  /** ChannelTypeCode per scalar value, in SAMPLE order. */
  readonly kinds: Uint8Array;
  /** Number of scalar values in one SAMPLE. */
  readonly count: number;
  /** SAMPLE payload size in bytes. */
  readonly bytes: number;
}

/** Limits on HELLO's strings, so a HELLO always fits one frame with a useful table. */
export const MAX_NAME_BYTES = 32;
export const MAX_UNIT_BYTES = 16;
export const MAX_FIRMWARE_ID_BYTES = 64;
const NAME_RE = /^[a-z][a-z0-9_]*$/;

/** Why a channel table is unusable, or null when it is fine. Never throws: used on wire data. */
export function channelTableProblem(channels: readonly ChannelInfo[]): string | null {
  if (channels.length === 0) return 'expected at least one channel, found none';
  if (channels.length > 255) return `expected at most 255 channels, found ${channels.length}`;
  let bytes = 0;
  for (let i = 0; i < channels.length; i++) {
    const c = channels[i] as ChannelInfo;
    const at = `channel ${i}`;
    if (c.id !== i) return `${at}: expected id ${i} (ids are SAMPLE positions), found ${c.id}`;
    if (!NAME_RE.test(c.name) || c.name.length > MAX_NAME_BYTES) {
      return `${at}: expected a snake_case name of at most ${MAX_NAME_BYTES} bytes, found "${c.name.slice(0, 40)}"`;
    }
    if (!(c.type in ChannelTypeCode)) return `${at} ${c.name}: expected type i16|u16|i32|f32, found "${String(c.type)}"`;
    if (!Number.isInteger(c.count) || c.count < 1 || c.count > 255) {
      return `${at} ${c.name}: expected count 1..255, found ${c.count}`;
    }
    if (!Number.isFinite(c.scale) || c.scale === 0) return `${at} ${c.name}: expected a finite non-zero scale, found ${c.scale}`;
    if (Buffer.byteLength(c.unit, 'utf8') > MAX_UNIT_BYTES) return `${at} ${c.name}: expected a unit of at most ${MAX_UNIT_BYTES} bytes`;
    bytes += channelTypeSize[c.type] * c.count;
  }
  if (bytes > MAX_PAYLOAD) return `expected SAMPLE payload <= ${MAX_PAYLOAD} bytes, found ${bytes}`;
  return null;
}

/** Compile a table checked by channelTableProblem; the caller has already checked it. */
export function compileLayoutUnchecked(channels: readonly ChannelInfo[]): SampleLayout {
  let count = 0;
  let bytes = 0;
  for (const c of channels) {
    count += c.count;
    bytes += channelTypeSize[c.type] * c.count;
  }
  const kinds = new Uint8Array(count);
  let k = 0;
  for (const c of channels) kinds.fill(ChannelTypeCode[c.type], k, (k += c.count));
  return { channels, kinds, count, bytes };
}

/** Compile a channel table; throws E_PROTOCOL saying what is wrong. */
export function compileLayout(channels: readonly ChannelInfo[]): SampleLayout {
  const problem = channelTableProblem(channels);
  if (problem !== null) throw new RewarddError('E_PROTOCOL', `channel table: ${problem}`);
  return compileLayoutUnchecked(channels);
}
