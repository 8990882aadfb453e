/**
 * JPEG and PNG ↔ packed RGB, in pure JavaScript (jpeg-js, pngjs: no native
 * add-on, no ffmpeg process per frame; a 320×240 JPEG decodes in a few ms).
 * Decoding is bounded before any pixel is allocated: the header's size is
 * checked against MAX_FRAME_PIXELS, and jpeg-js's own memory cap is set, so a
 * garbage or hostile frame costs an error, not the process.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { RewarddError } from '../core/errors.js';
import { MAX_FRAME_PIXELS } from './frame.js';

export interface DecodedImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function imageKind(b: Uint8Array): 'jpeg' | 'png' | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && PNG_SIG.every((v, i) => b[i] === v)) return 'png';
  return null;
}

function toRgb(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = rgba[i * 4]!;
    out[i * 3 + 1] = rgba[i * 4 + 1]!;
    out[i * 3 + 2] = rgba[i * 4 + 2]!;
  }
  return out;
}

/** Decodes a JPEG or PNG; throws E_VISION with a one-line reason for anything else. */
export function decodeImage(b: Uint8Array): DecodedImage {
  const kind = imageKind(b);
  try {
    if (kind === 'jpeg') {
      const img = jpeg.decode(b, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_FRAME_PIXELS / 1e6, maxMemoryUsageInMB: 256 });
      return { width: img.width, height: img.height, rgb: toRgb(img.data, img.width, img.height) };
    }
    if (kind === 'png') {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const w = b.length >= 24 ? dv.getUint32(16) : 0;
      const h = b.length >= 24 ? dv.getUint32(20) : 0;
      if (!(w > 0 && h > 0) || w * h > MAX_FRAME_PIXELS) throw new Error(`expected a PNG of 1..${MAX_FRAME_PIXELS} pixels, found ${w}×${h}`);
      const img = PNG.sync.read(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      return { width: img.width, height: img.height, rgb: toRgb(img.data, img.width, img.height) };
    }
  } catch (e) {
    throw new RewarddError('E_VISION', `${kind} frame: ${(e as Error).message.split('\n')[0]}`);
  }
  const head = Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
  throw new RewarddError('E_VISION', `frame: expected a JPEG (ff d8 ff) or PNG image, found ${b.length} bytes starting ${head || '(nothing)'}`);
}

export function encodeJpeg(img: DecodedImage, quality: number): Uint8Array {
  const n = img.width * img.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[i * 4] = img.rgb[i * 3]!;
    rgba[i * 4 + 1] = img.rgb[i * 3 + 1]!;
    rgba[i * 4 + 2] = img.rgb[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: img.width, height: img.height }, quality).data;
}

export function encodePng(img: DecodedImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    png.data[i * 4] = img.rgb[i * 3]!;
    png.data[i * 4 + 1] = img.rgb[i * 3 + 1]!;
    png.data[i * 4 + 2] = img.rgb[i * 3 + 2]!;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Nearest-neighbour downscale so the longer side is at most `maxSide` (logged frames only). */
export function downscale(img: DecodedImage, maxSide: number): DecodedImage {
  const k = Math.max(img.width, img.height) / maxSide;
  if (k <= 1) return img;
  const w = Math.max(1, Math.round(img.width / k));
  const h = Math.max(1, Math.round(img.height / k));
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y * k));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x * k));
      const s = (sy * img.width + sx) * 3;
      const d = (y * w + x) * 3;
      rgb[d] = img.rgb[s]!;
      rgb[d + 1] = img.rgb[s + 1]!;
      rgb[d + 2] = img.rgb[s + 2]!;
    }
  }
  return { width: w, height: h, rgb };
}
