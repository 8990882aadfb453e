import { RewardStatus } from '../core/records.js';
import { CTL, colBlocks, type Layout } from './harness.js';

/**
 * The columnar call of the in-sandbox harness (spliced into harnessSource's closure): one call of
 * the program's optional `rewardColumns(obs, action, ctx, out)` over n consecutive steps.
 *
 * The host fills the same block layout as a batch call (dt[k], observations and actions row-major),
 * or (ctl F32) the observations and actions as the float32 rows a store holds, at the same byte
 * offsets through a float32 view: the host's copy is then a plain memcpy instead of a widening
 * loop (25 of 150 ns a relabelled rover step). Either way this code copies each column into a plain Float64Array of the program's own heap (never a view
 * of the shared buffer: the program must not hold shared memory), calls the program once, checks
 * every value it wrote and writes flags and terms back row-major where a batch call puts them, so
 * the host decodes both calls with the same code.
 *
 * What the program gets (docs/reward-columns.md):
 *   obs.<name>, action.<name>  Float64Array(n) columns (the float32 values, widened as in reward()),
 *                              each copied out of the rows when the program first reads it
 *   ctx.n, ctx.step            rows in this call; step index of row 0 in the episode
 *   ctx.dt                     Float64Array(n)
 *   ctx.prev                   the observation before row 0 as an object of numbers, null at step 0;
 *                              row k > 0's previous observation is row k - 1
 *   ctx.episode, ctx.state     as in reward(): state lives for the episode, across calls
 *   out.terms.<term>           Float64Array(n), NaN until written
 *   out.success, out.done      Uint8Array(n) of 0/1, zero until written
 * The arrays are reused by the next call: a program must not keep them.
 *
 * Copies are element loops, not TypedArray.prototype.set: prototypes stay writable in the
 * sandbox (prelude.ts), and a patched `set` called by the harness would be handed the shared
 * buffer. A failed call returns [row, status, message] for its first bad row; the host then
 * evaluates that stretch with reward() (runtime.ts), so failures always come from the per-step form.
 */
export function columnsSource(l: Layout, hasSuccess: boolean, hasDone: boolean): string {
  const c = colBlocks(l);
  const C = l.chunk;
  const nObs = l.observationNames.length;
  const nAct = l.actionNames.length;
  const nT = l.termNames.length;
  const key = (s: string): string => JSON.stringify(s);
  const alloc = (names: readonly string[], ctor: string): string => `{ ${names.map((n) => `${key(n)}: new ${ctor}(len)`).join(', ')} }`;
  const termOut = l.termNames.map((n, t) => `t${t} = cTerms[${key(n)}]`).join(', ');
  const prevLit = l.observationNames.map((n, i) => `${key(n)}: cF32 ? io32[${2 * c.OBS0} + (n - 1) * ${nObs} + ${i}] : io[${c.OBS0} + (n - 1) * ${nObs} + ${i}]`).join(', ');
  const termChecks = l.termNames
    .map(
      (n, t) => `
      v = t${t}[k];
      if (v - v !== 0) return bad(k, ${RewardStatus.non_finite}, 'rewardColumns: out.terms.' + ${key(n)} + '[' + k + '] is ' + v + ' (expected a finite number)');
      io[tb + ${t}] = v;`,
    )
    .join('');
  const flagRead = (arr: string, bit: number, what: string, has: boolean): string =>
    has
      ? `
      v = ${arr}[k];
      if (v === 1) f |= ${bit}; else if (v !== 0) return bad(k, ${RewardStatus.bad_output}, 'rewardColumns: out.${what}[' + k + '] is ' + v + ' (expected 0 or 1)');`
      : '';
  // Observation and action columns are filled on first read (a getter per name): a program reads
  // a column once per call, and most read a few of the robot's fields (reach-beacon: 3 of 12).
  const getters = (names: readonly string[], cols: string): string => names.map((n, i) => `get ${key(n)}() { return colOf(${cols}, ${i}); }`).join(', ');
  return `
  const RC = typeof P.rewardColumns === 'function' ? P.rewardColumns : null;
  let cLen = -1, cN = 0, cF32 = false, cObs = null, cAct = null, cTerms = null, cS = null, cD = null, cDt = null;
  const oFilled = new U8(${Math.max(1, nObs)}), aFilled = new U8(${Math.max(1, nAct)});
  let cPrev = null;
  function colArrays(len) {
    if (len === cLen) return;
    cLen = len;
    cObs = [${l.observationNames.map(() => 'new F64(len)').join(', ')}];
    cAct = [${l.actionNames.map(() => 'new F64(len)').join(', ')}];
    cTerms = ${alloc(l.termNames, 'F64')};
    cS = new U8(len); cD = new U8(len); cDt = new F64(len);
  }
  // Column i of a row-major block (observations at OBS0, actions at ACT0) into arrs[i], once per call.
  // Float32 rows start at the same byte as float64 ones: element base * 2 of the float32 view. Two
  // loops, each reading one kind of array, so neither site sees both.
  function colOf(arrs, filled, base, stride, i) {
    const arr = arrs[i];
    if (filled[i] === 0) {
      filled[i] = 1;
      if (cF32) for (let k = 0, b = base * 2 + i; k < cN; k++, b += stride) arr[k] = io32[b];
      else for (let k = 0, b = base + i; k < cN; k++, b += stride) arr[k] = io[b];
    }
    return arr;
  }
  function bad(k, code, msg) { lastMsg = String(msg).slice(0, 800); return JSON.stringify([k, code, lastMsg]); }
  function runColumns(n) {
    if (RC === null) return bad(0, ${RewardStatus.bad_output}, 'the program exports no rewardColumns');
    if (n > ${C}) return bad(0, ${RewardStatus.bad_output}, 'rewardColumns: ' + n + ' rows in one call, at most ${C}');
    colArrays(n);
    cN = n;
    cF32 = ctl[${CTL.F32}] !== 0;
    for (let i = 0; i < ${nObs}; i++) oFilled[i] = 0;
    for (let j = 0; j < ${nAct}; j++) aFilled[j] = 0;
    const ${termOut};
    for (let k = 0; k < n; k++) {
      cDt[k] = io[k];
      ${l.termNames.map((_, t) => `t${t}[k] = NaN;`).join(' ')}
      cS[k] = 0; cD[k] = 0;
    }
    // Fresh objects each call (a program that replaced a column in them cannot reach the next call).
    const obs = { ${getters(l.observationNames, `cObs, oFilled, ${c.OBS0}, ${nObs}`)} };
    const action = { ${getters(l.actionNames, `cAct, aFilled, ${c.ACT0}, ${nAct}`)} };
    const terms = {};
    ${l.termNames.map((n, t) => `terms[${key(n)}] = t${t};`).join(' ')}
    const cctx = { n: n, step: step, dt: cDt, prev: cPrev, episode: episode, state: state };
    ctl[${CTL.CUR}] = 0;
    ctl[${CTL.SEQ}] = ctl[${CTL.SEQ}] + 1;
    try {
      RC(obs, action, cctx, { terms: terms, success: cS, done: cD });
    } catch (e) {
      return bad(0, ${RewardStatus.threw}, errText(e));
    }
    let v;
    for (let k = 0; k < n; k++) {
      const tb = ${c.TERMS0} + k * ${nT};
      let f = 0;${termChecks}${flagRead('cS', 1, 'success', hasSuccess)}${flagRead('cD', 2, 'done', hasDone)}
      io[${c.FLAGS0} + k] = f;
    }
    // The next call's ctx.prev: this call's last observation as logged, whatever the program did to its columns.
    cPrev = n > 0 ? freeze({ ${prevLit} }) : cPrev;
    step += n;
    return 0;
  }`;
}
