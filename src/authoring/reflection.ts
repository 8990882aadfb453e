/**
 * Reward reflection (Eureka): what training with a candidate, or relabelling
 * the field logs with it, showed, in a form the model can act on. Per term the
 * values at evenly spaced points (of training, or of the episodes) with their
 * max / mean / min; the success rate and episode length the same way; and the
 * fixed analysis hints: a flat term, a dominating term, success near zero.
 */
export interface Series {
  points: number[];
  max: number;
  mean: number;
  min: number;
}

export interface TermReflection extends Series {
  term: string;
  weight: number;
}

export interface Reflection {
  source: 'sim' | 'store';
  /** What the points are: "generation" (sim) or "episode" (store, oldest first). */
  pointsAre: 'generation' | 'episode';
  at: number[];
  terms: TermReflection[];
  /** sim: the task's success test on the checkpoint episodes; store: the candidate's success() per episode. */
  success: Series;
  episodeLength: Series;
  /** The fitness in words: held-out success, or rank correlation with the outcomes. */
  fitnessLine: string;
  /** Other figures worth a line (failed steps, distance to the current version). */
  notes: string[];
  hints: string[];
}

export function series(points: number[]): Series {
  const finite = points.filter(Number.isFinite);
  if (finite.length === 0) return { points, max: NaN, mean: NaN, min: NaN };
  return { points, max: Math.max(...finite), mean: finite.reduce((a, b) => a + b, 0) / finite.length, min: Math.min(...finite) };
}

/** At most `k` evenly spaced indices of 0..n-1, first and last included. */
export function evenlySpaced(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1)));
}

/** Relative spread under which a term counts as flat. */
export const FLAT_SPREAD = 0.01;
/** Share of Σ|weight × mean| over which one term dominates. */
export const DOMINANT_SHARE = 0.9;
/** Success rate under which success counts as near zero. */
export const NEAR_ZERO_SUCCESS = 0.05;

/**
 * The fixed hints. `stepRange` (store) is a term's [min, max] over every step: a
 * term that never moves there is flat whatever its per-episode means do.
 */
export function hintsFor(terms: TermReflection[], successRate: number, successWhat: string, stepRange?: Map<string, [number, number]>): string[] {
  const hints: string[] = [];
  for (const t of terms) {
    const r = stepRange?.get(t.term);
    const spread = r ? r[1] - r[0] : t.max - t.min;
    const scale = Math.max(Math.abs(t.mean), Math.abs(t.max), Math.abs(t.min));
    if (spread === 0) {
      // A constant on every step is a per-step bonus or cost: it acts through episode length only.
      hints.push(`flat term: "${t.term}" is ${fmt(t.mean)} on every step; it can only reward or punish episode length, nothing within an episode.`);
    } else if (Number.isFinite(spread) && spread <= FLAT_SPREAD * scale) {
      hints.push(`flat term: "${t.term}" stays at about ${fmt(t.mean)} throughout (spread ${fmt(spread)}); training cannot optimise it as written.`);
    }
  }
  const contrib = terms.map((t) => Math.abs(t.weight * t.mean)).map((c) => (Number.isFinite(c) ? c : 0));
  const sum = contrib.reduce((a, b) => a + b, 0);
  if (terms.length > 1 && sum > 0) {
    const i = contrib.indexOf(Math.max(...contrib));
    if (contrib[i]! / sum >= DOMINANT_SHARE) hints.push(`dominating term: "${terms[i]!.term}" makes ${Math.round((100 * contrib[i]!) / sum)} % of the total's magnitude (|weight × mean|); the others barely count.`);
  }
  if (Number.isFinite(successRate) && successRate < NEAR_ZERO_SUCCESS) hints.push(`success near zero: ${successWhat} ${fmt(successRate)}.`);
  return hints;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e6 || a < 0.001 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

const line = (name: string, s: Series): string => `${name}: [${s.points.map(fmt).join(', ')}], Max: ${fmt(s.max)}, Mean: ${fmt(s.mean)}, Min: ${fmt(s.min)}`;

/** The reflection as the model reads it (Eureka's policy-feedback layout). */
export function reflectionText(r: Reflection, label: string): string {
  const head =
    r.source === 'sim'
      ? `We trained a policy with ${label} as its only reward and tracked, at ${r.at.length} evenly spaced points of training (generations ${r.at.join(', ')}), each term's mean value per step, the task success rate and the episode length, with the maximum, mean and minimum of each:`
      : `We relabelled the stored field episodes with ${label} and list, for ${r.at.length} evenly spaced episodes (oldest first), each term's mean value per step, whether its success() fired, and the episode length in steps; each term's Max, Mean and Min are over every step of every episode:`;
  return [
    head,
    ...r.terms.map((t) => line(`${t.term} (weight ${fmt(t.weight)})`, t)),
    line(r.source === 'sim' ? 'task_success_rate' : 'candidate_success', r.success),
    line('episode_length', r.episodeLength),
    r.fitnessLine,
    ...r.notes,
    ...(r.hints.length > 0 ? ['Analysis hints:', ...r.hints.map((h) => `- ${h}`)] : []),
  ].join('\n');
}
