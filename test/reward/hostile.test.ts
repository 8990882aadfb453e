import { afterAll, describe, expect, it } from 'vitest';
import { RewardStatus } from '../../src/core/records.js';
import type { RewardRuntime } from '../../src/reward/index.js';
import { program, runtime, step } from './helpers.js';

/**
 * Hostile reward programs, each run for real in the sandbox. Every row says
 * what the step must report and whether the sandbox survives; after the table
 * the host process must be untouched.
 */
type Row = {
  name: string;
  source: string;
  status: number | number[];
  reason?: RegExp;
  /** Expected term `a` when status is ok. */
  a?: number;
  /** Whether the sandbox is still alive after the step (default: true unless timeout/memory). */
  alive?: boolean;
};

const S = RewardStatus;
const rows: Row[] = [
  // Escapes: nothing of the host exists in the sandbox.
  { name: 'process', source: program('return { a: process.pid };'), status: S.threw, reason: /process is not defined/ },
  { name: 'require', source: program("require('node:fs'); return { a: 1 };"), status: S.threw, reason: /require is not defined/ },
  { name: 'Function-constructor escape via obs', source: program("return { a: obs.constructor.constructor('return process')().pid };"), status: S.threw, reason: /code generation from strings is disabled/ },
  { name: 'global Function', source: program("return { a: Function('return 1')() };"), status: S.threw, reason: /Function constructor is not available/ },
  { name: 'async Function constructor', source: program("const AF = (async () => {}).constructor; return { a: AF('return 1') ? 1 : 0 };"), status: S.threw, reason: /code generation/ },
  { name: 'eval', source: program("return { a: eval('1') };"), status: S.threw, reason: /eval is not defined/ },
  { name: 'host globals are absent', source: program("return { a: Object.getOwnPropertyNames(globalThis).filter((n) => /^(process|require|module|Buffer|SharedArrayBuffer|Atomics|WebAssembly|setTimeout|setImmediate|fetch|eval|WeakRef)$/.test(n)).length };"), status: S.ok, a: 0 },
  { name: 'arguments hold only numbers and plain objects (no shared buffers)', source: program("const seen = []; const walk = (v, d) => { if (v === null || typeof v !== 'object' || d > 3) return; seen.push(Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null); for (const k of Object.keys(v)) walk(v[k], d + 1); }; walk(obs, 0); walk(action, 0); walk(ctx, 0); return { a: seen.every(Boolean) && !Object.values(obs).some((x) => typeof x !== 'number') ? 1 : 0 };"), status: S.ok, a: 1 },
  { name: 'SharedArrayBuffer', source: program('return { a: new SharedArrayBuffer(8).byteLength };'), status: S.threw, reason: /SharedArrayBuffer is not defined/ },
  { name: 'Atomics', source: program('return { a: Atomics.load(new Int32Array(1), 0) };'), status: S.threw, reason: /Atomics is not defined/ },
  { name: 'WebAssembly', source: program('return { a: WebAssembly.Module.length };'), status: S.threw, reason: /WebAssembly is not defined/ },
  { name: 'dynamic import smuggled past the compile check', source: program("const F = (() => {}).constructor; return { a: F('return imp' + 'ort(\\'node:fs\\')')() ? 1 : 0 };"), status: S.threw, reason: /code generation/ },
  { name: 'prototype pollution stays inside', source: program("Object.prototype.polluted = 1; Array.prototype.push = null; return { a: Object.getPrototypeOf(obs) === Object.prototype ? 1 : 0 };"), status: S.ok, a: 1 },
  { name: 'index setter on Array.prototype cannot forge failures', source: program("Object.defineProperty(Array.prototype, '3', { set(v) {}, configurable: true }); return null;"), status: S.bad_output, reason: /must return an object of named numeric terms, found null/ },
  { name: 'globals are frozen', source: program('globalThis.rw = null; return { a: 1 };'), status: S.threw, reason: /read.only|Cannot assign/ },
  { name: 'Math is frozen', source: program('Math.atan2 = () => 0; return { a: 1 };'), status: S.threw, reason: /read.only|Cannot assign/ },
  { name: 'Date (non-deterministic)', source: program('return { a: Date.now() };'), status: S.threw, reason: /deterministic/ },
  { name: 'Math.random (non-deterministic)', source: program('return { a: Math.random() };'), status: S.threw, reason: /deterministic/ },
  // Math.random is assigned, not defined, before Math is frozen (prelude.ts): it must stay locked all the same.
  { name: 'Math.random replaced by assignment', source: program('Math.random = () => 0.5; return { a: Math.random() };'), status: S.threw, reason: /read only property 'random'/ },
  { name: 'Math.random redefined', source: program("Object.defineProperty(Math, 'random', { value: () => 0.5 }); return { a: Math.random() };"), status: S.threw, reason: /Cannot redefine property: random/ },
  // Time bombs: the watchdog disposes the sandbox.
  { name: 'infinite loop', source: program('for (;;) {}'), status: S.timeout, reason: /E_REWARD_TIMEOUT: .* at step 0/ },
  { name: 'loop in try/finally', source: program('try { for (;;) {} } finally { for (;;) {} }'), status: S.timeout },
  { name: 'catch-and-retry loop', source: program('for (;;) { try { for (;;) {} } catch (e) { /* keep going */ } }'), status: S.timeout },
  { name: 'microtask flood', source: program('const f = () => Promise.resolve().then(f); f(); return { a: 1 };'), status: S.timeout },
  { name: 'getter that loops', source: program('return { get a() { for (;;) {} } };'), status: S.timeout },
  { name: 'stack bomb with catch-and-recurse', source: program('function f() { try { return f(); } catch (e) { return f(); } } return { a: f() };'), status: S.timeout },
  { name: 'one-step heap bomb', source: program("const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: 'k' + i });"), status: [S.timeout, S.memory] },
  // Stack, allocation and output bombs that fail one step only.
  { name: 'stack bomb', source: program('const f = (n) => f(n + 1) + 1; return { a: f(0) };'), status: S.threw, reason: /Maximum call stack size exceeded/ },
  { name: 'ArrayBuffer bomb', source: program('const k = []; for (;;) k.push(new ArrayBuffer(1e8));'), status: [S.threw, S.timeout], reason: /Array buffer allocation failed|ran past its/ }, // zeroing 100 MB pages can outlast the 22 ms on a slow CI machine
  { name: 'string bomb', source: program("let s = 'x'; for (;;) s += s;"), status: S.threw, reason: /Invalid string length/ },
  { name: 'huge string as a term', source: program("return { a: 'x'.repeat(1e7) };"), status: S.bad_output, reason: /term "a": expected a number, found a string/ },
  { name: 'huge output object (extra keys ignored)', source: program("const r = {}; for (let i = 0; i < 5000; i++) r['k' + i] = i; r.a = 2; return r;"), status: S.ok, a: 2 },
  { name: 'NaN term', source: program('return { a: NaN };'), status: S.non_finite, reason: /term "a" is NaN/ },
  { name: 'Infinity term', source: program('return { a: 1 / 0 };'), status: S.non_finite, reason: /Infinity/ },
  { name: 'string term', source: program("return { a: '1' };"), status: S.bad_output, reason: /found a string/ },
  { name: 'BigInt term', source: program('return { a: 1n };'), status: S.bad_output, reason: /found bigint/ },
  { name: 'missing term', source: program('return { b: 1 };'), status: S.bad_output, reason: /term "a": expected a number, found undefined/ },
  { name: 'async reward', source: program('return (async () => ({ a: 1 }))();'), status: S.bad_output, reason: /term "a"/ },
  { name: 'success returns a number', source: program('return { a: 1 };', 'export function success() { return 1; }'), status: S.bad_output, reason: /success\(\) must return true or false, found number/ },
  { name: 'throws a non-Error with a looping toString', source: program('throw { toString() { for (;;) {} } };'), status: S.threw, reason: /threw an object/ },
];

describe('hostile reward programs', () => {
  const live: RewardRuntime[] = [];
  afterAll(() => live.forEach((r) => r.dispose()));

  it.each(rows)('$name', async (row) => {
    const rt = await runtime(row.source);
    live.push(rt);
    const out = step(rt, 0);
    const expected = Array.isArray(row.status) ? row.status : [row.status];
    expect(expected, `status ${out.status}: ${out.reason}`).toContain(out.status);
    if (row.reason) expect(out.reason).toMatch(row.reason);
    if (out.status === S.ok) {
      expect(out.reason).toBe('');
      if (row.a !== undefined) expect(out.terms[0]).toBe(row.a);
    } else {
      expect(Number.isNaN(out.total)).toBe(true);
      expect(Number.isNaN(out.terms[0])).toBe(true);
      expect(out.reason).toMatch(/^E_REWARD_[A-Z]+: reward "hostile" v[0-9a-f]{12}/);
    }
    const dies = out.status === S.timeout || out.status === S.memory;
    expect(rt.sandboxAlive).toBe(row.alive ?? !dies);
    if (dies) {
      // The rest of the episode has no reward; the next episode gets a fresh sandbox.
      expect(step(rt, 1).status).toBe(S.unavailable);
      rt.beginEpisode({ index: 1, id: 'ep-1' });
      expect(rt.sandboxAlive).toBe(true);
    }
    rt.dispose();
  });

  it('left the host untouched', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof Array.prototype.push).toBe('function');
    expect(typeof process.pid).toBe('number');
    expect(Object.getOwnPropertyDescriptor(Array.prototype, '3')).toBeUndefined();
  });

  it('a program that grows its per-episode state past the limit loses its sandbox with status memory', async () => {
    const rt = await runtime(program('(ctx.state.k ??= []).push(new Array(2e4).fill(obs.range_front + 0.5)); return { a: ctx.state.k.length };'), { memoryMb: 16 });
    let last = step(rt, 0);
    let i = 1;
    for (; i < 5000 && last.status === S.ok; i++) last = step(rt, i, last);
    expect(last.status, last.reason).toBe(S.memory);
    expect(last.reason).toMatch(/E_REWARD_MEMORY: .* 16 MB memory limit at step \d+/);
    expect(rt.sandboxAlive).toBe(false);
    rt.beginEpisode({ index: 1, id: 'ep-1' });
    expect(step(rt, 0).status).toBe(S.ok);
    rt.dispose();
  });

  it('after the watchdog steps down on an idle runtime, the next runaway call is still stopped', async () => {
    const rt = await runtime(program('if (ctx.step === 1) { for (;;) {} } return { a: 1 };'));
    expect(step(rt, 0).status).toBe(S.ok);
    await new Promise((r) => setTimeout(r, 1300)); // > the watchdog's 1 s idle step-down
    expect(step(rt, 1).status).toBe(S.timeout);
    rt.dispose();
  });

  it('a timeout mid-episode: earlier steps kept, later steps unavailable, next episode recovers with fresh state', async () => {
    const rt = await runtime(program('if (ctx.episode.index === 0 && ctx.step === 3) { for (;;) {} } ctx.state.n = (ctx.state.n ?? 0) + 1; return { a: ctx.state.n };'));
    const got = [0, 1, 2, 3, 4].map((i) => {
      const o = step(rt, i);
      return [o.status, o.terms[0]];
    });
    expect(got).toEqual([[S.ok, 1], [S.ok, 2], [S.ok, 3], [S.timeout, NaN], [S.unavailable, NaN]]);
    rt.beginEpisode({ index: 1, id: 'ep-1' });
    expect(rt.rebuilds).toBe(1);
    expect([step(rt, 0).terms[0], step(rt, 1).terms[0]]).toEqual([1, 2]);
    rt.dispose();
  });
});
