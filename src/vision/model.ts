/**
 * A loaded vision model: vision.json checked, both ONNX encoders opened with
 * onnxruntime-node (CPU; threads set by the caller: the encoder worker has one
 * core at most on a 2-core robot), output sizes checked against
 * embedding_size by a dry run, and a content hash of everything its outputs
 * depend on (manifest, model files, tokenizer files).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { RewarddError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from '../core/hash.js';
import { openOrtSession, type OrtSession } from '../policy/onnx-session.js';
import { decodeImage } from './image-codec.js';
import { parseVisionManifest, type VisionManifest } from './manifest.js';
import { preprocessFrame } from './preprocess.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';
import type { Frame } from './frame.js';

export interface VisionModelOptions {
  /** onnxruntime intra-op threads per encoder. Default 1. */
  threads?: number;
}

export interface VisionModel {
  readonly dir: string;
  readonly manifest: VisionManifest;
  /** Short content hash (12 hex) of manifest, encoders and tokenizer files. */
  readonly hash: string;
  readonly sha256: string;
  encodeImage(frame: Pick<Frame, 'width' | 'height' | 'rgb'>): Float32Array;
  /** One embedding per text, in order. */
  encodeTexts(texts: readonly string[]): Float32Array[];
  /** Embeddings of image files in the model folder (goal images). */
  encodeImageFiles(paths: readonly string[]): Float32Array[];
  dispose(): Promise<void>;
}

export function readVisionManifest(dir: string): VisionManifest {
  const path = join(dir, 'vision.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RewarddError('E_VISION', `vision model ${dir}: expected a vision.json, ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RewarddError('E_VISION', `${path}: expected JSON, ${(e as Error).message}`);
  }
  return parseVisionManifest(json, 'vision.json');
}

function modelFiles(dir: string, m: VisionManifest): string[] {
  const files = [m.image.path, m.text.path, ...(m.tokenizer.kind === 'clip-bpe' ? [m.tokenizer.vocab, m.tokenizer.merges] : []), ...m.prompts.goal_images];
  for (const f of files) if (!existsSync(join(dir, f))) throw new RewarddError('E_VISION', `vision.json: expected file ${f} in ${dir}, found none`);
  return [...new Set(files)].sort();
}

export async function loadVisionModel(dir: string, o: VisionModelOptions = {}): Promise<VisionModel> {
  const manifest = readVisionManifest(dir);
  const files = modelFiles(dir, manifest);
  const lines = [`vision.json\0${sha256Hex(canonicalJson(manifest))}`, ...files.map((f) => `${f}\0${sha256Hex(readFileSync(join(dir, f)))}`)];
  const sha256 = sha256Hex(lines.join('\n'));
  const tokenizer = loadTokenizer(dir, manifest.tokenizer);
  const ort = await import('onnxruntime-node');
  const threads = o.threads ?? 1;
  const options: Ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const open = async (which: 'image' | 'text'): Promise<OrtSession> => {
    const spec = manifest[which];
    let s: OrtSession;
    try {
      s = await openOrtSession(ort, readFileSync(join(dir, spec.path)), options);
    } catch (e) {
      throw new RewarddError('E_VISION', `vision.json ${which}.path: expected a loadable ONNX model in ${spec.path}, ${(e as Error).message.split('\n')[0]}`);
    }
    if (!s.inputNames.includes(spec.input)) throw new RewarddError('E_VISION', `vision.json ${which}.input: expected an input of ${spec.path}, found "${spec.input}" (it has ${s.inputNames.join(', ')})`);
    if (!s.outputNames.includes(spec.output)) throw new RewarddError('E_VISION', `vision.json ${which}.output: expected an output of ${spec.path}, found "${spec.output}" (it has ${s.outputNames.join(', ')})`);
    return s;
  };
  const image = await open('image');
  const text = await open('text');
  const model = new OnnxVisionModel(dir, manifest, sha256, ort, image, text, tokenizer);
  // Dry runs: a model whose outputs disagree with vision.json fails at load, not at the first frame.
  const S = manifest.preprocess.size;
  model.encodeImage({ width: S, height: S, rgb: new Uint8Array(S * S * 3) });
  model.encodeTexts(['a dry run']);
  return model;
}

class OnnxVisionModel implements VisionModel {
  readonly hash: string;
  private readonly pixels: Float32Array;
  private readonly pixelTensor: Ort.Tensor;

  constructor(
    readonly dir: string,
    readonly manifest: VisionManifest,
    readonly sha256: string,
    private readonly ort: typeof Ort,
    private readonly image: OrtSession,
    private readonly text: OrtSession,
    private readonly tokenizer: TextTokenizer,
  ) {
    this.hash = sha256.slice(0, 12);
    const S = manifest.preprocess.size;
    this.pixels = new Float32Array(3 * S * S);
    this.pixelTensor = new ort.Tensor('float32', this.pixels, [1, 3, S, S]);
  }

  private run(which: 'image' | 'text', feeds: Record<string, Ort.Tensor>): Float32Array {
    const spec = this.manifest[which];
    const s = which === 'image' ? this.image : this.text;
    let out: Record<string, Ort.Tensor>;
    try {
      // runSync: the encoder worker has nothing else to do while it runs.
      out = s.runSync ? s.runSync(feeds, { [spec.output]: null }) : fail(`${which} encoder: onnxruntime-node's synchronous binding is not reachable`);
    } catch (e) {
      throw new RewarddError('E_VISION', `${which} encoder ${spec.path}: ${(e as Error).message.split('\n')[0]}`);
    }
    const y = out[spec.output]!;
    const E = this.manifest.embedding_size;
    const rows = (y.dims[0] as number | undefined) ?? 1;
    if (y.data.length !== rows * E) throw new RewarddError('E_VISION', `vision.json embedding_size: expected ${E} values per row from ${spec.path}, found ${y.data.length / rows} (dims ${y.dims.join('×')})`);
    return y.data as Float32Array;
  }

  encodeImage(frame: Pick<Frame, 'width' | 'height' | 'rgb'>): Float32Array {
    preprocessFrame(frame, this.manifest.preprocess, this.pixels);
    return Float32Array.from(this.run('image', { [this.manifest.image.input]: this.pixelTensor }));
  }

  encodeTexts(texts: readonly string[]): Float32Array[] {
    const T = this.manifest.text.context_length;
    const E = this.manifest.embedding_size;
    const out: Float32Array[] = [];
    // One prompt per run: batch-1 graphs (many ONNX exports) take no other shape.
    for (const t of texts) {
      const ids = this.tokenizer.encode(t, T);
      const feeds: Record<string, Ort.Tensor> = { [this.manifest.text.input]: new this.ort.Tensor('int64', ids, [1, T]) };
      if (this.text.inputNames.includes('attention_mask')) {
        const eot = ids.reduce((m, v, i) => (v > ids[m]! ? i : m), 0);
        feeds.attention_mask = new this.ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => (i <= eot ? 1n : 0n)), [1, T]);
      }
      out.push(Float32Array.from(this.run('text', feeds).subarray(0, E)));
    }
    return out;
  }

  encodeImageFiles(paths: readonly string[]): Float32Array[] {
    return paths.map((p) => this.encodeImage(decodeImage(readFileSync(join(this.dir, p)))));
  }

  async dispose(): Promise<void> {
    await this.image.release();
    await this.text.release();
  }
}

function fail(m: string): never {
  throw new RewarddError('E_VISION', m);
}
