import type { EpisodeStart } from '../core/records.js';
import { RewarddError } from '../core/errors.js';
import { readEpisodeInfo, readEpisodeSteps } from '../recorder/episode-reader.js';
import { LayoutChanged, readEpisodeColumnsFast } from './mcap-columns.js';

/**
 * One stored episode as columns, the shape batch evaluation wants: the
 * observations and applied actions in one row-major array each, plus what was
 * logged for each step (so --verify can compare). Steps are in seq order.
 *
 * Logged rewards are kept as segments of consecutive steps under one reward
 * version, because a hot swap (or a rollback) can change the version, and so
 * the term names, in the middle of an episode.
 */
export interface LoggedSegment {
  version: string;
  termNames: string[];
  /** First step index (row) of the segment, inclusive. */
  from: number;
  /** Last row, exclusive. */
  to: number;
  /** (to − from) × termNames.length, row-major. */
  terms: Float64Array;
}

/** What scoring an episode reads: the steps as the reward saw them. */
export interface EpisodeSteps {
  episode: string;
  robot: string;
  /** Start record, when the episode file has one (incomplete episodes may not). */
  start: EpisodeStart | undefined;
  observationNames: string[];
  actionNames: string[];
  count: number;
  seq: Uint32Array;
  tNs: BigInt64Array;
  /** count × observationNames.length. */
  obs: Float32Array;
  /**
   * count × observationNames.length: the logged raw observation (what ctx.raw reads).
   * Absent when the episode was logged without it (rewardd.steps/1): a program that
   * declares meta.raw then relabels every step as `unavailable`.
   */
  obsRaw?: Float32Array;
  /** count × actionNames.length: what went to the actuators (the reward sees this one). */
  actionApplied: Float32Array;
}

/** The steps and what was logged for them (what --verify compares with). */
export interface EpisodeLogged extends EpisodeSteps {
  flags: Uint8Array;
  loggedStatus: Uint8Array;
  loggedTotal: Float64Array;
  loggedSegments: LoggedSegment[];
  /** Logged reasons of failed steps, by row. */
  loggedReasons: Map<number, string>;
}

/** Every column of a stored episode. */
export interface EpisodeColumns extends EpisodeLogged {
  actionCommanded: Float32Array;
  safety: Uint16Array;
  /** Wall time of each tick, ms (the readers fill it; absent only in columns built by hand). */
  wallMs?: Float64Array;
  /** Monotonic time of each step's newest sample, ns (as wallMs). */
  obsTNs?: BigInt64Array;
}

/** Grows a typed array by doubling: episodes arrive as a stream of unknown length. */
class Grow<T extends Float32Array | Float64Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array> {
  n = 0;
  constructor(public a: T, private readonly make: (n: number) => T) {}
  reserve(extra: number): void {
    if (this.n + extra <= this.a.length) return;
    const b = this.make(Math.max(this.a.length * 2, this.n + extra));
    (b as unknown as { set(x: T): void }).set(this.a);
    this.a = b;
  }
  done(): T {
    return this.a.subarray(0, this.n) as T;
  }
}

export interface ReadColumnsOptions {
  /** Refuse episodes longer than this many steps (memory bound: ~(4·nObs + 8·nAct + 40) bytes a step). Default 10,000,000. */
  maxSteps?: number;
}

/**
 * Reads a stored episode file (MCAP, as the recorder writes it) into columns:
 * the single-pass column reader when the file has the layout it knows, else
 * the recorder's generic step reader.
 */
export async function readEpisodeColumns(file: string, opts: ReadColumnsOptions = {}): Promise<EpisodeColumns> {
  const maxSteps = opts.maxSteps ?? 10_000_000;
  try {
    return await readEpisodeColumnsFast(file, maxSteps);
  } catch (e) {
    if (!(e instanceof LayoutChanged)) throw e;
  }
  return readEpisodeColumnsGeneric(file, maxSteps);
}

/** The generic path: the recorder's library reader, one StepRecord at a time. */
export async function readEpisodeColumnsGeneric(file: string, maxSteps: number): Promise<EpisodeColumns> {
  const info = await readEpisodeInfo(file);
  let no = -1;
  let na = -1;
  const cap = 1024;
  const seq = new Grow(new Uint32Array(cap), (n) => new Uint32Array(n));
  const tNs = new Grow(new BigInt64Array(cap), (n) => new BigInt64Array(n));
  const flags = new Grow(new Uint8Array(cap), (n) => new Uint8Array(n));
  const safety = new Grow(new Uint16Array(cap), (n) => new Uint16Array(n));
  const status = new Grow(new Uint8Array(cap), (n) => new Uint8Array(n));
  const total = new Grow(new Float64Array(cap), (n) => new Float64Array(n));
  const wall = new Grow(new Float64Array(cap), (n) => new Float64Array(n));
  const obsT = new Grow(new BigInt64Array(cap), (n) => new BigInt64Array(n));
  let obs: Grow<Float32Array> | undefined;
  let raw: Grow<Float32Array> | undefined;
  // Raw values are kept only if every step has them (a file has them for all or none).
  let allRaw = true;
  let applied: Grow<Float32Array> | undefined;
  let commanded: Grow<Float32Array> | undefined;
  const segments: Array<LoggedSegment & { buf: Grow<Float64Array> }> = [];
  const reasons = new Map<number, string>();
  let episode = info.start?.episode ?? info.metadata.episode ?? '';
  let row = 0;
  for await (const s of readEpisodeSteps(file)) {
    if (row >= maxSteps) throw new RewarddError('E_STORE', `${file}: expected at most ${maxSteps} steps, found more`);
    if (no < 0) {
      no = s.obs.length;
      na = s.actionApplied.length;
      obs = new Grow(new Float32Array(cap * no), (n) => new Float32Array(n));
      raw = new Grow(new Float32Array(cap * no), (n) => new Float32Array(n));
      applied = new Grow(new Float32Array(cap * na), (n) => new Float32Array(n));
      commanded = new Grow(new Float32Array(cap * na), (n) => new Float32Array(n));
      episode ||= s.episode;
    }
    for (const g of [seq, tNs, flags, safety, status, total, wall, obsT]) g.reserve(1);
    obs!.reserve(no);
    if (allRaw && s.obsRaw?.length !== no) allRaw = false;
    if (allRaw) raw!.reserve(no);
    applied!.reserve(na);
    commanded!.reserve(na);
    seq.a[row] = s.seq;
    tNs.a[row] = s.tNs;
    flags.a[row] = s.flags;
    safety.a[row] = s.safety;
    status.a[row] = s.rewardStatus;
    total.a[row] = s.rewardTotal;
    wall.a[row] = s.wallMs;
    obsT.a[row] = s.obsTNs;
    obs!.a.set(s.obs, row * no);
    if (allRaw) raw!.a.set(s.obsRaw!, row * no);
    applied!.a.set(s.actionApplied, row * na);
    commanded!.a.set(s.actionCommanded, row * na);
    let seg = segments[segments.length - 1];
    if (!seg || seg.version !== s.rewardVersion) {
      seg = { version: s.rewardVersion, termNames: Object.keys(s.rewardTerms), from: row, to: row, terms: new Float64Array(0), buf: new Grow(new Float64Array(64), (n) => new Float64Array(n)) };
      segments.push(seg);
    }
    const nt = seg.termNames.length;
    seg.buf.reserve(nt);
    for (let k = 0; k < nt; k++) seg.buf.a[seg.buf.n + k] = s.rewardTerms[seg.termNames[k]!] ?? NaN;
    seg.buf.n += nt;
    seg.to = row + 1;
    if (s.rewardReason !== undefined) reasons.set(row, s.rewardReason);
    row++;
    for (const g of [seq, tNs, flags, safety, status, total, wall, obsT]) g.n = row;
    obs!.n = row * no;
    if (allRaw) raw!.n = row * no;
    applied!.n = row * na;
    commanded!.n = row * na;
  }
  const start = info.start;
  return {
    episode,
    robot: start?.robot ?? info.metadata.robot ?? '',
    start,
    observationNames: start?.observationNames ?? [],
    actionNames: start?.actionNames ?? [],
    count: row,
    seq: seq.done(),
    tNs: tNs.done(),
    obs: obs?.done() ?? new Float32Array(0),
    ...(allRaw ? { obsRaw: raw?.done() ?? new Float32Array(0) } : {}),
    actionApplied: applied?.done() ?? new Float32Array(0),
    actionCommanded: commanded?.done() ?? new Float32Array(0),
    flags: flags.done(),
    safety: safety.done(),
    loggedStatus: status.done(),
    loggedTotal: total.done(),
    loggedSegments: segments.map(({ buf, ...s }) => ({ ...s, terms: buf.done() })),
    loggedReasons: reasons,
    wallMs: wall.done(),
    obsTNs: obsT.done(),
  };
}
