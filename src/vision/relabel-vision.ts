/**
 * Offline rescoring of an episode's vision fields, before its reward is
 * evaluated (`rewardd relabel`):
 *
 *  - same prompts (the program has no meta.vision, or the logged prompts): from the logged
 *    embeddings and the logged prompt sets' text embeddings alone, no encoder at all; the
 *    result must equal the logged fields bit for bit (checked: a difference is a --verify
 *    mismatch);
 *  - new prompts (the program's meta.vision differs): the new texts are embedded with the
 *    text encoder of --vision-model (it must be the model that embedded the frames: its hash
 *    is checked), then every stored image embedding is scored. No camera, no image encoder;
 *  - another encoder (--vision-frames-model): the stored JPEG frames are embedded again with
 *    it, with the prompts above; a step whose record kept no frame uses the newest earlier
 *    record that did, and its vision_age_ms grows by the difference (what a camera at the
 *    frame-log rate would have given).
 */
import { RewarddError } from '../core/errors.js';
import { canonicalJson, shortHash } from '../core/hash.js';
import type { RelabelColumns } from './relabel-columns.js';
import { SCORE_KINDS, visionKindOf, type VisionKind } from './camera-spec.js';
import { parsePrompts, type PartialPrompts } from './manifest.js';
import { readStoredVision, type StoredVision } from './mcap-vision.js';
import { loadVisionModel, type VisionModel } from './model.js';
import { PromptSet } from './prompt-set.js';
import { decodeImage } from './image-codec.js';

export interface VisionRelabelOptions {
  /** Model folder whose text encoder embeds new prompts (must be the one the episode used). */
  modelDir?: string;
  /** A different model: re-embed the stored frames with it. */
  framesModelDir?: string;
}

export interface VisionRelabelReport {
  /** Prompt set the fields were scored with ("logged" when each record kept its own). */
  prompts: string;
  /** Steps whose fields were rescored. */
  rescored: number;
  /** Steps whose record (or, for another encoder, any earlier frame) is not in the file: fields left as logged. */
  missing: number;
  /** With the logged prompts: the first step whose recomputed field differs from the logged one. */
  mismatch?: { seq: number; field: string; logged: number; relabelled: number };
}

const models = new Map<string, Promise<VisionModel>>();
const modelOnce = (dir: string): Promise<VisionModel> => {
  let m = models.get(dir);
  if (!m) models.set(dir, (m = loadVisionModel(dir)));
  return m;
};

function visionColumns(ep: RelabelColumns): { kinds: (VisionKind | null)[] } | null {
  const desc = ep.start?.robotDescription.content as { observations?: { name: string; source?: string }[] } | undefined;
  const fields = desc?.observations;
  if (!fields?.some((f) => visionKindOf(f.source) !== null)) return null;
  const byName = new Map(fields.map((f) => [f.name, visionKindOf(f.source)]));
  return { kinds: ep.observationNames.map((n) => byName.get(n) ?? null) };
}

/**
 * `given`: the episode's vision log when the caller has read it already (the benchmark); else read
 * from `file`, and only for episodes with vision fields: reading it parses the whole MCAP file,
 * which for an episode without a camera would be the whole cost of its relabel.
 */
export async function relabelVision(ep: RelabelColumns, file: string, meta: PartialPrompts | undefined, o: VisionRelabelOptions, given?: StoredVision): Promise<VisionRelabelReport | null> {
  const cols = visionColumns(ep);
  if (!cols) return null;
  const stored = given ?? readStoredVision(file);
  const no = ep.observationNames.length;
  const seqCol = cols.kinds.indexOf('seq');
  const ageCol = cols.kinds.indexOf('age_ms');
  const scoreCols = cols.kinds.map((k, i) => (k && SCORE_KINDS.includes(k) ? i : -1)).filter((i) => i >= 0);
  const kinds = scoreCols.map((i) => cols.kinds[i]!);
  if (seqCol < 0 || stored.records.size === 0) return { prompts: 'none', rescored: 0, missing: ep.count, };
  const logged = [...stored.prompts.values()];
  const base = logged[0];
  if (!base) throw new RewarddError('E_VISION', `${file}: expected the episode's prompt sets on /vision/prompts, found none`);
  // The prompt set to score with: each record's own, or one set for every record.
  let fixed: PromptSet | null = null;
  let framesModel: VisionModel | null = null;
  if (o.framesModelDir) framesModel = await modelOnce(o.framesModelDir);
  if (meta || framesModel) {
    const p = parsePrompts('meta.vision', meta ?? {}, base.prompts);
    const modelHash = framesModel?.hash ?? base.modelHash;
    const id = shortHash(canonicalJson({ model: modelHash, prompts: p }));
    if (!logged.some((s) => s.id === id)) {
      const m = framesModel ?? (o.modelDir ? await modelOnce(o.modelDir) : null);
      if (!m) throw new RewarddError('E_CONFIG', `--vision-model: expected the model folder that embedded these frames (hash ${base.modelHash}) to embed the new prompts of meta.vision, found none`);
      if (!framesModel && m.hash !== base.modelHash) throw new RewarddError('E_VISION', `--vision-model ${o.modelDir}: expected the model that embedded the frames (hash ${base.modelHash}), found hash ${m.hash}`);
      fixed = PromptSet.embed(m, p, null);
    }
  }
  const sets = new Map(logged.map((s) => [s.id, new PromptSet(s)]));
  if (meta && !fixed && !framesModel) fixed = sets.get(shortHash(canonicalJson({ model: base.modelHash, prompts: parsePrompts('meta.vision', meta, base.prompts) }))) ?? null;
  const frameEmb = new Map<number, Float32Array>();
  const framed = framesModel ? [...stored.frames.keys()].sort((a, b) => a - b) : [];
  if (framesModel) for (const seq of framed) frameEmb.set(seq, framesModel.encodeImage(decodeImage(stored.frames.get(seq)!)));
  const rep: VisionRelabelReport = { prompts: fixed ? fixed.id : 'logged', rescored: 0, missing: 0 };
  // Steps share records (a 10 Hz camera under a 100 Hz tick), and a record's steps are consecutive
  // rows: a record is scored when it first comes, into one reused buffer. (A map of every record's
  // scores cost more than the scoring: 5 µs a step at 512 dimensions.)
  const outBuf = new Float64Array(kinds.length);
  let lastSeq = NaN;
  let lastOut: Float64Array | null = null;
  let lastSet: PromptSet | null = null;
  let lastRec: ReturnType<typeof stored.records.get>;
  for (let row = 0; row < ep.count; row++) {
    const seq = ep.obs[row * no + seqCol]!;
    if (seq < 0) continue; // before the first embedding: nothing to rescore
    let rec = seq === lastSeq && !framesModel ? lastRec : stored.records.get(seq);
    let emb = rec?.embedding;
    let extraAgeMs = 0;
    if (framesModel && rec) {
      // The newest record at or before this one that kept a frame.
      let k = framed.length - 1;
      while (k >= 0 && framed[k]! > seq) k--;
      const fseq = k >= 0 ? framed[k]! : -1;
      const frec = stored.records.get(fseq);
      emb = frameEmb.get(fseq);
      extraAgeMs = frec ? Number(rec.tNs - frec.tNs) / 1e6 : 0;
      rec = frec;
    }
    if (!rec || !emb) {
      rep.missing++;
      continue;
    }
    const set = fixed ?? sets.get(rec.prompts);
    if (!set) {
      rep.missing++;
      continue;
    }
    let out: Float64Array | undefined;
    if (seq === lastSeq && set === lastSet && lastOut) out = lastOut; // a camera slower than the tick: the same record again
    else out = set.score(kinds, emb, outBuf);
    lastSeq = seq;
    lastOut = out;
    lastSet = set;
    lastRec = framesModel ? stored.records.get(seq) : rec;
    for (let j = 0; j < scoreCols.length; j++) {
      const at = row * no + scoreCols[j]!;
      if (set.id === rec.prompts && !framesModel && !rep.mismatch && !Object.is(ep.obs[at], Math.fround(out[j]!))) rep.mismatch = { seq: ep.seq[row]!, field: `vision ${ep.observationNames[scoreCols[j]!]}`, logged: ep.obs[at]!, relabelled: out[j]! };
      ep.obs[at] = out[j]!;
      if (ep.obsRaw) ep.obsRaw[at] = out[j]!;
    }
    if (framesModel) {
      ep.obs[row * no + seqCol] = rec.seq;
      if (ageCol >= 0) ep.obs[row * no + ageCol] = ep.obs[row * no + ageCol]! + extraAgeMs;
      if (ep.obsRaw) {
        ep.obsRaw[row * no + seqCol] = rec.seq;
        if (ageCol >= 0) ep.obsRaw[row * no + ageCol] = ep.obs[row * no + ageCol]!;
      }
    }
    rep.rescored++;
  }
  return rep;
}
