/**
 * What an evaluator says about one candidate, and how candidates are ranked.
 * With both --sim and --store, the fitness is the mean of the two on one
 * scale: sim success rate in [0, 1] and (Spearman + 1) / 2 in [0, 1]; each is
 * still reported on its own.
 */
import type { Reflection } from './reflection.js';

export interface ProgramText {
  source: string;
  filename: string;
}

export interface Evaluation {
  mode: 'sim' | 'store';
  ok: boolean;
  /** sim: held-out task success rate in [0, 1]; store: Spearman of return vs outcome in [-1, 1]. Null when it could not be measured. */
  fitness: number | null;
  /** Orders equal fitness (higher is better); null when there is none. */
  tieBreak: number | null;
  seconds: number;
  reflection?: Reflection;
  /** The reflection as sent to the model. */
  text?: string;
  details?: Record<string, unknown>;
  error?: string;
}

export interface Evaluator {
  readonly mode: 'sim' | 'store';
  describe(): string;
  evaluate(p: ProgramText, signal: AbortSignal | undefined, onProgress?: (text: string) => void): Promise<Evaluation>;
  /** Ends what it keeps between candidates (the store evaluator's relabel workers). */
  close?(): Promise<void>;
}

/** The fitness refine ranks by, on [0, 1]; null when any evaluator could not measure it. */
export function combinedFitness(evals: Evaluation[]): number | null {
  if (evals.length === 0 || evals.some((e) => e.fitness === null)) return null;
  const scaled = evals.map((e) => (e.mode === 'sim' ? e.fitness! : (e.fitness! + 1) / 2));
  return scaled.reduce((a, b) => a + b, 0) / scaled.length;
}

export function combinedTieBreak(evals: Evaluation[]): number {
  return evals.reduce((a, e) => a + (e.tieBreak ?? 0), 0);
}

/** Sort order for candidates: higher fitness first, then higher tie-break, then the earlier candidate (the incumbent keeps its place). */
export function better(a: { fitness: number | null; tieBreak: number }, b: { fitness: number | null; tieBreak: number }): boolean {
  if (a.fitness === null) return false;
  if (b.fitness === null) return true;
  if (a.fitness !== b.fitness) return a.fitness > b.fitness;
  return a.tieBreak > b.tieBreak;
}
