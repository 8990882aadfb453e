import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame, type Frame } from '../../src/protocol/index.js';
import { VECTOR_DIR, malformedText, tsEncodedText } from './make-vectors.js';
import { describeFrame, parseVectors, toHex } from './vectors-format.js';

const read = (name: string) => readFileSync(`${VECTOR_DIR}${name}`, 'utf8');

/** Decode a vector file as one stream; returns, per line, what the decoder made of it. */
function outcomes(text: string): { name: string; expected: string; found: string; frame?: Frame; bytes: Uint8Array }[] {
  const d = new FrameDecoder();
  return parseVectors(text).map((v) => {
    const before = d.counters();
    const got: Frame[] = [];
    d.push(v.bytes, (f) => got.push(f));
    const c = d.counters();
    const found = got[0]
      ? describeFrame(got[0], d.channels)
      : c.crcErrors > before.crcErrors ? '!crc'
      : c.malformed > before.malformed ? '!malformed'
      : c.oversize > before.oversize ? '!oversize'
      : '!none';
    return { name: v.name, expected: v.expected, found, bytes: v.bytes, ...(got[0] ? { frame: got[0] } : {}) };
  });
}

describe('golden vectors (firmware-bridge/test-vectors)', () => {
  it('TS-written files are what the TS codec produces now', () => {
    expect(read('ts-encoded.txt')).toBe(tsEncodedText());
    expect(read('malformed.txt')).toBe(malformedText());
  });

  it('frames encoded by the C++ firmware decode in TS to what C++ says, and re-encode to the same bytes', () => {
    const text = read('cpp-encoded.txt');
    const d = new FrameDecoder();
    const rows = outcomes(text);
    expect(rows.length).toBeGreaterThanOrEqual(13);
    let channels = d.channels;
    for (const r of rows) {
      expect(r.found, r.name).toBe(r.expected);
      const f = r.frame!;
      if (f.type === 'HELLO') channels = f.channels;
      expect(toHex(encodeFrame(f, channels ?? undefined)), r.name).toBe(toHex(r.bytes));
    }
  });

  it('malformed input gives the same outcome line by line in TS as stated', () => {
    for (const r of outcomes(read('malformed.txt'))) expect(r.found, r.name).toBe(r.expected);
  });

  it('the C++ test program (built and run by make) agrees with every file', () => {
    const out = execFileSync('make', ['-s', '-C', `${VECTOR_DIR}..`, 'test'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/vectors-test ok: cpp-encoded 13, ts-encoded 12, malformed 21 vectors/);
  });

  it('the Arduino sketch compiles against the stub Arduino.h (a type check, not a board build)', () => {
    const out = execFileSync('make', ['-s', '-C', `${VECTOR_DIR}..`, 'sketch-check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/sketch compiles/);
  });
});
