/**
 * Camera frame → the image encoder's input tensor [1, 3, S, S] (float32, NCHW):
 * resize the shorter side to S (bilinear, pixel centres aligned, as PIL's
 * resize is for upscaling) and crop the middle, or stretch to S × S; then
 * (x/255 − mean) / std per channel, in the model's channel order.
 */
import type { Preprocess } from './manifest.js';
import type { Frame } from './frame.js';

export function preprocessFrame(f: Pick<Frame, 'width' | 'height' | 'rgb'>, p: Preprocess, out: Float32Array = new Float32Array(3 * p.size * p.size)): Float32Array {
  const S = p.size;
  const { width: w, height: h, rgb } = f;
  // Source window mapped onto the S × S output: the whole frame (stretch) or its centred square-ish crop.
  let scaleX: number;
  let scaleY: number;
  let offX = 0;
  let offY = 0;
  if (p.crop === 'stretch') {
    scaleX = w / S;
    scaleY = h / S;
  } else {
    const s = Math.min(w, h) / S;
    scaleX = s;
    scaleY = s;
    offX = (w - S * s) / 2;
    offY = (h - S * s) / 2;
  }
  const order = p.channels === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  const plane = S * S;
  for (let y = 0; y < S; y++) {
    const sy = Math.min(h - 1, Math.max(0, offY + (y + 0.5) * scaleY - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < S; x++) {
      const sx = Math.min(w - 1, Math.max(0, offX + (x + 0.5) * scaleX - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const a = (y0 * w + x0) * 3;
      const b = (y0 * w + x1) * 3;
      const c = (y1 * w + x0) * 3;
      const d = (y1 * w + x1) * 3;
      for (let k = 0; k < 3; k++) {
        const ch = order[k]!;
        const top = rgb[a + ch]! + (rgb[b + ch]! - rgb[a + ch]!) * fx;
        const bot = rgb[c + ch]! + (rgb[d + ch]! - rgb[c + ch]!) * fx;
        const v = (top + (bot - top) * fy) / 255;
        out[k * plane + y * S + x] = (v - p.mean[ch]!) / p.std[ch]!;
      }
    }
  }
  return out;
}
