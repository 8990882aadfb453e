import type { ChannelInfo, Frame, HelloFrame } from './frames.js';
import { crc16 } from './crc16.js';
import { MAX_FIRMWARE_ID_BYTES, MAX_NAME_BYTES, MAX_UNIT_BYTES, channelTableProblem, compileLayoutUnchecked, type SampleLayout } from './layout.js';
import { CRC_SIZE, HEADER_SIZE, MIN_RAW_FRAME, channelTypeByCode, frameTypeByCode } from './wire.js';

/**
 * Parses one raw frame (header | payload | CRC, COBS already removed) from
 * buf[0, len). Never throws: returns null and sets `why` for bad input, so the
 * stream decoder can count and move on. Allocates only the frame it returns.
 */
export const ParseError = {
  NONE: 0,
  CRC: 1,
  MALFORMED: 2,
  /** A SAMPLE arrived before any channel table (HELLO or setChannels). */
  NO_LAYOUT: 3,
} as const;
export type ParseError = (typeof ParseError)[keyof typeof ParseError];

export interface ParseResult {
  why: ParseError;
  detail: string;
  /** Set when a HELLO was parsed: its table compiled, ready for the next SAMPLE. */
  layout: SampleLayout | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Scales travel as f32; give back the shortest decimal that is the same f32
 * (0.001, not 0.0010000000474974513) so the table compares equal to what the
 * firmware author wrote.
 */
function shortestF32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p < 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

function bad(r: ParseResult, detail: string): null {
  r.why = ParseError.MALFORMED;
  r.detail = detail;
  return null;
}

function parseHello(buf: Uint8Array, dv: DataView, end: number, seq: number, timeUs: number, r: ParseResult): HelloFrame | null {
  let o = HEADER_SIZE;
  if (end - o < 9) return bad(r, `HELLO: expected >= 9 payload bytes, found ${end - o}`);
  const protocolVersion = buf[o] as number;
  const bootId = dv.getUint32(o + 1, true);
  const watchdogMs = dv.getUint16(o + 5, true);
  const idLen = buf[o + 7] as number;
  o += 8;
  if (idLen > MAX_FIRMWARE_ID_BYTES || o + idLen + 1 > end) return bad(r, `HELLO: firmware id of ${idLen} bytes runs past the payload`);
  const firmwareId = utf8.decode(buf.subarray(o, o + idLen));
  o += idLen;
  const n = buf[o++] as number;
  const channels: ChannelInfo[] = [];
  for (let i = 0; i < n; i++) {
    if (o + 8 > end) return bad(r, `HELLO: channel ${i} of ${n} runs past the payload`);
    const id = buf[o] as number;
    const type = channelTypeByCode[buf[o + 1] as number];
    const count = buf[o + 2] as number;
    const scale = shortestF32(dv.getFloat32(o + 3, true));
    const nameLen = buf[o + 7] as number;
    o += 8;
    if (type === undefined) return bad(r, `HELLO: channel ${i}: expected type code 0..3, found ${buf[o - 7] as number}`);
    if (nameLen > MAX_NAME_BYTES || o + nameLen + 1 > end) return bad(r, `HELLO: channel ${i} name runs past the payload`);
    const name = utf8.decode(buf.subarray(o, o + nameLen));
    o += nameLen;
    const unitLen = buf[o++] as number;
    if (unitLen > MAX_UNIT_BYTES || o + unitLen > end) return bad(r, `HELLO: channel ${i} unit runs past the payload`);
    const unit = utf8.decode(buf.subarray(o, o + unitLen));
    o += unitLen;
    channels.push({ id, name, type, count, scale, unit });
  }
  if (o !== end) return bad(r, `HELLO: expected payload to end after the channel table, found ${end - o} extra bytes`);
  const problem = channelTableProblem(channels);
  if (problem !== null) return bad(r, `HELLO channel table: ${problem}`);
  r.layout = compileLayoutUnchecked(channels);
  return { type: 'HELLO', seq, timeUs, protocolVersion, firmwareId, bootId, watchdogMs, channels };
}

function parseSample(dv: DataView, end: number, seq: number, timeUs: number, layout: SampleLayout | null, r: ParseResult): Frame | null {
  if (layout === null) {
    r.why = ParseError.NO_LAYOUT;
    r.detail = 'SAMPLE: expected a channel table (HELLO) first, found none';
    return null;
  }
  if (end - HEADER_SIZE !== layout.bytes) return bad(r, `SAMPLE: expected ${layout.bytes} payload bytes, found ${end - HEADER_SIZE}`);
  const kinds = layout.kinds;
  const n = layout.count;
  const values: number[] = [];
  let o = HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    switch (kinds[i]) {
      case 0: values.push(dv.getInt16(o, true)); o += 2; break;
      case 1: values.push(dv.getUint16(o, true)); o += 2; break;
      case 2: values.push(dv.getInt32(o, true)); o += 4; break;
      default: values.push(dv.getFloat32(o, true)); o += 4; break;
    }
  }
  return { type: 'SAMPLE', seq, timeUs, values };
}

export function parseRawFrame(buf: Uint8Array, len: number, dv: DataView, layout: SampleLayout | null, r: ParseResult): Frame | null {
  r.why = ParseError.NONE;
  r.layout = null;
  if (len < MIN_RAW_FRAME) return bad(r, `expected >= ${MIN_RAW_FRAME} bytes, found ${len}`);
  const end = len - CRC_SIZE;
  const crc = crc16(buf, 0, end);
  if (crc !== dv.getUint16(end, true)) {
    r.why = ParseError.CRC;
    r.detail = `CRC: expected 0x${crc.toString(16)}, found 0x${dv.getUint16(end, true).toString(16)}`;
    return null;
  }
  const seq = dv.getUint16(1, true);
  const timeUs = dv.getUint32(3, true);
  const plen = end - HEADER_SIZE;
  switch (frameTypeByCode[buf[0] as number]) {
    case 'SAMPLE': return parseSample(dv, end, seq, timeUs, layout, r);
    case 'HELLO': return parseHello(buf, dv, end, seq, timeUs, r);
    case 'COMMAND': {
      if (plen % 2 !== 0) return bad(r, `COMMAND: expected an even payload (i16 per motor), found ${plen} bytes`);
      const values: number[] = [];
      for (let o = HEADER_SIZE; o < end; o += 2) values.push(Math.max(-1, dv.getInt16(o, true) / 32767));
      return { type: 'COMMAND', seq, timeUs, values };
    }
    case 'HEARTBEAT':
      if (plen !== 1) return bad(r, `HEARTBEAT: expected 1 payload byte, found ${plen}`);
      return { type: 'HEARTBEAT', seq, timeUs, status: buf[HEADER_SIZE] as number };
    case 'ARM':
      if (plen !== 0) return bad(r, `ARM: expected an empty payload, found ${plen} bytes`);
      return { type: 'ARM', seq, timeUs };
    case 'DISARM':
      if (plen !== 0) return bad(r, `DISARM: expected an empty payload, found ${plen} bytes`);
      return { type: 'DISARM', seq, timeUs };
    case 'FAULT':
      if (plen < 2) return bad(r, `FAULT: expected >= 2 payload bytes, found ${plen}`);
      return { type: 'FAULT', seq, timeUs, code: dv.getUint16(HEADER_SIZE, true), message: utf8.decode(buf.subarray(HEADER_SIZE + 2, end)) };
    case 'LOG':
      if (plen < 1) return bad(r, `LOG: expected >= 1 payload byte, found ${plen}`);
      return { type: 'LOG', seq, timeUs, level: buf[HEADER_SIZE] as number, message: utf8.decode(buf.subarray(HEADER_SIZE + 1, end)) };
    case undefined:
      return bad(r, `expected a frame type 0x01..0x08, found 0x${(buf[0] as number).toString(16)}`);
  }
}
