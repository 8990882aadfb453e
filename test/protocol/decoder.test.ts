import { describe, expect, it } from 'vitest';
import { FrameDecoder, MAX_ENCODED_FRAME, encodeFrame, type Frame } from '../../src/protocol/index.js';
import { MIXED, concat, hello } from './helpers.js';

const sample = (seq: number): Frame => ({ type: 'SAMPLE', seq, timeUs: seq * 10, values: [seq, -seq, seq, seq * 1000, 0.5, 1, 2] });
const collect = (d: FrameDecoder, bytes: Uint8Array, chunk = bytes.length): Frame[] => {
  const out: Frame[] = [];
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk), (f) => out.push(f));
  return out;
};

describe('FrameDecoder', () => {
  it('learns the channel table from HELLO and decodes SAMPLE, at every chunking', () => {
    const stream = concat(encodeFrame(hello(0)), ...[1, 2, 3, 4].map((s) => encodeFrame(sample(s), MIXED)));
    for (const chunk of [1, 2, 3, 7, 64, stream.length]) {
      const d = new FrameDecoder();
      const got = collect(d, stream, chunk);
      expect(got.map((f) => f.type)).toEqual(['HELLO', 'SAMPLE', 'SAMPLE', 'SAMPLE', 'SAMPLE']);
      expect(got[3]).toMatchObject({ type: 'SAMPLE', seq: 3, values: [3, -3, 3, 3000, 0.5, 1, 2] });
      expect(d.counters()).toMatchObject({ frames: 5, bytes: stream.length, crcErrors: 0, malformed: 0, gaps: 0, resyncs: 0 });
    }
  });
  it('drops a SAMPLE before any table (counted as noChannels, not as a line error), and decodes once setChannels is called', () => {
    const d = new FrameDecoder();
    expect(collect(d, encodeFrame(sample(1), MIXED))).toEqual([]);
    expect(d.counters()).toMatchObject({ malformed: 0, noChannels: 1, resyncs: 0 });
    d.setChannels(MIXED);
    expect(collect(d, encodeFrame(sample(2), MIXED))).toHaveLength(1);
  });
  it('resyncs after garbage, a bad CRC and a truncated frame, and counts each', () => {
    const good = (s: number) => encodeFrame(sample(s), MIXED);
    const flipped = good(2).slice();
    flipped[5] ^= 0x40;
    const truncated = good(3).slice(0, 8); // ends without its delimiter...
    const stream = concat(
      Uint8Array.of(0x13, 0x37, 0xff), // joining mid-frame
      Uint8Array.of(0),
      encodeFrame(hello(0)),
      good(1),
      flipped,
      good(2),
      truncated, // ...so it merges with the next frame into one bad span
      good(4),
      good(5),
    );
    const d = new FrameDecoder();
    const got = collect(d, stream, 5);
    expect(got.map((f) => f.seq)).toEqual([0, 1, 2, 5]);
    const c = d.counters();
    expect(c.frames).toBe(4);
    expect(c.crcErrors + c.malformed).toBe(3); // lead-in garbage, the flipped frame, truncated+next merged
    expect(c.resyncs).toBe(3);
    expect(c.gaps).toBe(2); // 3 and 4 never arrived whole
  });
  it('drops a span longer than the bound without holding it, then decodes the next frame', () => {
    const d = new FrameDecoder(MIXED);
    const junk = new Uint8Array(MAX_ENCODED_FRAME * 3).fill(0x42);
    const got = collect(d, concat(junk, Uint8Array.of(0), encodeFrame(sample(9), MIXED)), 100);
    expect(got.map((f) => f.seq)).toEqual([9]);
    expect(d.counters()).toMatchObject({ oversize: 1, resyncs: 1, frames: 1 });
    const d2 = new FrameDecoder(MIXED);
    collect(d2, concat(junk, Uint8Array.of(0)));
    expect(d2.counters().oversize).toBe(1);
  });
  it('counts gaps, duplicates and wrap-around from the u16 seq, and restarts at HELLO', () => {
    const d = new FrameDecoder(MIXED);
    const seqs = [65533, 65534, 65535, 0, 1, 1, 0, 5, 6];
    collect(d, concat(...seqs.map((s) => encodeFrame(sample(s), MIXED)), encodeFrame(hello(0)), encodeFrame(sample(1), MIXED)));
    expect(d.counters()).toMatchObject({ frames: 11, gaps: 3, duplicates: 2 });
  });
  it('keeps going when the frame callback throws', () => {
    const d = new FrameDecoder(MIXED);
    let n = 0;
    d.push(concat(encodeFrame(sample(1), MIXED), encodeFrame(sample(2), MIXED)), () => {
      n++;
      throw new Error('consumer bug');
    });
    expect(n).toBe(2);
    expect(d.counters().sinkErrors).toBe(2);
  });
});
