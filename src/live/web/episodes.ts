import { RewardStatus } from '../../core/records.js';
import type { EpisodeEnd, EpisodeStart } from '../../core/records.js';
import type { StepBatch } from '../../episode/batch.js';
import { merge, newStats, push, std, type RunningStats } from '../../relabel/stats.js';

/**
 * What the page keeps per episode: the start and end records, per-term running
 * statistics over ok steps (the same Welford moments `rewardd relabel` prints as
 * the reward reflection), and a thinned trace of the return so far (Σ of the
 * total, and of each term, over the episode's ok steps) for the overlay plot:
 * cumulative sums are what one compares between episodes, and they stay
 * readable at 1 kHz where the per-step values are a band of noise.
 *
 * Bounds: KEEP_EPISODES episodes (the oldest is forgotten); each trace holds at
 * most TRACE_POINTS points per series (when full, every other point is dropped
 * and the stride doubles), so 40 episodes × 17 series × 1024 × 16 B ≈ 11 MiB at
 * the 16-term cap, 3.3 MiB with 4 terms.
 */
export const KEEP_EPISODES = 40;
export const TRACE_POINTS = 1024;

export interface EpisodeInfo {
  id: string;
  index: number | null;
  firstWallMs: number;
  rewardName: string | null;
  rewardVersions: string[];
  start: EpisodeStart | null;
  end: EpisodeEnd | null;
  /** Steps seen by this page (fewer than end.steps if it joined late). */
  seen: number;
  stats: Map<string, RunningStats>;
  /** Seconds since the episode's first step seen, and Σ per series ('total' and each term) up to that step. */
  trace: { x: number[]; y: Map<string, (number | null)[]>; stride: number; skip: number; sums: Map<string, number> };
}

export class EpisodeBook {
  readonly episodes = new Map<string, EpisodeInfo>();
  /** Reward names by version, from start records and reward/active (bounded like the episodes). */
  readonly rewardNames = new Map<string, string>();

  private get(id: string, wallMs: number): EpisodeInfo {
    let e = this.episodes.get(id);
    if (!e) {
      e = { id, index: null, firstWallMs: wallMs, rewardName: null, rewardVersions: [], start: null, end: null, seen: 0, stats: new Map(), trace: { x: [], y: new Map(), stride: 1, skip: 0, sums: new Map() } };
      this.episodes.set(id, e);
      while (this.episodes.size > KEEP_EPISODES) this.episodes.delete(this.episodes.keys().next().value!);
    }
    return e;
  }

  nameVersion(version: string, name: string): void {
    this.rewardNames.set(version, name);
    while (this.rewardNames.size > KEEP_EPISODES) this.rewardNames.delete(this.rewardNames.keys().next().value!);
  }

  onStart(s: EpisodeStart): void {
    const e = this.get(s.episode, s.startedWallMs);
    e.start = s;
    e.index = s.index;
    e.rewardName = s.reward.name;
    this.nameVersion(s.reward.hash, s.reward.name);
  }

  onEnd(end: EpisodeEnd): void {
    this.get(end.episode, end.endedWallMs).end = end;
  }

  onBatch(b: StepBatch): void {
    if (b.count === 0) return;
    const e = this.get(b.episode, b.wallMs[0]!);
    if (!e.rewardVersions.includes(b.rewardVersion)) e.rewardVersions.push(b.rewardVersion);
    const nt = b.termNames.length;
    const stats = b.termNames.map((n) => {
      let s = e.stats.get(n);
      if (!s) e.stats.set(n, (s = newStats()));
      return s;
    });
    const tr = e.trace;
    const sum = (name: string, v: number): void => {
      tr.sums.set(name, (tr.sums.get(name) ?? 0) + v);
    };
    for (let i = 0; i < b.count; i++) {
      e.seen++;
      const ok = b.rewardStatus[i] === RewardStatus.ok;
      if (ok) {
        for (let k = 0; k < nt; k++) {
          push(stats[k]!, b.rewardTerms[i * nt + k]!);
          sum(b.termNames[k]!, b.rewardTerms[i * nt + k]!);
        }
        sum('total', b.rewardTotal[i]!);
      }
      if (tr.skip-- > 0) continue;
      tr.skip = tr.stride - 1;
      const p = tr.x.length;
      tr.x.push((b.wallMs[i]! - e.firstWallMs) / 1000);
      const add = (name: string): void => {
        let col = tr.y.get(name);
        if (!col) tr.y.set(name, (col = new Array<number | null>(p).fill(null)));
        col.push(tr.sums.get(name) ?? null);
      };
      add('total');
      for (let k = 0; k < nt; k++) add(b.termNames[k]!);
      for (const col of tr.y.values()) if (col.length < tr.x.length) col.push(null);
      if (tr.x.length >= TRACE_POINTS) thin(tr);
    }
  }

  /** Newest first. */
  recent(n: number): EpisodeInfo[] {
    return [...this.episodes.values()].slice(-n).reverse();
  }

  /**
   * Per-term max / mean / min / std over the ok steps of the last `n` episodes this page
   * saw, merged exactly (Chan et al.), as `rewardd relabel` merges its threads.
   */
  rolling(n: number): { episodes: number; byTerm: Map<string, RunningStats> } {
    const eps = this.recent(n);
    const byTerm = new Map<string, RunningStats>();
    for (const e of eps) for (const [term, s] of e.stats) byTerm.set(term, merge(byTerm.get(term) ?? newStats(), s));
    return { episodes: eps.length, byTerm };
  }
}

function thin(tr: EpisodeInfo['trace']): void {
  const keep = <T>(a: T[]): T[] => a.filter((_v, i) => i % 2 === 0);
  tr.x = keep(tr.x);
  for (const [k, col] of tr.y) tr.y.set(k, keep(col));
  tr.stride *= 2;
  tr.skip = tr.stride - 1;
}

export { std };
