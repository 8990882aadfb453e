/**
 * Hostile reward programs for the isolation suite: each misbehaves from a
 * trigger on, in one of the ways reward code can hurt the process it runs in.
 * `late` programs behave for their first LATE_AFTER evaluations (counted in a
 * module-level variable, so they pass a dry run of the last 1000 logged steps)
 * and misbehave after: what a program that "passes every check" can do later.
 */
export interface HostileProgram {
  name: string;
  /** What it attacks. */
  kind: 'memory' | 'time' | 'stack' | 'output' | 'escape';
  /** Misbehaves only after LATE_AFTER evaluations. */
  late: boolean;
  source: string;
}

/** Evaluations a late program behaves for: more than a dry run of the last 1000 logged steps. */
export const LATE_AFTER = 1500;

function program(name: string, bad: string, late: boolean, extra = ''): string {
  return `// hostile: ${name}
let calls = 0;
export const meta = { name: ${JSON.stringify(name)}, goal: 'misbehave', weights: { a: 1 } };
export function reward(obs, action, ctx) {
  calls++;
  if (${late ? `calls > ${LATE_AFTER}` : 'true'}) {
    ${bad}
  }
  return { a: obs.range_front };
}
${extra}`;
}

const early: Array<[string, HostileProgram['kind'], string]> = [
  ['array-fill', 'memory', 'const a = new Array(2e8).fill(1.5); return { a: a.length };'],
  ['array-push', 'memory', 'const a = []; for (;;) a.push(1.5, 2.5, 3.5);'],
  ['array-of-objects', 'memory', 'const a = []; for (let i = 0; ; i++) a.push({ i, s: "k" + i });'],
  ['typed-array-huge', 'memory', 'return { a: new Float64Array(2 ** 31).length };'],
  ['typed-arrays-many', 'memory', 'const k = []; for (;;) k.push(new Float64Array(1e7));'],
  ['string-doubling', 'memory', 'let s = "x"; for (;;) s += s;'],
  ['string-repeat', 'memory', 'return { a: "ab".repeat(2 ** 28).length };'],
  ['map-growth', 'memory', 'const m = new Map(); for (let i = 0; ; i++) m.set(i, { i });'],
  ['set-growth', 'memory', 'const s = new Set(); for (let i = 0; ; i++) s.add("k" + i);'],
  ['object-keys-growth', 'memory', 'const o = {}; for (let i = 0; ; i++) o["k" + i] = i;'],
  ['json-nesting', 'stack', 'return { a: JSON.parse("[".repeat(1e7) + "]".repeat(1e7)).length };'],
  ['endless-loop', 'time', 'for (;;) {}'],
  ['endless-loop-catching', 'time', 'for (;;) { try { for (;;) {} } catch (e) {} }'],
  ['microtask-flood', 'time', 'const f = () => Promise.resolve().then(f); f(); return { a: 1 };'],
  ['regex-backtracking', 'time', 'return { a: /^(a+)+$/.test("a".repeat(40) + "!") ? 1 : 0 };'],
  ['stack-bomb', 'stack', 'const f = (n) => f(n + 1) + 1; return { a: f(0) };'],
  ['stack-bomb-catch-recurse', 'stack', 'function f() { try { return f(); } catch (e) { return f(); } } return { a: f() };'],
  ['proxy-output-loops', 'output', 'return new Proxy({}, { get() { for (;;) {} } });'],
  ['getter-output-allocates', 'output', 'return { get a() { return new Array(2e8).fill(1).length; } };'],
  ['valueOf-output', 'output', 'return { a: { valueOf() { for (;;) {} } } };'],
  ['prototype-getter-throws', 'output', 'Object.defineProperty(Object.prototype, "a", { get() { throw new Error("trap"); }, configurable: true }); return {};'],
  ['huge-error-message', 'output', 'throw new Error("x".repeat(1e7));'],
  ['reach-process', 'escape', 'return { a: process.pid };'],
  ['reach-function-constructor', 'escape', 'return { a: obs.constructor.constructor("return process")().pid };'],
  ['reach-globalthis', 'escape', 'return { a: Object.getOwnPropertyNames(globalThis).includes("require") ? 1 : Number(globalThis.require("node:fs")) };'],
];

/** The early ones misbehave from their first step; a selection also comes late, after LATE_AFTER good evaluations. */
export const LATE_KINDS = ['array-fill', 'map-growth', 'endless-loop', 'string-repeat', 'microtask-flood'];

export const HOSTILE: HostileProgram[] = [
  ...early.map(([name, kind, bad]) => ({ name, kind, late: false, source: program(name, bad, false) })),
  ...early.filter(([n]) => LATE_KINDS.includes(n)).map(([name, kind, bad]) => ({ name: `late-${name}`, kind, late: true, source: program(`late-${name}`, bad, true) })),
  {
    name: 'state-growth',
    kind: 'memory',
    late: false,
    // Grows a module-level array every step: the slow memory hog a reward check used to take 7-45 s to reject.
    source: `// hostile: state-growth
const keep = [];
export const meta = { name: 'state-growth', goal: 'misbehave', weights: { a: 1 } };
export function reward(obs) { for (let i = 0; i < 20000; i++) keep.push(i * 0.5); return { a: obs.range_front }; }`,
  },
];
