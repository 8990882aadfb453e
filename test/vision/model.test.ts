import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadVisionModel } from '../../src/vision/model.js';
import { ClipBpe, loadTokenizer } from '../../src/vision/tokenizer.js';
import { PromptSet } from '../../src/vision/prompt-set.js';
import { RewardRuntime } from '../../src/reward/index.js';
import { writeClipModel } from '../../src/vision/make-model.js';
import { tempDirs } from '../helpers/temp.js';

const tmp = tempDirs();
const SHIPPED = join(process.cwd(), 'models/clip-tiny');

/** A copy of the shipped model with vision.json edited by `edit`. */
function variant(edit: (j: Record<string, any>) => void): string {
  const dir = tmp('rewardd-vision-model-');
  cpSync(SHIPPED, dir, { recursive: true });
  const j = JSON.parse(readFileSync(join(dir, 'vision.json'), 'utf8')) as Record<string, any>;
  edit(j);
  writeFileSync(join(dir, 'vision.json'), JSON.stringify(j));
  return dir;
}

describe('the shipped CLIP-shaped model', () => {
  it('is what make-model writes (deterministic), loads, and embeds images and prompts', async () => {
    const again = tmp('rewardd-vision-again-');
    writeClipModel(again, 'tiny');
    for (const f of ['image.onnx', 'text.onnx', 'vision.json']) expect(readFileSync(join(again, f)).equals(readFileSync(join(SHIPPED, f)))).toBe(true);
    const m = await loadVisionModel(SHIPPED);
    expect(m.manifest.weights).toMatch(/^random/);
    const grey = m.encodeImage({ width: 96, height: 72, rgb: new Uint8Array(96 * 72 * 3).fill(128) });
    expect(grey.length).toBe(32);
    expect(Array.from(grey).every(Number.isFinite)).toBe(true);
    const [a, b] = m.encodeTexts(['a red beacon', 'an empty room']);
    expect(Array.from(a!)).not.toEqual(Array.from(b!));
    expect(Array.from(m.encodeTexts(['a red beacon'])[0]!)).toEqual(Array.from(a!));
    const set = PromptSet.embed(m, m.manifest.prompts, null);
    expect(set.id).toMatch(/^[0-9a-f]{12}$/);
    await m.dispose();
  });
});

describe('a corrupt vision.json or model: one line naming the field', () => {
  const cases: [string, (j: Record<string, any>) => void, RegExp][] = [
    ['schema', (j) => (j.schema = 'clip'), /^E_VISION: vision\.json\.schema: expected "rewardd\.vision\/1", found "clip"$/],
    ['mean', (j) => (j.preprocess.mean = [0.5, 0.5]), /^E_VISION: vision\.json\.preprocess\.mean: expected \[r, g, b\] \(3 numbers\), found an array of 2$/],
    ['std', (j) => (j.preprocess.std = [1, 0, 1]), /^E_VISION: vision\.json\.preprocess\.std\[1\]: expected a number > 0, found 0$/],
    ['size', (j) => (j.embedding_size = '32'), /^E_VISION: vision\.json\.embedding_size: expected a finite number, found "32"$/],
    ['alpha', (j) => (j.prompts.alpha = 2), /^E_VISION: vision\.json\.prompts\.alpha: expected a number in \[0, 1\], found 2$/],
    ['path', (j) => (j.image.path = '../image.onnx'), /^E_VISION: vision\.json\.image\.path: expected a path inside the model folder, found "\.\.\/image\.onnx"$/],
    ['tokenizer', (j) => (j.tokenizer = { kind: 'sentencepiece' }), /^E_VISION: vision\.json\.tokenizer\.kind: expected "bytes" or "clip-bpe", found "sentencepiece"$/],
    ['output', (j) => (j.image.output = 'embeds'), /^E_VISION: vision\.json image\.output: expected an output of image\.onnx, found "embeds" \(it has image_embeds\)$/],
    ['embedding', (j) => (j.embedding_size = 64), /^E_VISION: vision\.json embedding_size: expected 64 values per row from image\.onnx, found 32/],
  ];
  for (const [name, edit, re] of cases) {
    it(`${name}`, async () => {
      const err = await loadVisionModel(variant(edit)).then(() => null, (e: Error) => e.message);
      expect(err).toMatch(re);
      expect(err).not.toContain('\n');
    });
  }

  it('a model file that is not ONNX, and vision.json that is not JSON; the CLI prints one line and exits 1', async () => {
    const dir = variant(() => {});
    writeFileSync(join(dir, 'text.onnx'), 'garbage, not protobuf');
    const err = await loadVisionModel(dir).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/^E_VISION: vision\.json text\.path: expected a loadable ONNX model in text\.onnx, /);
    expect(err).not.toContain('\n');
    writeFileSync(join(dir, 'vision.json'), '{"schema": ');
    const cli = spawnSync(process.execPath, ['--no-node-snapshot', 'bin/rewardd.js', 'vision', 'check', dir], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/^rewardd vision: E_VISION: .*vision\.json: expected JSON, /);
  });

  it('vision fetch fails here with one line saying what it could not download', () => {
    const cli = spawnSync(process.execPath, ['--no-node-snapshot', 'bin/rewardd.js', 'vision', 'fetch', 'clip-vit-b-32', '--out', tmp('rewardd-vision-fetch-')], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/^rewardd vision: E_VISION: vision fetch clip-vit-b-32: could not download https:\/\/\S+\/onnx\/vision_model\.onnx \(.+\); this needs a machine with internet access/);
    // A folder it created is gone again (before: an empty onnx/ was left, half a model); one that was there stays.
    const fresh = join(tmp('rewardd-vision-fetch-parent-'), 'clip');
    expect(spawnSync(process.execPath, ['--no-node-snapshot', 'bin/rewardd.js', 'vision', 'fetch', 'clip-vit-b-32', '--out', fresh], { encoding: 'utf8' }).status).toBe(1);
    expect(existsSync(fresh)).toBe(false);
    const there = tmp('rewardd-vision-fetch-there-');
    expect(spawnSync(process.execPath, ['--no-node-snapshot', 'bin/rewardd.js', 'vision', 'fetch', 'clip-vit-b-32', '--out', there], { encoding: 'utf8' }).status).toBe(1);
    expect(existsSync(there)).toBe(true);
    expect(existsSync(join(there, 'onnx', 'vision_model.onnx.part'))).toBe(false);
  });
});

describe('tokenizers', () => {
  it('bytes: <sot> bytes <eot> padded with 0, cut to the context with <eot> kept', async () => {
    const t = loadTokenizer(SHIPPED, { kind: 'bytes' });
    expect(Array.from(t.encode('ab', 6), Number)).toEqual([256, 97, 98, 257, 0, 0]);
    expect(Array.from(t.encode('abcdef', 5), Number)).toEqual([256, 97, 98, 99, 257]);
  });

  it('clip-bpe: lowercases, splits words, merges by rank, closes words with </w>, pads with <eot>', () => {
    const vocab = { '<|startoftext|>': 10, '<|endoftext|>': 11, a: 1, b: 2, 'a</w>': 3, 'b</w>': 4, 'ab</w>': 5, 'ba</w>': 6, '!</w>': 7, 'c</w>': 8 };
    const bpe = new ClipBpe(vocab, ['a b</w>', 'b a</w>']);
    expect(Array.from(bpe.encode('AB  a!', 8), Number)).toEqual([10, 5, 3, 7, 11, 11, 11, 11]);
    expect(bpe.ids('ba b')).toEqual([6, 4]);
    expect(() => bpe.ids('x')).toThrow(/^E_VISION: tokenizer vocab: expected the BPE piece "x<\/w>" \(of "x"\), found none$/);
  });
});

describe('meta.vision in a reward program', () => {
  const names = { observationNames: ['x', 'vision_seq', 'vision_age_ms'], actionNames: ['u'] };
  const program = (vision: string) => `export const meta = { name: 'v', goal: 'g', weights: { t: 1 }, vision: ${vision} };\nexport function reward(obs, a, ctx) { return { t: ctx.vision.age_ms }; }`;
  it('is parsed into the program info, and ctx.vision carries the age and record of the frame', async () => {
    const rt = await RewardRuntime.create(program(`{ goal: ['a door'], alpha: 0 }`), 'v.reward.js', names);
    expect(rt.info.vision).toEqual({ goal: ['a door'], alpha: 0 });
    rt.beginEpisode({ index: 0, id: 'e' });
    const out = { status: 0, total: 0, terms: new Float64Array(1), success: false, done: false, reason: '' };
    rt.evaluate([1, 7, 42.5], [0], 0.01, out);
    expect(out.terms[0]).toBe(42.5);
    rt.dispose();
  });
  it('a bad block is refused naming the field', async () => {
    await expect(RewardRuntime.create(program(`{ goal: ['a door'], alpha: 3 }`), 'v.reward.js', names)).rejects.toThrow(/meta\.vision\.alpha: expected a number in \[0, 1\], found 3/);
    await expect(RewardRuntime.create(program(`{ goals: ['a door'] }`), 'v.reward.js', names)).rejects.toThrow(/meta\.vision\.goals: expected one of goal, baseline, goal_images, alpha/);
  });
});
