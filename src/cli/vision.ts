/**
 * `rewardd vision fetch|make-model|check`: get a real CLIP export, write a
 * CLIP-shaped random-weight model, or load and dry-run a model folder.
 */
import { RewarddError } from '../core/errors.js';
import { CLIP_SHAPES, type ClipShapeName } from '../vision/clip-graph.js';
import { fetchVisionModel, KNOWN_EXPORTS } from '../vision/fetch.js';
import { writeClipModel } from '../vision/make-model.js';
import { loadVisionModel } from '../vision/model.js';
import { PromptSet } from '../vision/prompt-set.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd vision fetch NAME --out DIR',
  '       rewardd vision make-model --shape SHAPE --out DIR',
  '       rewardd vision check DIR',
  '',
  `fetch       download a known CLIP export (${Object.keys(KNOWN_EXPORTS).join(', ')}) with its vision.json; needs internet`,
  `make-model  write a CLIP-shaped model with deterministic RANDOM weights (${Object.keys(CLIP_SHAPES).join(', ')}):`,
  '            real graph shapes and cost, no semantics (tests, benchmarks, the example)',
  'check       load DIR/vision.json and both encoders, embed the prompts and a grey frame, print sizes and times',
  '',
  '  --out DIR     where to write (fetch, make-model)      (required)',
  '  --shape NAME  make-model: the graph shape              (default: tiny)',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'out', type: 'string' },
  { flag: 'shape', type: 'string' },
];

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, FLAGS, true);
  } catch (e) {
    process.stderr.write(`rewardd vision: ${(e as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const [sub, arg, ...extra] = positionals;
  const out = typeof values.out === 'string' ? values.out : undefined;
  const usage = (m: string): number => {
    process.stderr.write(`rewardd vision: ${m}\n`);
    return 2;
  };
  if (extra.length > 0) return usage(`expected at most one argument after "${sub}", found ${extra.length + 1}`);
  if (sub === 'fetch') {
    if (!arg || !out) return usage('expected "fetch NAME --out DIR"');
    await fetchVisionModel(arg, out, { progress: (l) => process.stderr.write(`${l}\n`) });
    process.stdout.write(`${out}/vision.json written; check it with: rewardd vision check ${out}\n`);
    return 0;
  }
  if (sub === 'make-model') {
    if (!out) return usage('expected "make-model --out DIR"');
    const shape = (typeof values.shape === 'string' ? values.shape : 'tiny') as ClipShapeName;
    if (!(shape in CLIP_SHAPES)) throw new RewarddError('E_CONFIG', `--shape: expected one of ${Object.keys(CLIP_SHAPES).join(', ')}, found "${shape}"`);
    const r = writeClipModel(out, shape);
    process.stdout.write(`${out}: image.onnx ${(r.imageBytes / 1e6).toFixed(1)} MB, text.onnx ${(r.textBytes / 1e6).toFixed(1)} MB, vision.json (RANDOM weights, shape ${shape})\n`);
    return 0;
  }
  if (sub === 'check') {
    if (!arg) return usage('expected "check DIR"');
    const t0 = performance.now();
    const m = await loadVisionModel(arg);
    const tLoad = performance.now() - t0;
    const S = m.manifest.preprocess.size;
    const t1 = performance.now();
    m.encodeImage({ width: S, height: S, rgb: new Uint8Array(S * S * 3).fill(128) });
    const tImage = performance.now() - t1;
    const set = PromptSet.embed(m, m.manifest.prompts, null);
    process.stdout.write(
      [
        `${arg}: ${m.manifest.name} v ${m.hash} (${m.manifest.weights})`,
        `  image ${m.manifest.image.path} ${S}×${S} -> ${m.manifest.embedding_size}; text ${m.manifest.text.path}, ${m.manifest.tokenizer.kind} tokens, context ${m.manifest.text.context_length}`,
        `  prompts ${set.id}: goal ${JSON.stringify(m.manifest.prompts.goal)}, baseline ${JSON.stringify(m.manifest.prompts.baseline)}, alpha ${m.manifest.prompts.alpha}`,
        `  load ${tLoad.toFixed(0)} ms, one frame ${tImage.toFixed(1)} ms`,
      ].join('\n') + '\n',
    );
    await m.dispose();
    return 0;
  }
  return usage(`expected "fetch", "make-model" or "check", found "${sub ?? ''}"`);
}
