import { RewardStatus } from '../../core/records.js';
import type { StepBatch } from '../../episode/batch.js';

/**
 * The page's memory of steps: a ring of columns (time, total, one column per
 * reward term name ever seen, flags), in arrival order, which is time order.
 *
 * Bound: CAPACITY steps (2 min 11 s at 1 kHz, 21 min 50 s at 100 Hz); the oldest
 * step is overwritten. Bytes: CAPACITY × (8 × (2 + terms) + 1): 6.1 MiB for the
 * example reward's 4 terms, 18.1 MiB at the MAX_TERMS cap. Terms beyond the cap
 * are not kept (counted in droppedTerms).
 */
export const CAPACITY = 1 << 17;
export const MAX_TERMS = 16;

export class StepHistory {
  readonly t = new Float64Array(CAPACITY);
  readonly total = new Float64Array(CAPACITY);
  readonly flags = new Uint8Array(CAPACITY);
  /** One column per term name, in the order first seen; NaN where a step's version lacks the term. */
  readonly terms: Float64Array[] = [];
  readonly termNames: string[] = [];
  /** Steps ever appended (the ring index of step k is k % CAPACITY). */
  count = 0;
  droppedTerms = 0;
  /** Rows skipped as already seen or older than the newest (a replay after a reconnect). */
  skippedRows = 0;
  /** performance.now() of the last append that added steps (the plot scrolls on from it). */
  lastAppendMs = 0;
  private lastEpisode = '';
  private lastSeq = -1;
  /** Called once per new term name (the plot rebuilds its series). */
  onNewTerm: (name: string) => void = () => {};

  get size(): number {
    return Math.min(this.count, CAPACITY);
  }
  /** Logical index of the oldest kept step. */
  get first(): number {
    return this.count - this.size;
  }
  at(k: number): number {
    return k % CAPACITY;
  }
  get newestT(): number {
    return this.count > 0 ? this.t[this.at(this.count - 1)]! : NaN;
  }
  get oldestT(): number {
    return this.count > 0 ? this.t[this.at(this.first)]! : NaN;
  }

  termIndex(name: string): number {
    let k = this.termNames.indexOf(name);
    if (k >= 0) return k;
    if (this.termNames.length >= MAX_TERMS) return -1;
    this.termNames.push(name);
    this.terms.push(new Float64Array(CAPACITY).fill(NaN));
    k = this.termNames.length - 1;
    this.onNewTerm(name);
    return k;
  }

  /** Appends a decoded batch; returns the logical index of its first appended row (or -1 if none). */
  append(b: StepBatch): number {
    const nt = b.termNames.length;
    const map = b.termNames.map((n) => this.termIndex(n));
    if (map.includes(-1)) this.droppedTerms += b.count;
    let firstAppended = -1;
    for (let i = 0; i < b.count; i++) {
      const seq = b.seq0 + i;
      const t = b.wallMs[i]! / 1000;
      if ((b.episode === this.lastEpisode && seq <= this.lastSeq) || t < this.newestT) {
        this.skippedRows++;
        continue;
      }
      this.lastEpisode = b.episode;
      this.lastSeq = seq;
      const r = this.at(this.count);
      if (firstAppended < 0) firstAppended = this.count;
      this.t[r] = t;
      const ok = b.rewardStatus[i] === RewardStatus.ok;
      this.total[r] = ok ? b.rewardTotal[i]! : NaN;
      this.flags[r] = b.flags[i]!;
      for (const col of this.terms) col[r] = NaN;
      for (let k = 0; k < nt; k++) {
        const c = map[k]!;
        if (c >= 0) this.terms[c]![r] = ok ? b.rewardTerms[i * nt + k]! : NaN;
      }
      this.count++;
    }
    if (firstAppended >= 0) this.lastAppendMs = performance.now();
    return firstAppended;
  }

  /** First logical index whose time is >= t (binary search over the kept steps). */
  lowerBound(t: number): number {
    let lo = this.first;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[this.at(mid)]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First logical index whose time is > t. */
  upperBound(t: number): number {
    let lo = this.first;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[this.at(mid)]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
