import { RewardStatus } from '../core/records.js';
import { columnsSource } from './columns-harness.js';

/**
 * The in-sandbox harness: reads steps from a shared Float64Array, calls the
 * program, checks its output and writes terms back. Generated per program so
 * that observation, action and term names are literal property accesses
 * (monomorphic and fast) rather than keyed lookups in a loop.
 *
 * Shared memory layout (Float64, `chunk` steps per call), one buffer read two ways:
 *   rows (N > 0: online calls, and batches the host cannot copy in bulk)
 *     inputs  [k*IN + 0] dt, [k*IN + 1 ..] observation, then action, then the
 *             raw values of meta.raw's fields (in meta.raw order; none without meta.raw)
 *     outputs OUT0 + k*OUT: [0] flags (bit 0 success, bit 1 done) or -status, [1..] terms
 *   blocks (N < 0: batches of -N steps; colBlocks() gives the offsets)
 *     dt[k] · obs[OBS0 + k*nObs + i] · action[ACT0 + k*nAct + j] · raw[RAW0 + k*nRaw + j]
 *     · flags[FLAGS0 + k] · terms[TERMS0 + k*nTerms + t]
 *   Blocks let the host fill a chunk with three typed-array copies (memcpy-like)
 *   instead of a loop over every value, and take the terms out with one.
 *   Both layouts run the same generated step code (stepSource), so a step gives
 *   the same bits whichever way it came in.
 * Control words (Int32, shared with the watchdog, never visible to the program):
 *   SEQ incremented per step · BUSY set by the host around a call · STOP ·
 *   CUR index of the step being evaluated · KILLED set by the watchdog ·
 *   OVER count of steps the watchdog saw running past the budget ·
 *   CPU_SEQ / CPU_US thread CPU time sampled during step CPU_SEQ (cpu-clock.ts) ·
 *   N steps to evaluate in this call (set by the host: a call with no
 *   arguments and no transfer options is the cheapest isolated-vm call, ~1.4 µs) ·
 *   ALIVE generation of the running watchdog loop, 0 when it has stepped down ·
 *   COLS rows of a columnar call (rewardColumns, columns-harness.ts) in progress, else 0: the
 *   watchdog gives such a call one step budget per row.
 *   F32 1 when a columnar call's observations and actions are float32 rows (see columns-harness.ts).
 * The buffers live only in this closure; the program gets plain objects.
 * Trust: io and ctl come from the prelude's captured constructors, and all
 * writes to them are typed-array element stores, which no prototype patch can
 * intercept. What a patched prototype CAN touch (failure message text built
 * with String/slice/instanceof) only ever describes the program's own failure.
 */
export const CTL = { SEQ: 0, BUSY: 1, STOP: 2, CUR: 3, KILLED: 4, OVER: 5, CPU_SEQ: 6, CPU_US: 7, N: 8, ALIVE: 9, COLS: 10, F32: 11, WORDS: 16 } as const;

export interface Layout {
  observationNames: readonly string[];
  actionNames: readonly string[];
  termNames: readonly string[];
  /** meta.raw: fields whose raw values follow the action in each input row. */
  rawNames: readonly string[];
  chunk: number;
}

export const inStride = (l: Layout): number => 1 + l.observationNames.length + l.actionNames.length + l.rawNames.length;
export const outStride = (l: Layout): number => 1 + l.termNames.length;
export const outBase = (l: Layout): number => l.chunk * inStride(l);
export const ioLength = (l: Layout): number => outBase(l) + l.chunk * outStride(l);

/** Offsets of the block layout (batch mode) in the same buffer; same total size as the rows layout. */
export function colBlocks(l: Layout): { OBS0: number; ACT0: number; RAW0: number; FLAGS0: number; TERMS0: number } {
  const c = l.chunk;
  const OBS0 = c;
  const ACT0 = OBS0 + c * l.observationNames.length;
  const RAW0 = ACT0 + c * l.actionNames.length;
  const FLAGS0 = RAW0 + c * l.rawNames.length;
  return { OBS0, ACT0, RAW0, FLAGS0, TERMS0: FLAGS0 + c };
}

/** Where one step's values are, as JS expressions over `k` (the step in the chunk). */
interface StepAt {
  /** Statements run first (local offsets). */
  setup: string;
  dt: string;
  obs: (i: number) => string;
  act: (j: number) => string;
  raw: (j: number) => string;
  flags: string;
  term: (t: number) => string;
}

const key = (name: string): string => JSON.stringify(name);

export function harnessSource(l: Layout, hasSuccess: boolean, hasDone: boolean): string {
  const IN = inStride(l);
  const OUT = outStride(l);
  const nObs = l.observationNames.length;
  const rawAt = 1 + nObs + l.actionNames.length;
  const rows: StepAt = {
    setup: `const b = k * ${IN};
    const o = ${outBase(l)} + k * ${OUT};`,
    dt: 'io[b]',
    obs: (i) => `io[b + ${1 + i}]`,
    act: (j) => `io[b + ${1 + nObs + j}]`,
    raw: (j) => `io[b + ${rawAt + j}]`,
    flags: 'io[o]',
    term: (t) => `io[o + ${1 + t}]`,
  };
  const c = colBlocks(l);
  const blocks: StepAt = {
    setup: `const b = ${c.OBS0} + k * ${nObs}, a = ${c.ACT0} + k * ${l.actionNames.length}, t = ${c.TERMS0} + k * ${l.termNames.length}${l.rawNames.length > 0 ? `, w = ${c.RAW0} + k * ${l.rawNames.length}` : ''};`,
    dt: 'io[k]',
    obs: (i) => `io[b + ${i}]`,
    act: (j) => `io[a + ${j}]`,
    raw: (j) => `io[w + ${j}]`,
    flags: `io[${c.FLAGS0} + k]`,
    term: (t) => `io[t + ${t}]`,
  };
  // ctx.raw exists only for programs that declare meta.raw (undefined otherwise), so
  // programs without it keep exactly their old per-step code. It is a fresh frozen
  // object per step: a program may keep it (in ctx.state) without it changing later.
  const hasRaw = l.rawNames.length > 0;
  // ctx.vision: the age and record of the camera frame behind this step's vision fields, for
  // robots whose description declares them (docs/vision.md); read from the logged observation.
  const hasVision = l.observationNames.includes('vision_age_ms') && l.observationNames.includes('vision_seq');
  const ctxLit = `{ dt: 0, step: 0, prev: null, episode: episode, state: state${hasRaw ? ', raw: null' : ''}${hasVision ? ', vision: null' : ''} }`;
  return String.raw`(function (views, ioSab, ctlSab, ns) {
  'use strict';
  const v2 = views(ioSab, ctlSab);
  const io = v2[0], ctl = v2[1], freeze = v2[2], F64 = v2[3], U8 = v2[4], io32 = v2[5];
  const P = (ns.reward === undefined && ns.default !== null && typeof ns.default === 'object') ? ns.default : ns;
  const reward = P.reward, success = P.success, done = P.done;
  let state = {}, prev = null, step = 0, episode = Object.freeze({ index: -1, id: '' });
  function describe(v) {
    if (v === null) return 'null';
    if (v === undefined) return 'undefined';
    if (typeof v === 'string') return 'a string';
    if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
    return typeof v;
  }
  function errText(e) {
    try {
      if (e instanceof Error) { const s = e.stack; return String(typeof s === 'string' ? s : e.message).slice(0, 800); }
      return 'threw ' + describe(e) + (typeof e === 'string' ? ': ' + e.slice(0, 200) : '');
    } catch (e2) { return 'threw a value that cannot be described'; }
  }
  // One ctx object per episode (fields refreshed every step): saves an allocation per
  // step, and anything a program hangs on it still starts fresh with the episode.
  let ctx = ${ctxLit};
  function begin(index, id) {
    state = {}; prev = null; step = 0; episode = Object.freeze({ index: index, id: id });
    ctx = ${ctxLit};
    cPrev = null;
  }
  // One step as its own function (not the body of run's loop): it is then optimised as
  // a normal call, the same code for online (n = 1) and batch calls, instead of through
  // on-stack replacement of a long loop, which measured bimodal (1.9x vs 6x) across runs.
  let lastMsg = '';${stepSource('one', rows, l, hasSuccess, hasDone)}${stepSource('oneCol', blocks, l, hasSuccess, hasDone)}${columnsSource(l, hasSuccess, hasDone)}
  function run() {
    const n = ctl[${CTL.N}];
    if (ctl[${CTL.COLS}] !== 0) return runColumns(-n);
    if (n < 0) return runCols(-n);
    let fails = 0, nFails = 0;
    for (let k = 0; k < n; k++) {
      const code = one(k);
      if (code !== 0) {
        if (fails === 0) { fails = [k, code, lastMsg]; nFails = 1; }
        else if (nFails < 32) { fails[nFails * 3] = k; fails[nFails * 3 + 1] = code; fails[nFails * 3 + 2] = lastMsg; nFails++; }
      }
    }
    return fails === 0 ? 0 : JSON.stringify(fails);
  }
  // The same loop over the block layout (a separate function, so each loop keeps one
  // monomorphic step function and online calls never see the batch code).
  function runCols(n) {
    let fails = 0, nFails = 0;
    for (let k = 0; k < n; k++) {
      const code = oneCol(k);
      if (code !== 0) {
        if (fails === 0) { fails = [k, code, lastMsg]; nFails = 1; }
        else if (nFails < 32) { fails[nFails * 3] = k; fails[nFails * 3 + 1] = code; fails[nFails * 3 + 2] = lastMsg; nFails++; }
      }
    }
    return fails === 0 ? 0 : JSON.stringify(fails);
  }
  return { begin: begin, run: run };
})`;
}

/**
 * One step as a function of the harness: reads the step's values where `at` says,
 * calls the program, checks what it returned and writes flags and terms back.
 * Online and batch steps are this same text with other offsets.
 */
function stepSource(name: string, at: StepAt, l: Layout, hasSuccess: boolean, hasDone: boolean): string {
  const obsLit = l.observationNames.map((n, i) => `${key(n)}: ${at.obs(i)}`).join(', ');
  const actLit = l.actionNames.map((n, j) => `${key(n)}: ${at.act(j)}`).join(', ');
  const rawLit = l.rawNames.map((n, j) => `${key(n)}: ${at.raw(j)}`).join(', ');
  const hasRaw = l.rawNames.length > 0;
  const ageAt = l.observationNames.indexOf('vision_age_ms');
  const seqAt = l.observationNames.indexOf('vision_seq');
  const termChecks = l.termNames
    .map(
      (n, i) => `
        v = r[${key(n)}];
        if (typeof v !== 'number') { code = ${RewardStatus.bad_output}; msg = 'term ' + ${key(JSON.stringify(n))} + ': expected a number, found ' + describe(v); break check; }
        if (v - v !== 0) { code = ${RewardStatus.non_finite}; msg = 'term ' + ${key(JSON.stringify(n))} + ' is ' + v + ' (expected a finite number)'; break check; }
        ${at.term(i)} = v;`,
    )
    .join('');
  const flagCall = (fn: string, bit: number): string => `
        if (code === 0) {
          const f = ${fn}(obs, ctx);
          if (f === true) flags |= ${bit};
          else if (f !== false) { code = ${RewardStatus.bad_output}; msg = '${fn}() must return true or false, found ' + describe(f); }
        }`;
  return `
  function ${name}(k) {
    ctl[${CTL.CUR}] = k;
    ctl[${CTL.SEQ}] = ctl[${CTL.SEQ}] + 1;
    ${at.setup}
    const obs = { ${obsLit} };
    const action = { ${actLit} };
    ctx.dt = ${at.dt}; ctx.step = step; ctx.prev = prev; ctx.episode = episode; ctx.state = state;${hasRaw ? `
    ctx.raw = freeze({ ${rawLit} });` : ''}${ageAt >= 0 && seqAt >= 0 ? `
    ctx.vision = freeze({ age_ms: ${at.obs(ageAt)}, seq: ${at.obs(seqAt)} });` : ''}
    let code = 0, msg = '', flags = 0, v;
    try {
      const r = reward(obs, action, ctx);
      check: {
        if (r === null || typeof r !== 'object') { code = ${RewardStatus.bad_output}; msg = 'reward() must return an object of named numeric terms, found ' + describe(r); break check; }
        ${termChecks}
      }${hasSuccess ? flagCall('success', 1) : ''}${hasDone ? flagCall('done', 2) : ''}
    } catch (e) {
      code = ${RewardStatus.threw}; msg = errText(e);
    }
    prev = obs;
    step++;
    if (code === 0) { ${at.flags} = flags; return 0; }
    ${at.flags} = -code;
    lastMsg = msg;
    return code;
  }`;
}
