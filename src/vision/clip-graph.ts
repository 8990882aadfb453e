/**
 * CLIP-shaped ONNX encoders with deterministic random weights: the graph of
 * OpenAI CLIP (ViT image tower, causal text transformer, projections), at any
 * size. Real semantics need real weights (`rewardd vision fetch`); these exist
 * so tests, the example and the benchmark run the real code path, the real
 * shapes and the real cost offline. Same spec and seed, same bytes.
 *
 *   image: pixel_values [batch, 3, S, S] → Conv(P×P, stride P) → tokens, class token
 *          (a zero pad at position 0 plus its positional row) → ln_pre → L × block
 *          → ln_post(token 0) → proj → image_embeds [batch, E]
 *   text:  input_ids [batch, T] (int64) → token + positional embedding → L × causal block
 *          → ln_final → the row at argmax(input_ids) (the end-of-text token) → proj
 *          → text_embeds [batch, E]
 *   block: x + attn(ln_1(x)); x + mlp(ln_2(x)), mlp = Linear(4W) → QuickGELU → Linear(W)
 */
import { GraphBuilder } from './onnx-graph.js';

export interface TowerSpec {
  width: number;
  layers: number;
  heads: number;
}
export interface ImageTowerSpec extends TowerSpec {
  imageSize: number;
  patch: number;
}
export interface TextTowerSpec extends TowerSpec {
  vocab: number;
  context: number;
}
export interface ClipSpec {
  embed: number;
  image: ImageTowerSpec;
  text: TextTowerSpec;
  seed: number;
}

/** Shapes of published models (widths, depths, heads, patch, context) with this repo's own names. */
export const CLIP_SHAPES = {
  /** The shipped example (models/clip-tiny): ~1 MB per tower, byte-level vocabulary. */
  tiny: { embed: 32, image: { imageSize: 64, patch: 16, width: 64, layers: 2, heads: 2 }, text: { vocab: 259, context: 16, width: 64, layers: 2, heads: 2 }, seed: 15 },
  /** OpenAI CLIP ViT-B/32. */
  'vit-b-32': { embed: 512, image: { imageSize: 224, patch: 32, width: 768, layers: 12, heads: 12 }, text: { vocab: 49408, context: 77, width: 512, layers: 12, heads: 8 }, seed: 32 },
  /** TinyCLIP-ViT-8M-16-Text-3M (image tower ViT-8M/16, 3M-parameter text tower). */
  'tinyclip-8m-16': { embed: 512, image: { imageSize: 224, patch: 16, width: 256, layers: 10, heads: 4 }, text: { vocab: 49408, context: 77, width: 256, layers: 3, heads: 4 }, seed: 8 },
} as const satisfies Record<string, ClipSpec>;
export type ClipShapeName = keyof typeof CLIP_SHAPES;

/** mulberry32 → Box-Muller-free uniform in [-1, 1): fast and identical everywhere. */
class Weights {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  fill(n: number, scale: number): Float32Array {
    const out = new Float32Array(n);
    let s = this.s;
    for (let i = 0; i < n; i++) {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
    }
    this.s = s;
    return out;
  }
  ones(n: number): Float32Array {
    return new Float32Array(n).fill(1);
  }
}

function linear(b: GraphBuilder, w: Weights, x: string, name: string, nIn: number, nOut: number, bias = true): string {
  const k = b.weight(`${name}.weight`, [nIn, nOut], w.fill(nIn * nOut, Math.sqrt(3 / nIn)));
  const y = b.node('MatMul', [x, k]);
  return bias ? b.node('Add', [y, b.weight(`${name}.bias`, [nOut], w.fill(nOut, 0.02))]) : y;
}

function layerNorm(b: GraphBuilder, w: Weights, x: string, name: string, width: number): string {
  return b.node('LayerNormalization', [x, b.weight(`${name}.weight`, [width], w.ones(width)), b.weight(`${name}.bias`, [width], new Float32Array(width))], { axis: -1, epsilon: { f: 1e-5 } });
}

/** One residual attention block; `mask` (additive, [T, T]) makes it causal. */
function block(b: GraphBuilder, w: Weights, x: string, name: string, t: TowerSpec, mask: string | null): string {
  const W = t.width;
  const H = t.heads;
  const dh = W / H;
  const h = layerNorm(b, w, x, `${name}.ln_1`, W);
  const heads = b.int64(`${name}.heads_shape`, [4], [0, 0, H, dh]);
  const q = b.node('Transpose', [b.node('Reshape', [linear(b, w, h, `${name}.q`, W, W), heads])], { perm: [0, 2, 1, 3] });
  const k = b.node('Transpose', [b.node('Reshape', [linear(b, w, h, `${name}.k`, W, W), heads])], { perm: [0, 2, 3, 1] });
  const v = b.node('Transpose', [b.node('Reshape', [linear(b, w, h, `${name}.v`, W, W), heads])], { perm: [0, 2, 1, 3] });
  let s = b.node('Mul', [b.node('MatMul', [q, k]), b.weight(`${name}.scale`, [], Float32Array.of(1 / Math.sqrt(dh)))]);
  if (mask) s = b.node('Add', [s, mask]);
  const a = b.node('MatMul', [b.node('Softmax', [s], { axis: -1 }), v]);
  const merged = b.node('Reshape', [b.node('Transpose', [a], { perm: [0, 2, 1, 3] }), b.int64(`${name}.merge_shape`, [3], [0, 0, W])]);
  const x1 = b.node('Add', [x, linear(b, w, merged, `${name}.out_proj`, W, W)]);
  const h2 = layerNorm(b, w, x1, `${name}.ln_2`, W);
  const f = linear(b, w, h2, `${name}.c_fc`, W, 4 * W);
  // QuickGELU, as in OpenAI CLIP: x · σ(1.702 x).
  const gelu = b.node('Mul', [f, b.node('Sigmoid', [b.node('Mul', [f, b.weight(`${name}.gelu_k`, [], Float32Array.of(1.702))])])]);
  return b.node('Add', [x1, linear(b, w, gelu, `${name}.c_proj`, 4 * W, W)]);
}

export function imageEncoderOnnx(spec: ClipSpec): { bytes: Uint8Array; weightBytes: number } {
  const t = spec.image;
  const b = new GraphBuilder();
  const w = new Weights(spec.seed * 2 + 1);
  const grid = t.imageSize / t.patch;
  if (!Number.isInteger(grid)) throw new RangeError(`image tower: imageSize ${t.imageSize} is not a multiple of patch ${t.patch}`);
  const n = grid * grid + 1;
  const px = b.input('pixel_values', ['batch', 3, t.imageSize, t.imageSize]);
  const conv = b.node('Conv', [px, b.weight('conv1.weight', [t.width, 3, t.patch, t.patch], w.fill(t.width * 3 * t.patch * t.patch, Math.sqrt(3 / (3 * t.patch * t.patch))))], { kernel_shape: [t.patch, t.patch], strides: [t.patch, t.patch] });
  const tokens = b.node('Transpose', [b.node('Reshape', [conv, b.int64('tokens_shape', [3], [0, t.width, grid * grid])])], { perm: [0, 2, 1] });
  // The class token: a zero row in front; its embedding lives in positional row 0 (the sum is CLIP's).
  const padded = b.node('Pad', [tokens, b.int64('class_pad', [6], [0, 1, 0, 0, 0, 0])]);
  let x = b.node('Add', [padded, b.weight('positional_embedding', [n, t.width], w.fill(n * t.width, 0.1))]);
  x = layerNorm(b, w, x, 'ln_pre', t.width);
  for (let l = 0; l < t.layers; l++) x = block(b, w, x, `resblocks.${l}`, t, null);
  const cls = b.node('Gather', [x, b.int64('class_index', [], [0])], { axis: 1 });
  const y = linear(b, w, layerNorm(b, w, cls, 'ln_post', t.width), 'proj', t.width, spec.embed, false);
  b.node('Identity', [y], {}, ['image_embeds']);
  b.output('image_embeds', ['batch', spec.embed]);
  return { bytes: b.finish('clip_image_encoder'), weightBytes: b.weightBytes };
}

export function textEncoderOnnx(spec: ClipSpec): { bytes: Uint8Array; weightBytes: number } {
  const t = spec.text;
  const b = new GraphBuilder();
  const w = new Weights(spec.seed * 2 + 2);
  const T = t.context;
  const ids = b.input('input_ids', ['batch', T], 'int64');
  const emb = b.node('Gather', [b.weight('token_embedding', [t.vocab, t.width], w.fill(t.vocab * t.width, 0.1)), ids], { axis: 0 });
  let x = b.node('Add', [emb, b.weight('positional_embedding', [T, t.width], w.fill(T * t.width, 0.05))]);
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
  const causal = b.weight('causal_mask', [T, T], mask);
  for (let l = 0; l < t.layers; l++) x = block(b, w, x, `resblocks.${l}`, t, causal);
  x = layerNorm(b, w, x, 'ln_final', t.width);
  // The end-of-text row: one-hot(argmax ids) [batch, 1, T] × x [batch, T, W].
  const eot = b.node('ArgMax', [ids], { axis: 1, keepdims: 1 });
  const pos = b.int64('positions', [1, T], Array.from({ length: T }, (_, i) => i));
  const onehot = b.node('Cast', [b.node('Equal', [pos, eot])], { to: 1 });
  const pooled = b.node('MatMul', [b.node('Unsqueeze', [onehot, b.int64('axis_1', [1], [1])]), x]);
  const flat = b.node('Reshape', [pooled, b.int64('pooled_shape', [2], [-1, t.width])]);
  const y = linear(b, w, flat, 'text_projection', t.width, spec.embed, false);
  b.node('Identity', [y], {}, ['text_embeds']);
  b.output('text_embeds', ['batch', spec.embed]);
  return { bytes: b.finish('clip_text_encoder'), weightBytes: b.weightBytes };
}
