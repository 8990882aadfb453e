import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, crc16, encodeFrame, encodeRawFrame, type Frame } from '../../src/protocol/index.js';
import { MIXED, hello } from './helpers.js';

/**
 * Property: whatever bytes arrive, push() never throws, and every frame it
 * yields re-encodes to a raw frame whose CRC checks, i.e. it never yields a
 * frame built from bytes that failed the CRC.
 */
const goodFrame = fc.oneof(
  fc.record({ seq: fc.integer({ min: 0, max: 65535 }), t: fc.nat(), v: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 7, maxLength: 7 }) })
    .map(({ seq, t, v }): Frame => ({ type: 'SAMPLE', seq, timeUs: t, values: v })),
  fc.record({ seq: fc.integer({ min: 0, max: 65535 }), s: fc.integer({ min: 0, max: 255 }) })
    .map(({ seq, s }): Frame => ({ type: 'HEARTBEAT', seq, timeUs: 0, status: s })),
  fc.constant(hello(0)),
);
const piece = fc.oneof(
  goodFrame.map((f) => encodeFrame(f, MIXED)),
  fc.uint8Array({ maxLength: 80 }),
  goodFrame.chain((f) => fc.nat(60).map((cut) => encodeFrame(f, MIXED).slice(0, cut))),
  goodFrame.chain((f) =>
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
      const b = encodeFrame(f, MIXED).slice();
      b[at % (b.length - 1)]! ^= x;
      return b;
    }),
  ),
  fc.constant(new Uint8Array(600).fill(7)),
);

function rawCrcOk(f: Frame): boolean {
  const raw = encodeRawFrame(f, MIXED);
  const end = raw.length - 2;
  return crc16(raw, 0, end) === (raw[end]! | (raw[end + 1]! << 8));
}

describe('FrameDecoder fuzz', () => {
  it('never throws and never yields a frame that fails its CRC (10,000 streams)', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.integer({ min: 1, max: 97 }), fc.boolean(), (pieces, chunk, known) => {
        const d = known ? new FrameDecoder(MIXED) : new FrameDecoder();
        const all = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of pieces) all.set(p, (o += p.length) - p.length);
        const out: Frame[] = [];
        for (let i = 0; i < all.length; i += chunk) d.push(all.subarray(i, i + chunk), (f) => out.push(f));
        for (const f of out) expect(rawCrcOk(f)).toBe(true);
        const c = d.counters();
        expect(c.frames).toBe(out.length);
        expect(c.bytes).toBe(all.length);
      }),
      { numRuns: 10_000 },
    );
  });
  it('decodes every intact frame among random noise that contains no 0x00', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(goodFrame, fc.uint8Array({ maxLength: 30 })), { maxLength: 8 }), (items) => {
        const d = new FrameDecoder(MIXED);
        const out: Frame[] = [];
        for (const [f, noise] of items) {
          d.push(noise.map((b) => b || 1), () => {});
          d.push(Uint8Array.of(0), () => {}); // noise ends in a delimiter, like a line glitch
          d.push(encodeFrame(f, MIXED), (g) => out.push(g));
        }
        expect(out.length).toBe(items.length);
      }),
      { numRuns: 2_000 },
    );
  });
});
