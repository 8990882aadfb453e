import { encodeStepBatch } from './batch-codec.js';
import type { StepBatch } from './batch.js';

/** One step as the control tick hands it over; arrays are read, not kept. */
export interface StepInput {
  tNs: bigint;
  wallMs: number;
  obsTNs: bigint;
  obs: Float32Array;
  /**
   * The raw observation (Observation.rawValues). The control loop always gives it;
   * a caller without raw values (a bench, a fixture) logs NaN for them.
   */
  obsRaw?: Float32Array;
  actionCommanded: Float32Array;
  actionApplied: Float32Array;
  safety: number;
  flags: number;
  rewardVersion: string;
  termNames: readonly string[];
  rewardStatus: number;
  rewardTotal: number;
  rewardTerms: Float64Array;
  rewardReason: string;
}

export interface EncodedBatch {
  episode: string;
  seq0: number;
  count: number;
  bytes: Uint8Array;
}

/**
 * Copies the first `width` values of `src` into row `row` of `dst`. A plain loop: `set` with a
 * `subarray` view per column per step measured 2.5x slower (359 vs 142 ns per 48/48/12/12/4-value
 * step, interleaved in one process), most of it making and collecting the views.
 */
function copyRow<T extends Float32Array | Float64Array>(dst: T, src: T, width: number, row: number): void {
  const at = row * width;
  for (let k = 0; k < width; k++) dst[at + k] = src[k]!;
}

/**
 * Collects the steps of one episode into preallocated columns and encodes a
 * batch when it is full, when the reward version changes (a batch has one
 * version), or when asked (episode end, age limit). Bound: `capacity` rows;
 * nothing is allocated per step.
 */
export class StepBatcher {
  private b: StepBatch;
  private readonly no: number;
  private readonly na: number;
  private termsCap: number;

  constructor(
    private readonly opts: { robot: string; observationNames: string[]; actionNames: string[]; capacity: number },
    private readonly onBatch: (batch: EncodedBatch) => void,
  ) {
    this.no = opts.observationNames.length;
    this.na = opts.actionNames.length;
    this.termsCap = 8;
    this.b = this.allocate('', 0, '', []);
  }

  private allocate(episode: string, seq0: number, rewardVersion: string, termNames: string[]): StepBatch {
    const c = this.opts.capacity;
    this.termsCap = Math.max(this.termsCap, termNames.length);
    return {
      episode,
      robot: this.opts.robot,
      seq0,
      count: 0,
      rewardVersion,
      termNames,
      observationNames: this.opts.observationNames,
      actionNames: this.opts.actionNames,
      tNs: new BigInt64Array(c),
      wallMs: new Float64Array(c),
      obsTNs: new BigInt64Array(c),
      obs: new Float32Array(c * this.no),
      obsRaw: new Float32Array(c * this.no),
      actionCommanded: new Float32Array(c * this.na),
      actionApplied: new Float32Array(c * this.na),
      safety: new Uint16Array(c),
      flags: new Uint8Array(c),
      rewardStatus: new Uint8Array(c),
      rewardTotal: new Float64Array(c),
      rewardTerms: new Float64Array(c * this.termsCap),
      rewardReasons: [],
    };
  }

  /** Starts an episode: later steps are numbered from seq0. Any pending rows are flushed first. */
  beginEpisode(episode: string, seq0 = 0): void {
    this.flush();
    this.b.episode = episode;
    this.b.seq0 = seq0;
  }

  get pendingRows(): number {
    return this.b.count;
  }

  push(s: StepInput): void {
    const b = this.b;
    if (b.count > 0 && s.rewardVersion !== b.rewardVersion) this.flush();
    if (b.count === 0 && (s.rewardVersion !== b.rewardVersion || s.termNames.length !== b.termNames.length)) {
      b.rewardVersion = s.rewardVersion;
      b.termNames = [...s.termNames];
      if (b.termNames.length > this.termsCap) {
        this.termsCap = b.termNames.length;
        b.rewardTerms = new Float64Array(this.opts.capacity * this.termsCap);
      }
    }
    const i = b.count;
    b.tNs[i] = s.tNs;
    b.wallMs[i] = s.wallMs;
    b.obsTNs[i] = s.obsTNs;
    copyRow(b.obs, s.obs, this.no, i);
    const raw = b.obsRaw as Float32Array;
    if (s.obsRaw) copyRow(raw, s.obsRaw, this.no, i);
    else raw.fill(NaN, i * this.no, (i + 1) * this.no);
    copyRow(b.actionCommanded, s.actionCommanded, this.na, i);
    copyRow(b.actionApplied, s.actionApplied, this.na, i);
    b.safety[i] = s.safety;
    b.flags[i] = s.flags;
    b.rewardStatus[i] = s.rewardStatus;
    b.rewardTotal[i] = s.rewardTotal;
    const nt = b.termNames.length;
    copyRow(b.rewardTerms, s.rewardTerms, nt, i);
    if (s.rewardReason !== '') b.rewardReasons.push([i, s.rewardReason]);
    b.count++;
    if (b.count >= this.opts.capacity) this.flush();
  }

  /** Encodes and hands over the pending rows, if any. */
  flush(): void {
    const b = this.b;
    if (b.count === 0) return;
    const bytes = encodeStepBatch(b);
    this.onBatch({ episode: b.episode, seq0: b.seq0, count: b.count, bytes });
    b.seq0 += b.count;
    b.count = 0;
    b.rewardReasons = [];
  }
}
