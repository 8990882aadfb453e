import { compareForms } from './columns-check.js';
import { RewardStatus } from '../core/records.js';
import { observationNames, actionNames, type RobotDescription } from '../core/robot.js';
import { diagnosticsOf, locate, type Diagnostic } from './diagnostics.js';
import { newRewardBatchOutput, newRewardOutput, type RewardBatchOutput } from './output.js';
import { buildProbes, formatStep, PROBE_DT_S, type Probe } from './probes.js';
import { RewardRuntime, type RewardProgramInfo } from './runtime.js';
import { checkFieldNames } from './static-check.js';

/**
 * `rewardd reward check`: everything that can be known about a reward program
 * before it touches a robot. Compile and export errors come back as
 * diagnostics (never thrown); probe failures name the probe, the step's
 * observation and the program's own line.
 */
export interface CheckOptions {
  source: string;
  filename: string;
  robot: RobotDescription;
  budgetMs?: number;
  memoryMb?: number;
  /** Steps of the "typical" random-walk probe. Default 1000. */
  typicalSteps?: number;
  /** Logged episodes to dry-run (each evaluated as one episode from its first step). */
  episodes?: { id: string; obs: Float32Array; actions: Float32Array; dt: number | Float64Array; /** logged obsRaw; absent for episodes logged without it */ raw?: Float32Array }[];
}

export interface TermStats {
  name: string;
  weight: number;
  min: number;
  max: number;
  mean: number;
  declared?: [number, number];
}

export interface ProbeResult {
  name: string;
  steps: number;
  failed: number;
}

export interface CheckReport {
  ok: boolean;
  file: string;
  info?: RewardProgramInfo;
  diagnostics: Diagnostic[];
  probes: ProbeResult[];
  terms: TermStats[];
  timing?: { batchUsPerStep: number; onlineUsPerStep: number; onlineP99Us: number; budgetMs: number; columnsUsPerStep?: number };
  elapsedMs: number;
}

/** Statuses after which a program's sandbox is gone: the check stops probing at the first one. */
const FATAL = new Set<number>([RewardStatus.timeout, RewardStatus.memory, RewardStatus.crashed]);
/**
 * Steps per sandbox call while probing, at most: chunks grow 1, 2, 4... up to this, and a probe
 * stops at the first chunk with a failure, so a program that fails from its first step costs one
 * step per probe (a failing allocation can cost a full GC each).
 */
const PROBE_CHUNK = 256;

/**
 * The check itself, run in the calling process. Untrusted code must not run in
 * a process that matters: callers use checkRewardProgram (check-isolated.ts),
 * which runs this inside a disposable reward host process.
 */
export async function checkRewardProgramHere(o: CheckOptions): Promise<CheckReport> {
  const t0 = performance.now();
  const file = o.filename;
  const obsNames = observationNames(o.robot);
  const actNames = actionNames(o.robot);
  const report: CheckReport = { ok: false, file, diagnostics: [], probes: [], terms: [], elapsedMs: 0 };
  const done = (): CheckReport => {
    report.ok = !report.diagnostics.some((d) => d.severity === 'error');
    report.elapsedMs = performance.now() - t0;
    return report;
  };
  report.diagnostics.push(...checkFieldNames(o.source, file, obsNames, actNames));
  let rt: RewardRuntime;
  try {
    rt = await RewardRuntime.create(o.source, file, {
      observationNames: obsNames,
      actionNames: actNames,
      ...(o.budgetMs !== undefined ? { budgetMs: o.budgetMs } : {}),
      ...(o.memoryMb !== undefined ? { memoryMb: o.memoryMb } : {}),
    });
  } catch (e) {
    const diags = diagnosticsOf(e);
    if (!diags) throw e;
    report.diagnostics.push(...diags);
    return done();
  }
  try {
    report.info = rt.info;
    const nT = rt.info.termNames.length;
    const sums = new Float64Array(nT);
    const mins = new Float64Array(nT).fill(Infinity);
    const maxs = new Float64Array(nT).fill(-Infinity);
    let okSteps = 0;
    const probes = buildProbes(o.robot, o.typicalSteps ?? 1000);
    const runs: { name: string; obs: Float32Array; raw: Float32Array | null; actions: Float32Array; dt: number | Float64Array; describe: (i: number) => string }[] = [
      ...probes.map((p: Probe) => ({ name: `${p.name} probe`, obs: p.obs, raw: p.raw, actions: p.actions, dt: PROBE_DT_S, describe: p.describe })),
      ...(o.episodes ?? []).map((e) => ({ name: `episode ${e.id}`, obs: e.obs, raw: e.raw ?? null, actions: e.actions, dt: e.dt, describe: (i: number) => `logged step ${i}` })),
    ];
    let episodeIndex = 0;
    let fatal = false;
    const nO = obsNames.length;
    const nA = actNames.length;
    for (const run of runs) {
      if (fatal) break;
      rt.beginEpisode({ index: episodeIndex++, id: `check-${run.name}` });
      const total = run.obs.length / nO;
      let failed = 0;
      let done = 0;
      // In growing chunks, so a probe stops at its first failing chunk: one failure per probe is what
      // the report shows, and a program that fails slowly (a stack bomb per step) must not cost seconds.
      for (let from = 0, size = 1; from < total && failed === 0; from += size, size = Math.min(PROBE_CHUNK, size * 2)) {
        const to = Math.min(total, from + size);
        const dt = typeof run.dt === 'number' ? run.dt : run.dt.subarray(from, to);
        const b: RewardBatchOutput = rt.evaluateBatch(run.obs.subarray(from * nO, to * nO), run.actions.subarray(from * nA, to * nA), dt, undefined, run.raw?.subarray(from * nO, to * nO) ?? null);
        for (let i = 0; i < b.count; i++) {
          done++;
          if (b.status[i] !== RewardStatus.ok) {
            if (failed++ === 0) report.diagnostics.push(probeFailure(b, i, from, run, rt, obsNames, file, o.source));
            // Fail fast: once the sandbox is gone, every later step only says so again.
            if (FATAL.has(b.status[i] as number)) fatal = true;
            break;
          }
          okSteps++;
          for (let t = 0; t < nT; t++) {
            const v = b.terms[i * nT + t] as number;
            sums[t] = (sums[t] as number) + v;
            if (v < (mins[t] as number)) mins[t] = v;
            if (v > (maxs[t] as number)) maxs[t] = v;
          }
        }
      }
      report.probes.push({ name: run.name, steps: done, failed });
    }
    rt.info.termNames.forEach((name, t) => {
      const declared = rt.info.ranges?.[name];
      const s: TermStats = { name, weight: rt.info.weights[name] ?? NaN, min: mins[t] as number, max: maxs[t] as number, mean: okSteps > 0 ? (sums[t] as number) / okSteps : NaN, ...(declared ? { declared } : {}) };
      report.terms.push(s);
      if (okSteps > 1 && s.min === s.max) {
        const at = locate(o.source, new RegExp(`\\b${name}\\b\\s*:`));
        report.diagnostics.push({ severity: 'warning', code: 'W_CONSTANT_TERM', file, line: at.line, column: at.column, lineText: at.lineText, message: `term "${name}" was ${s.min} on every one of ${okSteps} probe steps: it cannot shape behaviour (check which observations it reads)` });
      }
      if (declared && okSteps > 0 && (s.min < declared[0] || s.max > declared[1])) {
        const at = locate(o.source, /\branges\b/);
        report.diagnostics.push({ severity: 'warning', code: 'W_TERM_RANGE', file, line: at.line, column: at.column, lineText: at.lineText, message: `term "${name}" ranged over [${fmt(s.min)}, ${fmt(s.max)}] on the probes, outside its declared range [${declared[0]}, ${declared[1]}]` });
      }
    });
    // Timing a program that fails says nothing (and a failing step can cost ms: a GC per refused
    // allocation), so only a program that passed every probe is timed.
    if (fatal || report.probes.some((p) => p.failed > 0)) return done();
    // rewardColumns must be the same reward as reward(): compared bit for bit on every probe step.
    if (rt.info.hasColumns) {
      const d = checkColumns(rt, runs, nO, file, o.source);
      if (d) {
        report.diagnostics.push(d);
        return done();
      }
    }
    const timed = probes[2] ?? probes[0]!;
    report.timing = measureTiming(rt, timed, obsNames.length, actNames.length, (b, i, what) => {
      // The timing runs are probes too: a program that turns bad after its first thousand steps shows it here.
      report.diagnostics.push(probeFailure(b, i, 0, { name: what, obs: timed.obs, describe: timed.describe }, rt, obsNames, file, o.source));
    });
    if (report.diagnostics.some((d) => d.severity === 'error')) return done();
    if (report.timing.onlineP99Us > rt.budgetMs * 1000) {
      report.diagnostics.push({ severity: 'warning', code: 'W_SLOW', file, line: 0, column: 0, message: `p99 time per step online is ${fmt(report.timing.onlineP99Us)} µs, over the ${rt.budgetMs} ms budget` });
    }
  } finally {
    rt.dispose();
  }
  return done();
}

/**
 * Every probe through reward() and through rewardColumns (compareForms): the first difference, or a
 * columnar call that fails where reward() did not, is an E_REWARD_COLUMNS error at the export.
 */
function checkColumns(rt: RewardRuntime, runs: ReadonlyArray<{ name: string; obs: Float32Array; raw: Float32Array | null; actions: Float32Array; dt: number | Float64Array; describe: (i: number) => string }>, nO: number, file: string, source: string): Diagnostic | null {
  const at = locate(source, /\bexport\s+(?:function\s+|const\s+|let\s+|var\s+)rewardColumns\b/);
  let index = 2_000_000;
  for (const run of runs) {
    const n = run.obs.length / nO;
    const dt = typeof run.dt === 'number' ? new Float64Array(n).fill(run.dt) : run.dt;
    const d = compareForms(rt, run.obs, run.actions, dt, run.raw, { index: index++, id: `check-columns-${run.name}` });
    if (d) {
      const where = d.step === null ? run.name : `${run.name}, ${run.describe(d.step)}`;
      return { severity: 'error', code: 'E_REWARD_COLUMNS', file, line: at.line, column: at.column, lineText: at.lineText, message: `${where}: ${d.message}` };
    }
  }
  return null;
}

function probeFailure(b: RewardBatchOutput, i: number, from: number, run: { name: string; obs: Float32Array; describe: (i: number) => string }, rt: RewardRuntime, obsNames: readonly string[], file: string, source: string): Diagnostic {
  const reason = b.reasons.get(i) ?? `status ${b.status[i]}`;
  const code = (/^(E_[A-Z_]+):/.exec(reason)?.[1] ?? 'E_REWARD_OUTPUT') as Diagnostic['code'];
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${esc}:(\\d+):(\\d+)`).exec(reason);
  const line = m ? Number(m[1]) : 0;
  const detail = reason.replace(/^E_[A-Z_]+: reward "[^"]*" v[0-9a-f]+ /, '');
  return {
    severity: 'error',
    code,
    file,
    line,
    column: m ? Number(m[2]) : 0,
    ...(line > 0 ? { lineText: source.split('\n')[line - 1] ?? '' } : {}),
    message: `${run.name}, ${run.describe(from + i)}: ${detail}; expected finite numbers for every term of meta.weights (${rt.info.termNames.join(', ')}); observation: ${formatStep(obsNames, run.obs, (from + i) * obsNames.length)}`,
  };
}

function measureTiming(rt: RewardRuntime, p: Probe, nO: number, nA: number, failed: (b: RewardBatchOutput, i: number, what: string) => void): NonNullable<CheckReport['timing']> {
  const n = Math.min(1000, p.obs.length / nO);
  rt.beginEpisode({ index: 1_000_000, id: 'check-timing' });
  const t0 = performance.now();
  const b = rt.evaluateBatch(p.obs.subarray(0, n * nO), p.actions.subarray(0, n * nA), PROBE_DT_S, undefined, p.raw.subarray(0, n * nO));
  const batchUs = ((performance.now() - t0) * 1000) / n;
  const bad = b.status.findIndex((st) => st !== RewardStatus.ok);
  if (bad >= 0) failed(b, bad, 'timing run (batch)');
  rt.beginEpisode({ index: 1_000_001, id: 'check-timing-online' });
  const out = newRewardOutput(rt.info.termNames.length);
  const per = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    rt.evaluate(p.obs.subarray(i * nO, (i + 1) * nO), p.actions.subarray(i * nA, (i + 1) * nA), PROBE_DT_S, out, p.raw.subarray(i * nO, (i + 1) * nO));
    per[i] = (performance.now() - s) * 1000;
    if (out.status !== RewardStatus.ok && bad < 0) {
      const one = newRewardBatchOutput(1, rt.info.termNames.length);
      one.status[0] = out.status;
      one.reasons.set(0, out.reason);
      failed(one, 0, `timing run (online), step ${i}`);
      break;
    }
  }
  const sorted = Float64Array.from(per).sort();
  const mean = per.reduce((a, b) => a + b, 0) / n;
  let columnsUs: number | undefined;
  if (rt.info.hasColumns && rt.info.rawNames.length === 0) {
    rt.beginEpisode({ index: 1_000_002, id: 'check-timing-columns' });
    const dt = new Float64Array(n).fill(PROBE_DT_S);
    const c = newRewardBatchOutput(n, rt.info.termNames.length);
    const t1 = performance.now();
    if (rt.evaluateColumns(p.obs.subarray(0, n * nO), p.actions.subarray(0, n * nA), dt, c) === null) columnsUs = ((performance.now() - t1) * 1000) / n;
  }
  return { batchUsPerStep: batchUs, onlineUsPerStep: mean, onlineP99Us: sorted[Math.floor(n * 0.99)] ?? NaN, budgetMs: rt.budgetMs, ...(columnsUs !== undefined ? { columnsUsPerStep: columnsUs } : {}) };
}

const fmt = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v));
