import { RewarddError } from '../core/errors.js';
import type { Frame, HelloFrame } from './frames.js';
import { FrameType } from './frames.js';
import { MAX_FIRMWARE_ID_BYTES, MAX_NAME_BYTES, MAX_UNIT_BYTES, channelTableProblem, type SampleLayout } from './layout.js';
import { crc16 } from './crc16.js';
import { ChannelTypeCode, CRC_SIZE, HEADER_SIZE, MAX_PAYLOAD } from './wire.js';

/** Scratch size callers must give writeRawFrame: a frame plus slack for one oversized HELLO entry. */
export const ENCODE_SCRATCH_BYTES = 1024;

/**
 * Writes a raw frame (header | payload | CRC, before COBS) into `buf` from 0
 * and returns its length. Values out of a wire type's range saturate (as an
 * MCU's ADC would); a non-finite COMMAND value is sent as 0 (stop) because a
 * command path must never throw its motors into an undefined state.
 */
const utf8 = new TextEncoder();

function fail(what: string): never {
  throw new RewarddError('E_PROTOCOL', what);
}

function putString(buf: Uint8Array, dv: DataView, off: number, s: string, max: number, what: string): number {
  const bytes = utf8.encode(s);
  if (bytes.length > max) fail(`${what}: expected at most ${max} UTF-8 bytes, found ${bytes.length}`);
  dv.setUint8(off, bytes.length);
  buf.set(bytes, off + 1);
  return off + 1 + bytes.length;
}

function putMessage(buf: Uint8Array, off: number, s: string): number {
  // Messages are truncated, not refused: a FAULT must always get out.
  const r = utf8.encodeInto(s, buf.subarray(off, HEADER_SIZE + MAX_PAYLOAD));
  return off + r.written;
}

const sat = (v: number, lo: number, hi: number): number => (v > hi ? hi : v < lo ? lo : v);
const intOf = (v: number, lo: number, hi: number): number => (Number.isNaN(v) ? 0 : sat(Math.round(v), lo, hi));

function putHello(buf: Uint8Array, dv: DataView, f: HelloFrame): number {
  let o = HEADER_SIZE;
  dv.setUint8(o, f.protocolVersion & 0xff);
  dv.setUint32(o + 1, f.bootId >>> 0, true);
  dv.setUint16(o + 5, sat(Math.round(f.watchdogMs), 0, 0xffff), true);
  o = putString(buf, dv, o + 7, f.firmwareId, MAX_FIRMWARE_ID_BYTES, 'HELLO firmware id');
  dv.setUint8(o++, f.channels.length);
  const problem = channelTableProblem(f.channels);
  if (problem !== null) fail(`HELLO channel table: ${problem}`);
  for (const c of f.channels) {
    dv.setUint8(o, c.id);
    dv.setUint8(o + 1, ChannelTypeCode[c.type]);
    dv.setUint8(o + 2, c.count);
    dv.setFloat32(o + 3, c.scale, true);
    o = putString(buf, dv, o + 7, c.name, MAX_NAME_BYTES, `HELLO channel ${c.id} name`);
    o = putString(buf, dv, o, c.unit, MAX_UNIT_BYTES, `HELLO channel ${c.id} unit`);
    // The scratch buffer has room for one more full entry past MAX_PAYLOAD, so checking here is enough.
    if (o > HEADER_SIZE + MAX_PAYLOAD) fail(`HELLO: expected payload <= ${MAX_PAYLOAD} bytes, found more at channel ${c.id}`);
  }
  if (o > HEADER_SIZE + MAX_PAYLOAD) fail(`HELLO: expected payload <= ${MAX_PAYLOAD} bytes, found ${o - HEADER_SIZE}`);
  return o;
}

function putSample(dv: DataView, values: readonly number[], layout: SampleLayout | null): number {
  if (layout === null) fail('SAMPLE: expected a channel table to pack values, found none');
  if (values.length !== layout.count) fail(`SAMPLE: expected ${layout.count} values (channel table), found ${values.length}`);
  let o = HEADER_SIZE;
  const kinds = layout.kinds;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    switch (kinds[i]) {
      case 0: dv.setInt16(o, intOf(v, -32768, 32767), true); o += 2; break;
      case 1: dv.setUint16(o, intOf(v, 0, 65535), true); o += 2; break;
      case 2: dv.setInt32(o, intOf(v, -2147483648, 2147483647), true); o += 4; break;
      default: dv.setFloat32(o, v, true); o += 4; break;
    }
  }
  return o;
}

export function writeRawFrame(frame: Frame, buf: Uint8Array, dv: DataView, layout: SampleLayout | null): number {
  if (!Number.isFinite(frame.seq) || !Number.isFinite(frame.timeUs)) {
    fail(`${frame.type}: expected finite seq and timeUs, found ${frame.seq} and ${frame.timeUs}`);
  }
  buf[0] = FrameType[frame.type];
  dv.setUint16(1, frame.seq & 0xffff, true);
  dv.setUint32(3, frame.timeUs >>> 0, true);
  let end: number;
  switch (frame.type) {
    case 'HELLO': end = putHello(buf, dv, frame); break;
    case 'SAMPLE': end = putSample(dv, frame.values, layout); break;
    case 'COMMAND': {
      if (frame.values.length > MAX_PAYLOAD / 2) fail(`COMMAND: expected <= ${MAX_PAYLOAD / 2} motors, found ${frame.values.length}`);
      end = HEADER_SIZE;
      for (const v of frame.values) {
        dv.setInt16(end, Number.isFinite(v) ? sat(Math.round(v * 32767), -32767, 32767) : 0, true);
        end += 2;
      }
      break;
    }
    case 'HEARTBEAT': dv.setUint8(HEADER_SIZE, frame.status & 0xff); end = HEADER_SIZE + 1; break;
    case 'ARM':
    case 'DISARM': end = HEADER_SIZE; break;
    case 'FAULT': dv.setUint16(HEADER_SIZE, frame.code & 0xffff, true); end = putMessage(buf, HEADER_SIZE + 2, frame.message); break;
    case 'LOG': dv.setUint8(HEADER_SIZE, frame.level & 0xff); end = putMessage(buf, HEADER_SIZE + 1, frame.message); break;
    default: {
      const never: never = frame;
      fail(`expected a known frame type, found ${(never as { type: string }).type}`);
    }
  }
  dv.setUint16(end, crc16(buf, 0, end), true);
  return end + CRC_SIZE;
}
