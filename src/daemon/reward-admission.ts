import type { StepBatch } from '../episode/batch.js';

/**
 * The last `capacity` logged steps (observation, applied action, dt, episode
 * boundaries), kept on the main thread from the batches it publishes, so a new
 * reward version can be dry-run on what the robot really saw before it is
 * allowed to become active. Bound: `capacity` rows, overwritten oldest first.
 */
export class RecentSteps {
  private readonly obs: Float32Array;
  private readonly raw: Float32Array;
  private readonly act: Float32Array;
  private readonly dt: Float64Array;
  private readonly episode: string[];
  private readonly lastT = new Map<string, bigint>();
  private head = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    private readonly nObs: number,
    private readonly nAct: number,
    private readonly tickHz: number,
  ) {
    this.obs = new Float32Array(capacity * nObs);
    this.raw = new Float32Array(capacity * nObs).fill(NaN);
    this.act = new Float32Array(capacity * nAct);
    this.dt = new Float64Array(capacity);
    this.episode = new Array<string>(capacity).fill('');
  }

  get count(): number {
    return this.size;
  }

  add(b: StepBatch): void {
    let prev = this.lastT.get(b.episode) ?? null;
    for (let r = 0; r < b.count; r++) {
      const i = this.head;
      this.obs.set(b.obs.subarray(r * this.nObs, (r + 1) * this.nObs), i * this.nObs);
      if (b.obsRaw) this.raw.set(b.obsRaw.subarray(r * this.nObs, (r + 1) * this.nObs), i * this.nObs);
      else this.raw.fill(NaN, i * this.nObs, (i + 1) * this.nObs);
      this.act.set(b.actionApplied.subarray(r * this.nAct, (r + 1) * this.nAct), i * this.nAct);
      const t = b.tNs[r]!;
      this.dt[i] = b.seq0 + r === 0 || prev === null ? 1 / this.tickHz : Number(t - prev) / 1e9;
      prev = t;
      this.episode[i] = b.episode;
      this.head = (this.head + 1) % this.capacity;
      this.size = Math.min(this.capacity, this.size + 1);
    }
    this.lastT.clear(); // only the newest episode can continue
    if (prev !== null) this.lastT.set(b.episode, prev);
  }

  /** Oldest-first segments, one per episode, as contiguous copies (what a reward host dry-runs: reward-hosts.ts). */
  segments(): Array<{ episode: string; obs: Float32Array; raw: Float32Array; actions: Float32Array; dt: Float64Array }> {
    const out: Array<{ episode: string; rows: number[] }> = [];
    const start = (this.head - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) {
      const i = (start + k) % this.capacity;
      const ep = this.episode[i]!;
      const last = out[out.length - 1];
      if (last && last.episode === ep) last.rows.push(i);
      else out.push({ episode: ep, rows: [i] });
    }
    return out.map(({ episode, rows }) => ({
      episode,
      obs: Float32Array.from(rows.flatMap((i) => Array.from(this.obs.subarray(i * this.nObs, (i + 1) * this.nObs)))),
      raw: Float32Array.from(rows.flatMap((i) => Array.from(this.raw.subarray(i * this.nObs, (i + 1) * this.nObs)))),
      actions: Float32Array.from(rows.flatMap((i) => Array.from(this.act.subarray(i * this.nAct, (i + 1) * this.nAct)))),
      dt: Float64Array.from(rows.map((i) => this.dt[i]!)),
    }));
  }
}
