import { RewarddError } from '../core/errors.js';

/**
 * Consistent Overhead Byte Stuffing: removes every 0x00 from a frame so 0x00
 * can delimit frames on the wire. Overhead is at most 1 byte per 254, so a
 * receiver resyncs at the next 0x00 after any garbage.
 */

/**
 * Largest encoded size for n raw bytes (no delimiter): one code byte per
 * started 254-byte block, plus the final code byte (0x01 when the data ends
 * on a full block, which this encoder writes so C++ and TS agree byte for byte).
 */
export const cobsMaxEncodedLength = (n: number): number => n + Math.floor(n / 254) + 1;

/**
 * Encode src[start, end) into out at outPos (no delimiter appended).
 * Returns the new write position. `out` must have cobsMaxEncodedLength room.
 */
export function cobsEncodeInto(src: Uint8Array, start: number, end: number, out: Uint8Array, outPos: number): number {
  let codePos = outPos;
  let w = outPos + 1;
  let code = 1;
  for (let i = start; i < end; i++) {
    const b = src[i] as number;
    if (b === 0) {
      out[codePos] = code;
      codePos = w++;
      code = 1;
    } else {
      out[w++] = b;
      code++;
      if (code === 0xff) {
        out[codePos] = code;
        codePos = w++;
        code = 1;
      }
    }
  }
  out[codePos] = code;
  return w;
}

/**
 * Decode src[start, end) (one frame, delimiter excluded) into out at 0.
 * Returns the decoded length, or -1 when the bytes are not valid COBS
 * (a 0x00 inside, a code running past the end, or output over out.length).
 * Never throws: the stream decoder calls it on garbage.
 *
 * `noZeros`: the caller guarantees src[start, end) holds no 0x00 (the stream
 * decoder cut it at delimiters), so blocks are copied without a per-byte check.
 */
export function cobsDecodeInto(src: Uint8Array, start: number, end: number, out: Uint8Array, noZeros = false): number {
  if (!noZeros) {
    const z = src.indexOf(0, start);
    if (z >= 0 && z < end) return -1;
  }
  let r = start;
  let w = 0;
  const cap = out.length;
  while (r < end) {
    const code = src[r] as number;
    const blockEnd = r + code;
    if (blockEnd > end || w + code - 1 > cap) return -1;
    r++;
    if (code > 24) {
      // Long blocks (runs of non-zero sensor bytes): one native copy beats a JS loop.
      out.set(src.subarray(r, blockEnd), w);
      w += blockEnd - r;
      r = blockEnd;
    } else {
      while (r < blockEnd) out[w++] = src[r++] as number;
    }
    // A code below 0xFF means a zero followed, except at the very end of the frame.
    if (code !== 0xff && r < end) {
      if (w >= cap) return -1;
      out[w++] = 0;
    }
  }
  return w;
}

/** Encode a whole buffer; no delimiter appended. */
export function cobsEncode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(src.length));
  const n = cobsEncodeInto(src, 0, src.length, out, 0);
  return out.subarray(0, n);
}

/** Decode one frame (a trailing 0x00 delimiter is allowed). Throws E_PROTOCOL on invalid input. */
export function cobsDecode(src: Uint8Array): Uint8Array {
  const end = src.length > 0 && src[src.length - 1] === 0 ? src.length - 1 : src.length;
  const out = new Uint8Array(end);
  const n = cobsDecodeInto(src, 0, end, out);
  if (n < 0) throw new RewarddError('E_PROTOCOL', `expected a COBS-encoded frame (no 0x00 inside, codes within length ${end}), found invalid bytes`);
  return out.subarray(0, n);
}
