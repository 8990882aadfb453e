import { RewarddError } from '../core/errors.js';
import { sha256Hex, shortHash } from '../core/hash.js';
import { RewardStatus } from '../core/records.js';
import { diagnosticsError } from './diagnostics.js';
import { colBlocks, outBase } from './harness.js';
import { MAX_BATCH_REASONS, newRewardBatchOutput, type RewardBatchOutput, type RewardOutput } from './output.js';
import { FailureText } from './reasons.js';
import { Sandbox, SandboxDeath, type SandboxOptions } from './sandbox.js';
import { isTypeScript, jsAsWritten, transpile, type Transpiled } from './transpile.js';
import type { PartialPrompts } from '../vision/manifest.js';

export interface RewardProgramInfo {
  /** shortHash of the source text: what every step record carries. */
  version: string;
  sha256: string;
  name: string;
  goal: string;
  weights: Record<string, number>;
  /** Order of RewardOutput.terms: the key order of meta.weights. */
  termNames: string[];
  ranges?: Record<string, [number, number]>;
  source: string;
  filename: string;
  hasSuccess: boolean;
  hasDone: boolean;
  /** It exports rewardColumns: relabel evaluates it over columns (evaluateColumns; docs/reward-columns.md). */
  hasColumns: boolean;
  /** meta.raw: observations whose raw (uncalibrated) values the program reads as ctx.raw; [] when it asks for none. */
  rawNames: string[];
  /** meta.vision: prompts for the vision encoder while this version is active (docs/vision.md). */
  vision?: PartialPrompts;
}

export interface RewardRuntimeOptions {
  observationNames: readonly string[];
  actionNames: readonly string[];
  /** Time one step may take inside the sandbox, ms; steps past it are counted in stats.overBudget. Default 2. */
  budgetMs?: number;
  /** Extra time past the budget before a step is killed with its sandbox (scheduler noise). Default 20. */
  graceMs?: number;
  /** Sandbox heap limit, MB (min 8). Default 32. */
  memoryMb?: number;
  /** Steps per sandbox call in evaluateBatch (bounds the shared buffer: chunk × (1 + obs + actions + 1 + terms) × 8 bytes). Default 1024. */
  batchChunk?: number;
}

export const REWARD_RUNTIME_DEFAULTS = { budgetMs: 2, graceMs: 20, memoryMb: 32, batchChunk: 1024 } as const;
/** Steps between soft-limit heap checks (isolated-vm's own limit is soft, 2-3x). */
const HEAP_CHECK_EVERY = 256;

/**
 * A loaded reward program, evaluated synchronously once per tick (evaluate)
 * or many steps at a time (evaluateBatch); both run the same in-sandbox code,
 * so the same steps in the same order give bit-identical terms.
 *
 * A step that throws or returns bad values fails alone. A step that runs out
 * of time or memory costs the sandbox: it is disposed, every later step of the
 * episode is `unavailable` (its ctx.state is gone, so values would no longer be
 * replayable), and a fresh sandbox is built at the next beginEpisode.
 */
export class RewardRuntime {
  private sb: Sandbox | null;
  private down = '';
  private step = 0;
  private calls = 0;
  private closed = false;
  private readonly text: FailureText;
  private readonly weights: Float64Array;
  /** Robot-order index of each meta.raw field (empty for programs without meta.raw). */
  private readonly rawIdx: Int32Array;
  /** How many times the sandbox was rebuilt after dying. */
  rebuilds = 0;
  /** Over-budget steps counted by earlier (dead) sandboxes. */
  private overBefore = 0;

  private constructor(
    readonly info: RewardProgramInfo,
    sb: Sandbox,
    private readonly transpiled: Transpiled,
    private readonly opts: SandboxOptions,
  ) {
    this.sb = sb;
    this.weights = Float64Array.from(info.termNames.map((t) => info.weights[t] ?? NaN));
    this.rawIdx = Int32Array.from(info.rawNames.map((n) => opts.observationNames.indexOf(n)));
    this.text = new FailureText(info, transpiled, opts);
  }

  static async create(source: string, filename: string, options: RewardRuntimeOptions): Promise<RewardRuntime> {
    const opts = normaliseOptions(options);
    // JavaScript goes to V8 as written; esbuild parses it only if the sandbox could not load it, so a
    // syntax error still gets esbuild's diagnostic (line, column, the line's text) as before.
    const ts = isTypeScript(filename);
    const t = ts ? transpile(source, filename) : { ok: true as const, out: jsAsWritten(source) };
    if (!t.ok) throw diagnosticsError(t.diagnostics);
    const built = Sandbox.build(t.out, source, filename, opts);
    if (!built.sandbox || !built.meta) {
      const parsed = ts ? t : transpile(source, filename);
      throw diagnosticsError(parsed.ok ? built.diagnostics : parsed.diagnostics);
    }
    const m = built.meta;
    const info: RewardProgramInfo = {
      version: shortHash(source),
      sha256: sha256Hex(source),
      name: m.name,
      goal: m.goal,
      weights: m.weights,
      termNames: m.termNames,
      ...(m.ranges ? { ranges: m.ranges } : {}),
      source,
      filename,
      hasSuccess: m.hasSuccess,
      hasDone: m.hasDone,
      hasColumns: m.hasColumns,
      rawNames: m.rawNames,
      ...(m.vision ? { vision: m.vision } : {}),
    };
    return new RewardRuntime(info, built.sandbox, t.out, opts);
  }

  get budgetMs(): number {
    return this.opts.budgetMs;
  }
  /** False after a timeout or memory failure until the next beginEpisode rebuilds the sandbox. */
  get sandboxAlive(): boolean {
    return this.sb !== null;
  }
  /** Steps that ran past budgetMs but finished inside the grace (their values are kept). */
  get overBudgetSteps(): number {
    return this.overBefore + (this.sb?.overBudget ?? 0);
  }
  get observationCount(): number {
    return this.opts.observationNames.length;
  }
  get actionCount(): number {
    return this.opts.actionNames.length;
  }
  /** Index of the next step in the current episode. */
  get stepIndex(): number {
    return this.step;
  }

  /** Starts an episode: fresh ctx.state, prev = null, step 0; rebuilds a dead sandbox (a few ms). */
  beginEpisode(episode: { index: number; id: string }): void {
    this.step = 0;
    if (this.closed) return;
    if (this.sb === null) {
      const b = Sandbox.build(this.transpiled, this.info.source, this.info.filename, this.opts);
      if (b.sandbox) {
        this.sb = b.sandbox;
        this.down = '';
        this.rebuilds++;
      } else {
        this.down = `E_REWARD_COMPILE: reward "${this.info.name}" v${this.info.version}: rebuilding the sandbox failed: ${b.diagnostics[0]?.message ?? 'unknown'}`;
      }
    }
    try {
      this.sb?.begin(episode.index, episode.id);
    } catch (e) {
      // The sandbox died between episodes (a promise flood left by the last step, say): the
      // episode's steps are then `unavailable` with that reason, as after a death mid-step.
      this.died(e, 0, { status: 0, total: NaN, terms: new Float64Array(this.info.termNames.length), success: false, done: false, reason: '' });
    }
  }

  /**
   * One step. Never throws: failures are reported in `out.status` / `out.reason`.
   * raw is the full raw observation in robot order, float32-rounded
   * (Observation.rawValues); it is read only when the program declares meta.raw,
   * and such a program's step is `unavailable` without it.
   */
  evaluate(obs: ArrayLike<number>, action: ArrayLike<number>, dt: number, out: RewardOutput, raw?: ArrayLike<number> | null): void {
    const step = this.step++;
    const sb = this.sb;
    const nObs = this.opts.observationNames.length;
    const nAct = this.opts.actionNames.length;
    if (sb === null) return this.fail(out, RewardStatus.unavailable, this.closed ? `E_CONFIG: reward runtime "${this.info.name}" was disposed` : this.down);
    if (obs.length !== nObs || action.length !== nAct) {
      return this.fail(out, RewardStatus.unavailable, `E_CONFIG: expected ${nObs} observation and ${nAct} action values, found ${obs.length} and ${action.length}`);
    }
    const io = sb.io;
    io[0] = dt;
    for (let i = 0; i < nObs; i++) io[1 + i] = obs[i] as number;
    for (let j = 0; j < nAct; j++) io[1 + nObs + j] = action[j] as number;
    const ri = this.rawIdx;
    if (ri.length > 0) {
      if (raw == null || raw.length !== nObs) return this.fail(out, RewardStatus.unavailable, this.noRaw(step, raw));
      for (let j = 0; j < ri.length; j++) io[1 + nObs + nAct + j] = raw[ri[j] as number] as number;
    }
    let r: 0 | unknown[];
    try {
      r = sb.run(1);
    } catch (e) {
      return this.died(e, step, out);
    }
    this.decodeOne(io, outBase(sb.layout), r === 0 ? undefined : (r[2] as string), step, out);
    if (++this.calls % HEAP_CHECK_EVERY === 0) this.checkHeap(step, out);
  }

  /**
   * Many consecutive steps of the current episode in few sandbox calls.
   * obs is count × nObs, actions count × nAct (row-major), dt one value or one per step,
   * raw count × nObs (the logged obsRaw column) or absent (an episode recorded without
   * raw values: every step of a program that declares meta.raw is then `unavailable`).
   * Throws E_CONFIG only on mismatched shapes; program failures are per step.
   */
  evaluateBatch(obs: ArrayLike<number>, actions: ArrayLike<number>, dt: number | ArrayLike<number>, out?: RewardBatchOutput, raw?: ArrayLike<number> | null): RewardBatchOutput {
    const nObs = this.opts.observationNames.length;
    const nAct = this.opts.actionNames.length;
    const nT = this.info.termNames.length;
    const count = obs.length / nObs;
    if (!Number.isInteger(count) || actions.length !== count * nAct || (typeof dt !== 'number' && dt.length !== count)) {
      throw new RewarddError('E_CONFIG', `evaluateBatch: expected obs of n×${nObs}, actions of n×${nAct} and dt of n or 1 values, found ${obs.length}, ${actions.length} and ${typeof dt === 'number' ? 1 : dt.length}`);
    }
    if (raw != null && raw.length !== obs.length) throw new RewarddError('E_CONFIG', `evaluateBatch: expected raw of n×${nObs} values like obs (${obs.length}), found ${raw.length}`);
    const ri = this.rawIdx;
    const nRaw = ri.length;
    const o = out ?? newRewardBatchOutput(count, nT);
    if (o.count !== count || o.terms.length !== count * nT) throw new RewarddError('E_CONFIG', `evaluateBatch: output sized for ${o.count} steps, found ${count} steps`);
    o.reasons.clear();
    const one: RewardOutput = { status: 0, total: NaN, terms: new Float64Array(nT), success: false, done: false, reason: '' };
    let i = 0;
    if (nRaw > 0 && raw == null) {
      for (; i < count; i++) this.putBatch(o, i, this.failInto(one, RewardStatus.unavailable, this.noRaw(this.step, raw)), nT), this.step++;
    }
    while (i < count) {
      const sb = this.sb;
      if (sb === null) {
        for (; i < count; i++) this.putBatch(o, i, this.failInto(one, RewardStatus.unavailable, this.down), nT), this.step++;
        break;
      }
      // The block layout (harness.ts): each input is one bulk copy, not a loop over its values.
      const m = Math.min(this.opts.chunk, count - i);
      const io = sb.io;
      const { OBS0, ACT0, RAW0, FLAGS0, TERMS0 } = colBlocks(sb.layout);
      if (typeof dt === 'number') io.fill(dt, 0, m);
      else copyInto(io, 0, dt, i, m);
      copyInto(io, OBS0, obs, i * nObs, m * nObs);
      copyInto(io, ACT0, actions, i * nAct, m * nAct);
      for (let k = 0; k < m; k++) {
        for (let j = 0; j < nRaw; j++) io[RAW0 + k * nRaw + j] = (raw as ArrayLike<number>)[(i + k) * nObs + (ri[j] as number)] as number;
      }
      let r: 0 | unknown[];
      let decoded = m;
      let death: unknown = null;
      try {
        r = sb.run(-m);
      } catch (e) {
        r = 0;
        death = e;
        decoded = e instanceof SandboxDeath ? e.atStep : 0;
      }
      const msgs = r === 0 ? null : messagesByStep(r);
      o.terms.set(io.subarray(TERMS0, TERMS0 + decoded * nT), i * nT);
      for (let k = 0; k < decoded; k++) {
        // Fast path straight into the columns; failures and overflow go through decodeOne.
        const s = i + k;
        if (!this.putOkRow(io[FLAGS0 + k] as number, o, s, nT)) {
          this.decodeOne(io, FLAGS0 + k, msgs?.get(k), this.step, one, TERMS0 + k * nT);
          this.putBatch(o, s, one, nT);
        }
        this.step++;
      }
      i += decoded;
      if (death !== null) {
        this.died(death, this.step++, one);
        this.putBatch(o, i++, one, nT);
      } else if ((this.calls += m) % HEAP_CHECK_EVERY < m) {
        one.status = RewardStatus.ok;
        this.checkHeap(this.step - 1, one);
        if (one.status === RewardStatus.memory) this.putBatch(o, i - 1, one, nT);
      }
    }
    return o;
  }

  /**
   * The same consecutive steps as evaluateBatch, through the program's rewardColumns: one sandbox
   * call per chunk of rows (docs/reward-columns.md). Returns null when every row came back good,
   * with `out` written; otherwise why not (no such export, meta.raw, the program threw or wrote a
   * value that is not finite or not 0/1, the sandbox died), with `out` unspecified. The caller then
   * evaluates the same rows with reward() from the same start (relabel-episode.ts), so every failed
   * step a user sees has the per-step form's status and reason.
   */
  evaluateColumns(obs: ArrayLike<number>, actions: ArrayLike<number>, dt: ArrayLike<number>, out: RewardBatchOutput): string | null {
    if (!this.info.hasColumns) return 'the program exports no rewardColumns';
    if (this.rawIdx.length > 0) return 'it reads raw values (meta.raw), which rewardColumns is not given';
    const nObs = this.opts.observationNames.length;
    const nAct = this.opts.actionNames.length;
    const nT = this.info.termNames.length;
    const count = obs.length / nObs;
    if (!Number.isInteger(count) || actions.length !== count * nAct || dt.length !== count || out.count !== count || out.terms.length !== count * nT) {
      throw new RewarddError('E_CONFIG', `evaluateColumns: expected obs of n×${nObs}, actions of n×${nAct}, dt and output of n, found ${obs.length}, ${actions.length}, ${dt.length} and ${out.count}`);
    }
    out.reasons.clear();
    // Rows as a store keeps them (float32) go in as they are: a memcpy each, widened in the sandbox.
    const f32 = obs instanceof Float32Array && actions instanceof Float32Array;
    for (let i = 0; i < count; ) {
      const sb = this.sb;
      if (sb === null) return this.down || 'the sandbox is gone';
      const m = Math.min(this.opts.chunk, count - i);
      const io = sb.io;
      const { OBS0, ACT0, FLAGS0, TERMS0 } = colBlocks(sb.layout);
      copyInto(io, 0, dt, i, m);
      if (f32) {
        sb.io32.set((obs as Float32Array).subarray(i * nObs, (i + m) * nObs), 2 * OBS0);
        sb.io32.set((actions as Float32Array).subarray(i * nAct, (i + m) * nAct), 2 * ACT0);
      } else {
        copyInto(io, OBS0, obs, i * nObs, m * nObs);
        copyInto(io, ACT0, actions, i * nAct, m * nAct);
      }
      const at = this.step;
      let r: 0 | unknown[];
      try {
        r = sb.run(-m, true, f32);
      } catch (e) {
        const one: RewardOutput = { status: 0, total: NaN, terms: new Float64Array(nT), success: false, done: false, reason: '' };
        this.died(e, at, one);
        return `rewardColumns over steps ${at}-${at + m - 1}: ${one.reason}`;
      }
      if (r !== 0) return `rewardColumns over steps ${at}-${at + m - 1}, at step ${at + Number(r[0])}: ${String(r[2])}`;
      out.terms.set(io.subarray(TERMS0, TERMS0 + m * nT), i * nT);
      // The harness checked every term finite and every flag 0/1; only Σ weight × term can still overflow.
      for (let k = 0; k < m; k++) {
        if (!this.putOkRow(io[FLAGS0 + k] as number, out, i + k, nT)) return `rewardColumns at step ${at + k}: every term is finite but Σ weight×term is not`;
      }
      this.step += m;
      i += m;
      if ((this.calls += m) % HEAP_CHECK_EVERY < m) {
        const one: RewardOutput = { status: RewardStatus.ok, total: NaN, terms: new Float64Array(nT), success: false, done: false, reason: '' };
        this.checkHeap(this.step - 1, one);
        if (one.status === RewardStatus.memory) return `rewardColumns: ${one.reason}`;
      }
    }
    return null;
  }

  /**
   * Row s of a batch whose terms are already in out.terms: written as ok (total, success, done) when
   * the harness's flags say ok and Σ weight × term is finite; otherwise false and the row left alone.
   */
  private putOkRow(flags: number, out: RewardBatchOutput, s: number, nT: number): boolean {
    if (flags < 0) return false;
    const w = this.weights;
    const terms = out.terms;
    let total = 0;
    for (let t = 0; t < nT; t++) total += (w[t] as number) * (terms[s * nT + t] as number);
    if (total - total !== 0) return false;
    out.status[s] = RewardStatus.ok;
    out.total[s] = total;
    out.success[s] = flags & 1;
    out.done[s] = (flags & 2) >> 1;
    return true;
  }

  dispose(): void {
    this.closed = true;
    this.sb?.dispose();
    this.sb = null;
  }

  private noRaw(step: number, raw: ArrayLike<number> | null | undefined): string {
    const what = raw == null ? 'none were given' : `expected ${this.opts.observationNames.length} raw values (the whole observation), found ${raw.length}`;
    return `E_CONFIG: reward "${this.info.name}" v${this.info.version} reads raw values (meta.raw: ${this.info.rawNames.join(', ')}) but ${what} at step ${step} (an episode recorded as rewardd.steps/1 has no raw values)`;
  }

  /** One step's flags at io[ob] and terms from io[termsAt] (rows layout: right after the flags). */
  private decodeOne(io: Float64Array, ob: number, msg: string | undefined, step: number, out: RewardOutput, termsAt = ob + 1): void {
    const flags = io[ob] as number;
    if (flags < 0) {
      this.fail(out, -flags, this.text.failure(-flags, step, msg ?? 'no details (too many failures in one batch)'));
      return;
    }
    const t = out.terms;
    let total = 0;
    for (let i = 0; i < t.length; i++) {
      const v = io[termsAt + i] as number;
      t[i] = v;
      total += (this.weights[i] as number) * v;
    }
    if (total - total !== 0) {
      this.fail(out, RewardStatus.non_finite, this.text.failure(RewardStatus.non_finite, step, `total is ${total}: every term is finite but Σ weight×term is not`));
      return;
    }
    out.status = RewardStatus.ok;
    out.total = total;
    out.success = (flags & 1) !== 0;
    out.done = (flags & 2) !== 0;
    out.reason = '';
  }

  private died(e: unknown, step: number, out: RewardOutput): void {
    this.overBefore += this.sb?.overBudget ?? 0;
    this.sb = null;
    if (!(e instanceof SandboxDeath)) {
      this.down = this.text.unavailable('broken', step);
      return this.fail(out, RewardStatus.threw, this.text.death('broken', step, String((e as Error)?.message ?? e)));
    }
    this.down = this.text.unavailable(e.kind, step);
    const status = e.kind === 'timeout' ? RewardStatus.timeout : e.kind === 'memory' ? RewardStatus.memory : RewardStatus.threw;
    this.fail(out, status, this.text.death(e.kind, step, e.message));
  }

  /** The soft-limit design-around: a heap past the limit costs the sandbox even if V8 has not stopped it yet. */
  private checkHeap(step: number, out: RewardOutput): void {
    const sb = this.sb;
    if (sb === null) return;
    const bytes = sb.heapBytes();
    if (bytes <= this.opts.memoryMb * 1024 * 1024) return;
    sb.dispose();
    this.died(new SandboxDeath('memory', 0, `heap ${(bytes / 1048576).toFixed(1)} MB`), step, out);
  }

  private fail(out: RewardOutput, status: number, reason: string): void {
    this.failInto(out, status, reason);
  }

  private failInto(out: RewardOutput, status: number, reason: string): RewardOutput {
    out.status = status;
    out.total = NaN;
    out.terms.fill(NaN);
    out.success = false;
    out.done = false;
    out.reason = reason;
    return out;
  }

  private putBatch(o: RewardBatchOutput, i: number, one: RewardOutput, nT: number): void {
    o.status[i] = one.status;
    o.total[i] = one.total;
    o.terms.set(one.terms, i * nT);
    o.success[i] = one.success ? 1 : 0;
    o.done[i] = one.done ? 1 : 0;
    if (one.status !== RewardStatus.ok && o.reasons.size < MAX_BATCH_REASONS) o.reasons.set(i, one.reason);
  }
}

/** dst[at..] = src[from..from+n]: one typed-array copy when src is a typed array, else a loop. */
function copyInto(dst: Float64Array, at: number, src: ArrayLike<number>, from: number, n: number): void {
  if (ArrayBuffer.isView(src)) dst.set((src as Float64Array).subarray(from, from + n), at);
  else for (let x = 0; x < n; x++) dst[at + x] = src[from + x] as number;
}

function messagesByStep(r: unknown[]): Map<number, string> {
  const m = new Map<number, string>();
  for (let i = 0; i + 2 < r.length; i += 3) m.set(r[i] as number, String(r[i + 2]));
  return m;
}

function normaliseOptions(o: RewardRuntimeOptions): SandboxOptions {
  const budgetMs = o.budgetMs ?? REWARD_RUNTIME_DEFAULTS.budgetMs;
  const graceMs = o.graceMs ?? REWARD_RUNTIME_DEFAULTS.graceMs;
  const memoryMb = o.memoryMb ?? REWARD_RUNTIME_DEFAULTS.memoryMb;
  const chunk = o.batchChunk ?? REWARD_RUNTIME_DEFAULTS.batchChunk;
  if (!(budgetMs > 0 && budgetMs <= 10_000)) throw new RewarddError('E_CONFIG', `reward budgetMs: expected a number in (0, 10000], found ${budgetMs}`);
  if (!(graceMs >= 0 && graceMs <= 60_000)) throw new RewarddError('E_CONFIG', `reward graceMs: expected a number in [0, 60000], found ${graceMs}`);
  if (!(memoryMb >= 8 && memoryMb <= 4096)) throw new RewarddError('E_CONFIG', `reward memoryMb: expected a number in [8, 4096], found ${memoryMb}`);
  if (!(Number.isInteger(chunk) && chunk >= 1 && chunk <= 65536)) throw new RewarddError('E_CONFIG', `reward batchChunk: expected an integer in [1, 65536], found ${chunk}`);
  for (const [what, names] of [['observation', o.observationNames], ['action', o.actionNames]] as const) {
    if (names.length === 0 || names.some((n) => !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(n))) {
      throw new RewarddError('E_CONFIG', `reward ${what}Names: expected a non-empty list of identifiers, found [${names.join(', ')}]`);
    }
  }
  return { observationNames: [...o.observationNames], actionNames: [...o.actionNames], budgetMs, graceMs, memoryMb, chunk };
}
