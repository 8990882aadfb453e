/**
 * `rewardd vision fetch NAME --out DIR`: downloads a known CLIP export (ONNX
 * encoders and tokenizer files, Hugging Face layout) and writes its
 * vision.json. Needs internet; on a machine without it (this build machine)
 * it fails with one line naming the file it could not get. Downloads go to
 * DIR/<file>.part and are renamed when complete, so an interrupted fetch
 * never leaves a file that looks whole.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RewarddError } from '../core/errors.js';
import { CLIP_MEAN, CLIP_STD, EXAMPLE_PROMPTS } from './make-model.js';
import { VISION_SCHEMA } from './manifest.js';

interface KnownExport {
  repo: string;
  files: string[];
  manifest: Record<string, unknown>;
}

const HUB = 'https://huggingface.co';

export const KNOWN_EXPORTS: Record<string, KnownExport> = {
  /** OpenAI CLIP ViT-B/32 as exported to ONNX for transformers.js (CLIPVisionModelWithProjection / CLIPTextModelWithProjection). */
  'clip-vit-b-32': {
    repo: 'Xenova/clip-vit-base-patch32',
    files: ['onnx/vision_model.onnx', 'onnx/text_model.onnx', 'vocab.json', 'merges.txt'],
    manifest: {
      image: { path: 'onnx/vision_model.onnx', input: 'pixel_values', output: 'image_embeds' },
      text: { path: 'onnx/text_model.onnx', input: 'input_ids', output: 'text_embeds', context_length: 77 },
      tokenizer: { kind: 'clip-bpe', vocab: 'vocab.json', merges: 'merges.txt' },
      preprocess: { size: 224, crop: 'center', mean: [...CLIP_MEAN], std: [...CLIP_STD], channels: 'rgb' },
      embedding_size: 512,
    },
  },
};

export async function fetchVisionModel(name: string, out: string, o: { hub?: string; timeoutMs?: number; progress?: (line: string) => void } = {}): Promise<void> {
  const known = KNOWN_EXPORTS[name];
  if (!known) throw new RewarddError('E_CONFIG', `vision fetch: expected one of ${Object.keys(KNOWN_EXPORTS).join(', ')}, found "${name}"`);
  const hub = o.hub ?? HUB;
  // What this call creates is removed again when a download fails: a half-fetched folder must not
  // look like a model to the next command. A folder that was already there is left as it was.
  const created = !existsSync(out);
  try {
    await download(name, known, out, hub, o);
  } catch (e) {
    if (created) rmSync(out, { recursive: true, force: true });
    else for (const f of known.files) rmSync(join(out, `${f}.part`), { force: true });
    throw e;
  }
}

async function download(name: string, known: KnownExport, out: string, hub: string, o: { timeoutMs?: number; progress?: (line: string) => void }): Promise<void> {
  for (const f of known.files) {
    const url = `${hub}/${known.repo}/resolve/main/${f}`;
    const dest = join(out, f);
    mkdirSync(dirname(dest), { recursive: true });
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(`${dest}.part`));
      renameSync(`${dest}.part`, dest);
      o.progress?.(`downloaded ${url}`);
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw new RewarddError('E_VISION', `vision fetch ${name}: could not download ${url} (${why}); this needs a machine with internet access, then copy ${out} to the robot`);
    }
  }
  const manifest = { schema: VISION_SCHEMA, name, description: `${known.repo}, fetched by rewardd vision fetch`, ...known.manifest, prompts: EXAMPLE_PROMPTS, weights: `${hub}/${known.repo}` };
  writeFileSync(join(out, 'vision.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}
