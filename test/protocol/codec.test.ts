import { describe, expect, it } from 'vitest';
import {
  FrameType, MAX_ENCODED_FRAME, ROVER_CHANNELS, channelFieldNames, cobsDecode, cobsEncode, crc16,
  decodeFrame, decodeFramePayload, encodeFrame, encodeRawFrame, type Frame,
} from '../../src/protocol/index.js';
import { isRewarddError } from '../../src/core/errors.js';
import { MIXED, hello } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('crc16 (CCITT-FALSE)', () => {
  it('gives the standard check value', () => {
    expect(crc16(enc('123456789'))).toBe(0x29b1);
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
  });
});

describe('cobs', () => {
  it('matches the textbook examples', () => {
    expect([...cobsEncode(Uint8Array.of(0))]).toEqual([1, 1]);
    expect([...cobsEncode(Uint8Array.of(0, 0))]).toEqual([1, 1, 1]);
    expect([...cobsEncode(Uint8Array.of(0x11, 0x22, 0, 0x33))]).toEqual([3, 0x11, 0x22, 2, 0x33]);
    expect([...cobsEncode(Uint8Array.of(0x11, 0x22, 0x33, 0x44))]).toEqual([5, 0x11, 0x22, 0x33, 0x44]);
  });
  it('round-trips lengths around the 254-byte block edge without zeros in the output', () => {
    for (const n of [0, 1, 253, 254, 255, 508, 509, 600]) {
      for (const fill of [0, 1, 0xff]) {
        const src = new Uint8Array(n).map((_, i) => (fill === 1 ? (i % 7 === 3 ? 0 : i & 0xff || 1) : fill));
        const e = cobsEncode(src);
        expect(e.includes(0)).toBe(false);
        expect([...cobsDecode(e)]).toEqual([...src]);
      }
    }
  });
  it('rejects a code that runs past the end', () => {
    expect(() => cobsDecode(Uint8Array.of(5, 1, 2))).toThrow(/E_PROTOCOL/);
  });
});

const frames: Frame[] = [
  hello(),
  { type: 'SAMPLE', seq: 1, timeUs: 1000, values: [-32768, 32767, 65535, -2147483648, 1.5, -0.25, 3e10] },
  { type: 'COMMAND', seq: 2, timeUs: 0xffffffff, values: [1, -1] },
  { type: 'HEARTBEAT', seq: 3, timeUs: 4, status: 0b101 },
  { type: 'ARM', seq: 4, timeUs: 5 },
  { type: 'DISARM', seq: 0xffff, timeUs: 6 },
  { type: 'FAULT', seq: 5, timeUs: 7, code: 1, message: 'watchdog: no command for 150 ms' },
  { type: 'LOG', seq: 6, timeUs: 8, level: 2, message: 'battery low — 9.1 V' },
];

describe('encodeFrame / decodeFrame', () => {
  it('round-trips every frame type (f32 to float precision)', () => {
    for (const f of frames) {
      const wire = encodeFrame(f, MIXED);
      expect(wire[wire.length - 1]).toBe(0);
      expect(wire.subarray(0, -1).includes(0)).toBe(false);
      const back = decodeFrame(wire, MIXED);
      if (f.type === 'SAMPLE') {
        expect(back).toEqual({ ...f, values: f.values.map((v, i) => (i >= 4 ? Math.fround(v) : v)) });
      } else expect(back).toEqual(f);
    }
  });
  it('lays the header out little endian: type, seq u16, time u32, then CRC LE over header+payload', () => {
    const raw = encodeRawFrame({ type: 'HEARTBEAT', seq: 0x1234, timeUs: 0xa1b2c3d4, status: 1 });
    expect([...raw.subarray(0, 8)]).toEqual([FrameType.HEARTBEAT, 0x34, 0x12, 0xd4, 0xc3, 0xb2, 0xa1, 1]);
    const crc = crc16(raw, 0, 8);
    expect([raw[8], raw[9]]).toEqual([crc & 0xff, crc >> 8]);
  });
  it('saturates out-of-range SAMPLE values and sends non-finite COMMAND values as 0', () => {
    const s = decodeFrame(encodeFrame({ type: 'SAMPLE', seq: 0, timeUs: 0, values: [1e9, -1e9, -5, 1e12, 0, 0, 0] }, MIXED), MIXED);
    expect(s.type === 'SAMPLE' && s.values.slice(0, 4)).toEqual([32767, -32768, 0, 2147483647]);
    const c = decodeFrame(encodeFrame({ type: 'COMMAND', seq: 0, timeUs: 0, values: [NaN, 7, -Infinity, 0.5] }));
    expect(c.type === 'COMMAND' && c.values).toEqual([0, 1, 0, Math.round(0.5 * 32767) / 32767]);
  });
  it('refuses to encode a SAMPLE without a table or with the wrong value count', () => {
    expect(() => encodeFrame({ type: 'SAMPLE', seq: 0, timeUs: 0, values: [1] })).toThrow(/expected a channel table/);
    expect(() => encodeFrame({ type: 'SAMPLE', seq: 0, timeUs: 0, values: [1] }, MIXED)).toThrow(/expected 7 values.*found 1/);
  });
  it('refuses a bad channel table in HELLO with a coded error', () => {
    const bad = [{ ...MIXED[0]!, id: 3 }];
    try {
      encodeFrame(hello(0, bad));
      expect.unreachable();
    } catch (e) {
      expect(isRewarddError(e) && e.code).toBe('E_PROTOCOL');
      expect(String(e)).toMatch(/expected id 0/);
    }
  });
  it('decodeFramePayload rejects a flipped bit with the CRC it expected', () => {
    const raw = encodeRawFrame(frames[3]!);
    raw[7] ^= 0x02;
    expect(() => decodeFramePayload(raw)).toThrow(/CRC: expected 0x/);
  });
  it('rejects wrong payload lengths per type even with a good CRC', () => {
    const raw = encodeRawFrame({ type: 'HEARTBEAT', seq: 1, timeUs: 1, status: 0 });
    const longer = new Uint8Array(raw.length + 1);
    longer.set(raw.subarray(0, 8));
    longer[8] = 9;
    const crc = crc16(longer, 0, 9);
    longer[9] = crc & 0xff;
    longer[10] = crc >> 8;
    expect(() => decodeFramePayload(longer)).toThrow(/HEARTBEAT: expected 1 payload byte, found 2/);
  });
  it('keeps the biggest HELLO the rover needs well inside the frame bound', () => {
    const wire = encodeFrame(hello(0, ROVER_CHANNELS));
    expect(wire.length).toBeLessThan(MAX_ENCODED_FRAME);
    const back = decodeFrame(wire);
    expect(back.type === 'HELLO' && channelFieldNames(back.channels)).toHaveLength(12);
  });
});
