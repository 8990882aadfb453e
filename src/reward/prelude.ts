import { STDLIB_OBJECT_EXPR, STDLIB_SOURCE } from './stdlib.js';

/**
 * The first code a fresh sandbox context runs, before the reward program.
 * It installs the stdlib as the frozen global `rw` and then locks the realm:
 *
 *  - removes what is either a channel out or a source of non-determinism:
 *    SharedArrayBuffer, Atomics, WebAssembly, WeakRef, FinalizationRegistry,
 *    eval; replaces Date and Math.random with functions that throw and say why;
 *  - disables code generation from strings (the Function constructors of
 *    plain, async, generator and async generator functions throw);
 *  - freezes globalThis, Math, JSON and Reflect, so a program cannot replace
 *    a global the harness uses or keep hidden state in them. Prototypes stay
 *    writable (freezing them costs 6x per step); the harness never reads
 *    them on a path whose result the host trusts (see harness.ts).
 *
 * It evaluates to `views(ioSab, ctlSab)`, held by the host only, which makes
 * the shared-memory views for the harness with constructors captured here.
 *
 * The isolate is a separate V8 heap, so none of this is what keeps `process`
 * or `require` out (they never exist in it); it narrows what a program can do
 * to "compute numbers from its arguments".
 */
export const PRELUDE_SOURCE = String.raw`(function () {
'use strict';
const g = globalThis;
${STDLIB_SOURCE}
const rw = ${STDLIB_OBJECT_EXPR};
Object.defineProperty(g, 'rw', { value: rw, enumerable: false, writable: false, configurable: false });

function refuse(what, why) {
  return function () { throw new TypeError(what + ' is not available in reward programs: ' + why); };
}
const fnProtos = [
  Function.prototype,
  Object.getPrototypeOf(function* () {}),
  Object.getPrototypeOf(async function () {}),
  Object.getPrototypeOf(async function* () {}),
];
const noCodegen = refuse('the Function constructor', 'code generation from strings is disabled');
for (const p of fnProtos) {
  Object.defineProperty(p, 'constructor', { value: noCodegen, writable: false, enumerable: false, configurable: false });
}
for (const name of ['SharedArrayBuffer', 'Atomics', 'WebAssembly', 'WeakRef', 'FinalizationRegistry', 'eval']) {
  delete g[name];
}
Object.defineProperty(g, 'Function', { value: noCodegen, writable: false, enumerable: false, configurable: false });
const noDate = refuse('Date', 'rewards must be deterministic; use ctx.dt and ctx.step for time');
noDate.now = noDate;
Object.defineProperty(g, 'Date', { value: noDate, writable: false, enumerable: false, configurable: false });
// A plain assignment, made read-only by the freeze below. Object.defineProperty on Math (even with
// the same attributes the freeze gives) left every Math.* call in the isolate ~1.5x slower: TurboFan
// stopped inlining Math.cos, Math.atan2 and the rest (measured: reach-beacon's columnar loop 128 ns a
// step with it, 80 ns without, 77 ns in a bare isolate; docs/sandbox.md).
Math.random = refuse('Math.random', 'rewards must be deterministic (same steps, same terms)');

// Freeze the global object and the namespace objects (so a program can neither
// replace a global the harness relies on nor hide state in Math or JSON), but
// NOT the prototypes: freezing all intrinsics made every step ~6x slower in
// V8 11.3 (measured: 35 ns -> 220 ns per step of a trivial program).
for (const o of [Math, JSON, Reflect, g]) Object.freeze(o);
// The harness's only door to shared memory, built from constructors captured
// before any program code ran; the host holds it, the program never sees it.
// Object.freeze is captured here too (for ctx.raw): Object itself is not frozen,
// so the program's top-level code could replace it before the harness is built.
// Float64Array and Uint8Array themselves for the columnar call's own (unshared) column arrays,
// and a float32 view of io: a columnar call's rows can come as the store keeps them (float32).
const F64 = Float64Array, F32 = Float32Array, I32 = Int32Array, U8 = Uint8Array, freeze = Object.freeze;
return function views(ioSab, ctlSab) { return [new F64(ioSab), new I32(ctlSab), freeze, F64, U8, new F32(ioSab)]; };
})()`;

/** The module a program gets for `import ... from 'rewardd'` (or 'rewardd/stdlib'). */
export const STDLIB_MODULE_SOURCE = `const rw = globalThis.rw;
export default rw;
export const { ${STDLIB_OBJECT_EXPR.slice('Object.freeze({ '.length, -' })'.length)} } = rw;
`;

export const STDLIB_SPECIFIERS: readonly string[] = ['rewardd', 'rewardd/stdlib', '@rewardd/stdlib'];
