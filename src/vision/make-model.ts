/**
 * Writes a CLIP-shaped model folder (image.onnx, text.onnx, vision.json) with
 * deterministic random weights: the shipped example (models/clip-tiny) and the
 * benchmark's ViT-B/32- and TinyCLIP-shaped graphs. Same shape, same bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_SHAPES, imageEncoderOnnx, textEncoderOnnx, type ClipShapeName } from './clip-graph.js';
import { VISION_SCHEMA } from './manifest.js';

/** OpenAI CLIP's preprocessing constants (the ones every CLIP export uses). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export const EXAMPLE_PROMPTS = {
  goal: ['a red beacon right in front of the camera'],
  baseline: ['an empty grey room'],
  goal_images: [] as string[],
  alpha: 0.5,
};

export function writeClipModel(dir: string, shape: ClipShapeName, o: { textTower?: boolean } = {}): { imageBytes: number; textBytes: number } {
  const spec = CLIP_SHAPES[shape];
  mkdirSync(dir, { recursive: true });
  const image = imageEncoderOnnx(spec);
  writeFileSync(join(dir, 'image.onnx'), image.bytes);
  let textBytes = 0;
  if (o.textTower !== false) {
    const text = textEncoderOnnx(spec);
    writeFileSync(join(dir, 'text.onnx'), text.bytes);
    textBytes = text.bytes.length;
  }
  const manifest = {
    schema: VISION_SCHEMA,
    name: `clip-${shape}-random`,
    description: `CLIP-shaped encoders (${shape}) with deterministic RANDOM weights: real graph shapes and cost, no semantics. Real rewards need real weights: rewardd vision fetch.`,
    image: { path: 'image.onnx', input: 'pixel_values', output: 'image_embeds' },
    text: { path: 'text.onnx', input: 'input_ids', output: 'text_embeds', context_length: spec.text.context },
    tokenizer: { kind: 'bytes' },
    preprocess: { size: spec.image.imageSize, crop: 'center', mean: [...CLIP_MEAN], std: [...CLIP_STD], channels: 'rgb' },
    embedding_size: spec.embed,
    prompts: EXAMPLE_PROMPTS,
    weights: `random (rewardd clip-graph, shape ${shape}, seed ${spec.seed})`,
  };
  writeFileSync(join(dir, 'vision.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { imageBytes: image.bytes.length, textBytes };
}
