/**
 * The `--store` evaluator, for field logs: relabel the stored episodes with the
 * candidate (the relabel library, in the same sandbox as on the robot) and rank
 * it by how well its episode return orders the episodes' outcomes: Spearman's
 * rho of per-episode return against the outcome (1 success, 0 failure). The
 * outcome of an episode is its operator label (`episodes label`) when it has
 * one, else the success logged with it (--outcome auto); or only one of the two.
 * Reported beside it, not mixed in: `reward diff`'s canonical distance from the
 * version the store's newest episode ran (how far the candidate moves the reward).
 */
import { RewarddError } from '../core/errors.js';
import { activeProgram, diffRewards, RelabelPool, relabelStore, spearman } from '../relabel/index.js';
import { Catalog } from '../store/catalog.js';
import { EpisodeLabels } from '../store/labels.js';
import type { VisionRelabelOptions } from '../vision/relabel-vision.js';
import type { Evaluation, Evaluator, ProgramText } from './evaluation.js';
import { evenlySpaced, fmt, hintsFor, reflectionText, series, type Reflection } from './reflection.js';

export type OutcomeSource = 'auto' | 'labels' | 'logged';
export const OUTCOME_SOURCES: readonly OutcomeSource[] = ['auto', 'labels', 'logged'];

export interface StoreEvaluatorOptions {
  storeDir: string;
  /** --episodes filter text (relabel's syntax). Default: every stored episode. */
  episodes?: string;
  outcome: OutcomeSource;
  /** Points of the per-episode series in the reflection. */
  points: number;
  /** Called with the pid of each relabel worker the evaluator starts (tests). */
  onWorkerStart?: (pid: number) => void;
  /** Vision rescoring models for episodes with a camera (relabel's --vision-model, --vision-frames-model). */
  vision?: VisionRelabelOptions;
}

export interface EpisodeOutcome {
  success: boolean;
  from: 'label' | 'logged';
}

/** Every episode's outcome by the chosen source; episodes with none are left out. */
export function loadOutcomes(storeDir: string, source: OutcomeSource): Map<string, EpisodeOutcome> {
  const out = new Map<string, EpisodeOutcome>();
  if (source !== 'labels') {
    const cat = new Catalog(storeDir, { readonly: true });
    try {
      for (const r of cat.list({ limit: Number.MAX_SAFE_INTEGER })) if (r.success !== null) out.set(r.episode, { success: r.success, from: 'logged' });
    } finally {
      cat.close();
    }
  }
  if (source !== 'logged') {
    const labels = new EpisodeLabels(storeDir, { readonly: true });
    try {
      for (const [ep, l] of labels.latest()) out.set(ep, { success: l.label === 'success', from: 'label' });
    } finally {
      labels.close();
    }
  }
  return out;
}

export class StoreEvaluator implements Evaluator {
  readonly mode = 'store' as const;
  private readonly outcomes: Map<string, EpisodeOutcome>;
  private readonly current: (ProgramText & { version: string }) | undefined;
  /**
   * Relabel workers kept warm across candidates (issue 20): one pool for every relabel and diff
   * of the loop, started by the first candidate. A candidate's relabel used to start its own
   * worker, and its diff another: ~0.2 s of start-up and compilation each, per candidate, where
   * a store of a few thousand steps takes 10 ms to relabel. Workers keep the last few programs
   * compiled (worker-main.ts), so the diff's current version is compiled once. close() ends them.
   */
  private pool: RelabelPool | undefined;
  private closed = false;

  constructor(private readonly o: StoreEvaluatorOptions) {
    this.outcomes = loadOutcomes(o.storeDir, o.outcome);
    if (this.outcomes.size === 0) throw new RewarddError('E_STORE', `--store ${o.storeDir}: expected episodes with an outcome (--outcome ${o.outcome}: operator labels from \`rewardd episodes label\`${o.outcome === 'auto' ? ' or logged success' : ''}), found none`);
    this.current = activeProgram(o.storeDir);
  }

  private workers(): RelabelPool {
    if (this.closed) throw new RewarddError('E_CONFIG', 'store evaluator: used after close()');
    return (this.pool ??= new RelabelPool({ workers: 1, ...(this.o.onWorkerStart ? { onWorkerStart: this.o.onWorkerStart } : {}) }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const p = this.pool;
    this.pool = undefined;
    await p?.close();
  }

  describe(): string {
    const labels = [...this.outcomes.values()].filter((x) => x.from === 'label').length;
    return `store: relabel ${this.o.storeDir}${this.o.episodes ? ` (${this.o.episodes})` : ''}; outcome of ${this.outcomes.size} episode(s) (${labels} operator label(s), ${this.outcomes.size - labels} logged)`;
  }

  async evaluate(p: ProgramText, _signal: AbortSignal | undefined, onProgress?: (text: string) => void): Promise<Evaluation> {
    const t0 = performance.now();
    const seconds = (): number => (performance.now() - t0) / 1000;
    let rep;
    try {
      rep = await relabelStore({ storeDir: this.o.storeDir, reward: p, save: false, pool: this.workers(), ...(this.o.episodes !== undefined ? { episodes: this.o.episodes } : {}), ...(this.o.vision ? { vision: this.o.vision } : {}), onProgress: (d, t) => onProgress?.(`relabelled ${d}/${t} episodes`) });
    } catch (e) {
      return { mode: 'store', ok: false, fitness: null, tieBreak: null, seconds: seconds(), error: (e as Error).message.split('\n')[0]! };
    }
    const judged = rep.episodes.filter((e) => this.outcomes.has(e.episode));
    const outcome = judged.map((e) => (this.outcomes.get(e.episode)!.success ? 1 : 0));
    const positives = outcome.reduce<number>((a, b) => a + b, 0);
    // Episodes the relabel could not score (a camera episode without --vision-model, a damaged file)
    // are left out of the ranking: said, with the first reason, never silently.
    const skipped = rep.errors.length > 0 ? `${rep.errors.length} of ${rep.errors.length + rep.episodes.length} episodes could not be relabelled and are left out (the first, ${rep.errors[0]!.episode}: ${rep.errors[0]!.error.split('\n')[0]})` : '';
    if (judged.length < 2 || positives === 0 || positives === judged.length) {
      return { mode: 'store', ok: false, fitness: null, tieBreak: null, seconds: seconds(), error: `E_STORE: expected relabelled episodes of both outcomes to rank against, found ${judged.length} with an outcome (${positives} success, ${judged.length - positives} failure)${skipped ? `; ${skipped}` : ''}` };
    }
    const rho = spearman(judged.map((e) => e.return), outcome);
    let distance: number | null = null;
    if (this.current) {
      onProgress?.(`reward diff against the current version ${this.current.version}`);
      const d = await diffRewards({ storeDir: this.o.storeDir, a: this.current, b: p, pool: this.workers(), ...(this.o.episodes !== undefined ? { episodes: this.o.episodes } : {}) }).catch(() => undefined);
      distance = d && Number.isFinite(d.perStep.canonicalDistance) ? d.perStep.canonicalDistance : null;
    }
    const idx = evenlySpaced(rep.episodes.length, this.o.points);
    const at = idx.map((i) => rep.episodes[i]!);
    const okSteps = (e: (typeof at)[number]): number => Math.max(1, e.steps - e.failed);
    const terms = rep.terms.map((t) => ({ term: t.term, weight: t.weight, ...series(at.map((e) => (e.returnByTerm[t.term] ?? NaN) / okSteps(e))), max: t.max, mean: t.mean, min: t.min }));
    const fired = judged.filter((e, i) => outcome[i] === 1 && e.success).length;
    const reflection: Reflection = {
      source: 'store',
      pointsAre: 'episode',
      at: idx,
      terms,
      success: series(at.map((e) => (e.success ? 1 : 0))),
      episodeLength: series(at.map((e) => e.steps)),
      fitnessLine: `Spearman rank correlation of episode return with the outcome (1 success, 0 failure) over ${judged.length} episodes (${positives} successes): ${fmt(rho)}. The candidate's success() fired in ${fired} of the ${positives} successful episodes and in ${judged.filter((e, i) => outcome[i] === 0 && e.success).length} of the ${judged.length - positives} failed ones.`,
      notes: [
        ...(skipped ? [`${skipped}.`] : []),
        ...(distance !== null ? [`Canonical distance from the current version ${this.current!.version} on the same steps: ${fmt(distance)} (0 = the same reward up to scale and shift, 1 = reversed).`] : []),
        ...(rep.failedSteps > 0 ? [`${rep.failedSteps} of ${rep.steps} steps failed; the first: ${rep.episodes.find((e) => e.firstFailure)?.firstFailure ?? '?'}`] : []),
      ],
      hints: hintsFor(terms, positives > 0 ? fired / positives : NaN, 'the candidate\'s success() fired in this fraction of the successful episodes:', new Map(rep.terms.map((t) => [t.term, [t.min, t.max]]))),
    };
    return {
      mode: 'store',
      ok: true,
      fitness: rho,
      // Equal correlation: the smaller change from the current version wins.
      tieBreak: distance === null ? 0 : -distance,
      seconds: seconds(),
      reflection,
      text: reflectionText(reflection, 'this reward program'),
      details: { spearman: rho, episodes: judged.length, successes: positives, distanceFromCurrent: distance, currentVersion: this.current?.version ?? null, steps: rep.steps, failedSteps: rep.failedSteps, relabelSeconds: rep.seconds },
    };
  }
}
