/**
 * The vision model contract (`vision.json`), like a policy's `policy.json`: which
 * ONNX files encode images and text, how a camera frame becomes the image
 * tensor (size, crop, mean/std, channel order), how text becomes token ids,
 * the embedding size, and the default prompts. Every field is checked at
 * load; an error names the field, says what was expected and what was found.
 */
import { describeValue, RewarddError } from '../core/errors.js';

export const VISION_SCHEMA = 'rewardd.vision/1';

export interface EncoderFile {
  /** Relative to the model folder. */
  readonly path: string;
  readonly input: string;
  readonly output: string;
}

export type Tokenizer = { readonly kind: 'bytes' } | { readonly kind: 'clip-bpe'; readonly vocab: string; readonly merges: string };

export interface Preprocess {
  /** Side of the square image tensor, px. */
  readonly size: number;
  /** 'center': resize the shorter side to `size` (bilinear), then crop the middle; 'stretch': resize to size × size. */
  readonly crop: 'center' | 'stretch';
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /** Order of the three channels in the tensor. */
  readonly channels: 'rgb' | 'bgr';
}

export interface Prompts {
  readonly goal: readonly string[];
  readonly baseline: readonly string[];
  /** Images (relative to the model folder) whose embeddings join the goal's (goal-image rewards). */
  readonly goal_images: readonly string[];
  /** VLM-RM's α: 0 = similarity to the goal, 1 = along the goal − baseline direction only. */
  readonly alpha: number;
}

export interface VisionManifest {
  readonly schema: typeof VISION_SCHEMA;
  readonly name: string;
  readonly description?: string;
  readonly image: EncoderFile;
  readonly text: EncoderFile & { readonly context_length: number };
  readonly tokenizer: Tokenizer;
  readonly preprocess: Preprocess;
  readonly embedding_size: number;
  readonly prompts: Prompts;
  /** Where the weights came from (a fetch, or "random"). */
  readonly weights: string;
}

const fail = (at: string, msg: string): never => {
  throw new RewarddError('E_VISION', `${at}: ${msg}`);
};
const obj = (at: string, v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(at, `expected an object, found ${describeValue(v)}`);
const str = (at: string, v: unknown): string => (typeof v === 'string' && v.length > 0 ? v : fail(at, `expected a non-empty string, found ${describeValue(v)}`));
const num = (at: string, v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(at, `expected a finite number, found ${describeValue(v)}`));
const int = (at: string, v: unknown, lo: number, hi: number): number => {
  const n = num(at, v);
  return Number.isInteger(n) && n >= lo && n <= hi ? n : fail(at, `expected an integer in [${lo}, ${hi}], found ${n}`);
};
const inside = (at: string, p: string): string => (p.startsWith('/') || p.split(/[\\/]/).includes('..') ? fail(at, `expected a path inside the model folder, found "${p}"`) : p);
const strings = (at: string, v: unknown, max: number): string[] => {
  if (!Array.isArray(v)) return fail(at, `expected an array of strings, found ${describeValue(v)}`);
  if (v.length > max) fail(at, `expected at most ${max} entries, found ${v.length}`);
  return v.map((s, i) => (typeof s === 'string' && s.length > 0 && s.length <= 1000 ? s : fail(`${at}[${i}]`, `expected a non-empty string of at most 1000 characters, found ${describeValue(s)}`)));
};
const triple = (at: string, v: unknown, positive: boolean): [number, number, number] => {
  if (!Array.isArray(v) || v.length !== 3) return fail(at, `expected [r, g, b] (3 numbers), found ${describeValue(v)}`);
  return v.map((x, i) => {
    const n = num(`${at}[${i}]`, x);
    return positive && !(n > 0) ? fail(`${at}[${i}]`, `expected a number > 0, found ${n}`) : n;
  }) as [number, number, number];
};

/** A reward program's meta.vision: any of the prompt keys; the rest come from vision.json. */
export type PartialPrompts = Partial<{ -readonly [K in keyof Prompts]: Prompts[K] }>;

/** Checks a meta.vision block's shape (the model's defaults fill what it leaves out, later). */
export function checkPartialPrompts(at: string, v: unknown): PartialPrompts {
  const o = obj(at, v);
  for (const k of Object.keys(o)) if (!['goal', 'baseline', 'goal_images', 'alpha'].includes(k)) fail(`${at}.${k}`, 'expected one of goal, baseline, goal_images, alpha');
  const out: PartialPrompts = {};
  if (o.goal !== undefined) out.goal = strings(`${at}.goal`, o.goal, MAX_PROMPTS);
  if (o.baseline !== undefined) out.baseline = strings(`${at}.baseline`, o.baseline, MAX_PROMPTS);
  if (o.goal_images !== undefined) out.goal_images = strings(`${at}.goal_images`, o.goal_images, MAX_PROMPTS).map((p, i) => inside(`${at}.goal_images[${i}]`, p));
  if (o.alpha !== undefined) {
    const a = num(`${at}.alpha`, o.alpha);
    if (!(a >= 0 && a <= 1)) fail(`${at}.alpha`, `expected a number in [0, 1], found ${a}`);
    out.alpha = a;
  }
  return out;
}

/** At most this many prompts of each kind (each is one text-encoder row at every prompt change). */
export const MAX_PROMPTS = 16;

function encoder(at: string, v: unknown, input: string, output: string): EncoderFile {
  const o = obj(at, v);
  return { path: inside(`${at}.path`, str(`${at}.path`, o.path)), input: o.input === undefined ? input : str(`${at}.input`, o.input), output: o.output === undefined ? output : str(`${at}.output`, o.output) };
}

/** Prompts from vision.json or a reward program's meta.vision; `base` fills what `v` leaves out. */
export function parsePrompts(at: string, v: unknown, base?: Prompts): Prompts {
  const o = obj(at, v);
  for (const k of Object.keys(o)) if (!['goal', 'baseline', 'goal_images', 'alpha'].includes(k)) fail(`${at}.${k}`, 'expected one of goal, baseline, goal_images, alpha');
  const goal = o.goal === undefined ? (base?.goal ?? []) : strings(`${at}.goal`, o.goal, MAX_PROMPTS);
  const baseline = o.baseline === undefined ? (base?.baseline ?? []) : strings(`${at}.baseline`, o.baseline, MAX_PROMPTS);
  const goalImages = o.goal_images === undefined ? (base?.goal_images ?? []) : strings(`${at}.goal_images`, o.goal_images, MAX_PROMPTS).map((p, i) => inside(`${at}.goal_images[${i}]`, p));
  const alpha = o.alpha === undefined ? (base?.alpha ?? 0) : num(`${at}.alpha`, o.alpha);
  if (!(alpha >= 0 && alpha <= 1)) fail(`${at}.alpha`, `expected a number in [0, 1], found ${alpha}`);
  if (goal.length + goalImages.length === 0) fail(`${at}.goal`, 'expected at least one goal prompt or goal image, found none');
  if (alpha > 0 && baseline.length === 0) fail(`${at}.baseline`, `expected at least one baseline prompt when alpha > 0 (alpha ${alpha}), found none`);
  return { goal, baseline, goal_images: goalImages, alpha };
}

export function parseVisionManifest(json: unknown, where = 'vision.json'): VisionManifest {
  const o = obj(where, json);
  if (o.schema !== VISION_SCHEMA) fail(`${where}.schema`, `expected "${VISION_SCHEMA}", found ${describeValue(o.schema)}`);
  const text = encoder(`${where}.text`, o.text, 'input_ids', 'text_embeds');
  const contextLength = int(`${where}.text.context_length`, obj(`${where}.text`, o.text).context_length, 2, 1024);
  const tk = obj(`${where}.tokenizer`, o.tokenizer);
  let tokenizer: Tokenizer;
  if (tk.kind === 'bytes') tokenizer = { kind: 'bytes' };
  else if (tk.kind === 'clip-bpe') tokenizer = { kind: 'clip-bpe', vocab: inside(`${where}.tokenizer.vocab`, str(`${where}.tokenizer.vocab`, tk.vocab)), merges: inside(`${where}.tokenizer.merges`, str(`${where}.tokenizer.merges`, tk.merges)) };
  else tokenizer = fail(`${where}.tokenizer.kind`, `expected "bytes" or "clip-bpe", found ${describeValue(tk.kind)}`);
  const p = obj(`${where}.preprocess`, o.preprocess);
  const crop = p.crop === undefined ? 'center' : p.crop;
  if (crop !== 'center' && crop !== 'stretch') fail(`${where}.preprocess.crop`, `expected "center" or "stretch", found ${describeValue(crop)}`);
  const channels = p.channels === undefined ? 'rgb' : p.channels;
  if (channels !== 'rgb' && channels !== 'bgr') fail(`${where}.preprocess.channels`, `expected "rgb" or "bgr", found ${describeValue(channels)}`);
  const preprocess: Preprocess = {
    size: int(`${where}.preprocess.size`, p.size, 8, 1024),
    crop: crop as Preprocess['crop'],
    mean: triple(`${where}.preprocess.mean`, p.mean, false),
    std: triple(`${where}.preprocess.std`, p.std, true),
    channels: channels as Preprocess['channels'],
  };
  return {
    schema: VISION_SCHEMA,
    name: str(`${where}.name`, o.name),
    ...(typeof o.description === 'string' ? { description: o.description } : {}),
    image: encoder(`${where}.image`, o.image, 'pixel_values', 'image_embeds'),
    text: { ...text, context_length: contextLength },
    tokenizer,
    preprocess,
    embedding_size: int(`${where}.embedding_size`, o.embedding_size, 2, 8192),
    prompts: parsePrompts(`${where}.prompts`, o.prompts),
    weights: str(`${where}.weights`, o.weights),
  };
}
