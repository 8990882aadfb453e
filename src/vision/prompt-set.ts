/**
 * One set of prompts, embedded: what turns an image embedding into the vision
 * observation fields. Text is embedded once per set (at load and at every
 * change), never per frame. The set's id is a content hash of the model and
 * the prompts, so a log says exactly which prompts scored which frame.
 */
import { shortHash, canonicalJson } from '../core/hash.js';
import { RewarddError } from '../core/errors.js';
import { GoalScorer, normalise } from './goal-reward.js';
import type { Prompts } from './manifest.js';
import type { VisionModel } from './model.js';
import type { VisionKind } from './camera-spec.js';

/** What the log keeps of a prompt set: enough to rescore stored embeddings without any encoder. */
export interface PromptSetRecord {
  id: string;
  /** The reward version whose meta.vision chose these prompts (null: the model's defaults). */
  rewardVersion: string | null;
  modelHash: string;
  prompts: Prompts;
  goal: number[][];
  baseline: number[][];
  goalImages: number[][];
}

export class PromptSet {
  readonly scorer: GoalScorer;
  private readonly goalAll: Float32Array[];

  constructor(readonly record: PromptSetRecord) {
    this.goalAll = [...record.goal, ...record.goalImages].map((e) => Float32Array.from(e));
    this.scorer = new GoalScorer(this.goalAll, record.baseline.map((e) => Float32Array.from(e)), record.prompts.alpha);
  }

  get id(): string {
    return this.record.id;
  }

  static embed(model: VisionModel, prompts: Prompts, rewardVersion: string | null): PromptSet {
    const toArr = (l: Float32Array[]): number[][] => l.map((e) => Array.from(e));
    const id = shortHash(canonicalJson({ model: model.hash, prompts }));
    return new PromptSet({
      id,
      rewardVersion,
      modelHash: model.hash,
      prompts,
      goal: toArr(model.encodeTexts(prompts.goal)),
      baseline: toArr(model.encodeTexts(prompts.baseline)),
      goalImages: toArr(model.encodeImageFiles(prompts.goal_images)),
    });
  }

  /**
   * The score fields for one image embedding, in `kinds` order, each rounded to float32
   * exactly as the observation stores it (so a rescoring compares bit for bit).
   */
  score(kinds: readonly VisionKind[], embedding: Float32Array, out: Float64Array): Float64Array {
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      if (k === 'goal_baseline') out[i] = Math.fround(this.scorer.score(embedding));
      else if (k === 'goal_cosine') out[i] = Math.fround(cosineToUnit(embedding, (this.mean ??= normalise(meanGoal(this.goalAll)))));
      else throw new RewarddError('E_VISION', `vision field kind ${String(k)}: not a score`);
    }
    return out;
  }
  private mean: Float64Array | null = null;
}

/** x̂ · u for a unit vector u, in one pass and no allocation (the same value as cosineSimilarity up to rounding). */
function cosineToUnit(x: Float32Array, u: Float64Array): number {
  let dot = 0;
  let nn = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i]! * u[i]!;
    nn += x[i]! * x[i]!;
  }
  return dot / Math.sqrt(nn);
}

function meanGoal(goals: Float32Array[]): Float64Array {
  const dim = goals[0]?.length ?? 0;
  const m = new Float64Array(dim);
  for (const g of goals) {
    let n = 0;
    for (let i = 0; i < dim; i++) n += g[i]! * g[i]!;
    n = Math.sqrt(n);
    for (let i = 0; i < dim; i++) m[i] = m[i]! + g[i]! / n;
  }
  return m;
}
