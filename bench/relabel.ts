/**
 * Relabel throughput, all in one run (docs/relabel.md has the figures):
 *  - the evaluation alone: rewards/reach-beacon.reward.js in batch mode in the
 *    sandbox over in-memory rover steps, against the same program as a direct
 *    JS loop on the host (same data, same run);
 *  - `rewardd relabel` end to end (relabelStore: worker processes started,
 *    store opened, episodes read, evaluated, results written and indexed) at
 *    --jobs 1 and --jobs 2, on a store of >= 1 M steps this bench writes with
 *    the recorder's own code, and once from the MCAP files alone (a store
 *    without columns files: the first relabel makes them);
 *  - the numpy peer: the store exported to .npz, the same reward vectorised in
 *    numpy (bench/relabel_peer.py), np.load + compute, when python3 and numpy
 *    are there.
 *
 *   npm run bench -- relabel          (RELABEL_BENCH_STEPS=N sets the store size)
 */
import { execFileSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/core/version.js';
import { grouped } from '../src/core/grouped.js';
import { shortHash } from '../src/core/hash.js';
import { hostStdlib, STDLIB_NAMES } from '../src/reward/index.js';
import { EpisodeJobRunner } from '../src/relabel/episode-job.js';
import { exportEpisodes } from '../src/relabel/export.js';
import { BufferPool } from '../src/relabel/buffer-pool.js';
import { parseEpisodeFilter, selectEpisodes } from '../src/relabel/episode-filter.js';
import { dtColumn, emptyResult, episodeTickHz } from '../src/relabel/relabel-episode.js';
import { writeRelabelResultFile } from '../src/relabel/result-file.js';
import { loadStoredEpisode } from '../src/relabel/stored-episode.js';
import { relabelStore } from '../src/relabel/relabel.js';
import type { EpisodeSteps } from '../src/relabel/episode-columns.js';
import { makeBenchStore, roverEpisode, OBS, TERMS } from './relabel-store.js';
import { table } from './stats.js';

const EPISODE_STEPS = 32_768;
const STORE_STEPS = Number(process.env.RELABEL_BENCH_STEPS ?? 2 * 1_048_576);
const EVAL_EPISODES = 8;
const REPS = 5;
const E2E_REPS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The same reward file as a plain host function: the baseline a researcher would write. */
function hostProgram(source: string): { weights: Record<string, number>; reward: (o: object, a: object, c: object) => Record<string, number>; success?: (o: object, c: object) => boolean; done?: (o: object, c: object) => boolean } {
  const body = source.replace(/^\s*import\s+[^;]+;\s*$/gm, '').replace(/^export\s+/gm, '');
  const lib = hostStdlib() as Record<string, unknown>;
  const names = STDLIB_NAMES.filter((n) => n in lib);
  const make = new Function(...names, `${body}\nreturn { meta, reward, success: typeof success === 'function' ? success : undefined, done: typeof done === 'function' ? done : undefined };`) as (...a: unknown[]) => { meta: { weights: Record<string, number> }; reward: never; success: never; done: never };
  const p = make(...names.map((n) => lib[n]));
  return { weights: p.meta.weights, reward: p.reward, success: p.success, done: p.done };
}

/**
 * The direct JS loop: the same program called on the host, unsandboxed, with its observation
 * and action built as object literals with the names as literal keys (generated, like the
 * sandbox's harness), one ctx per episode, and the total summed in term order (the same
 * bits as the sandbox). What a researcher's own tight loop over the columns would cost.
 */
type DirectKernel = (obs: Float32Array, act: Float32Array, dt: Float64Array, n: number, id: string, out: Float64Array, flags: Uint8Array, terms?: Float64Array) => number;
function directKernel(p: ReturnType<typeof hostProgram>): DirectKernel {
  const w = TERMS.map((t) => p.weights[t] ?? 0);
  const no = OBS.length;
  const obsLit = OBS.map((n, i) => `${JSON.stringify(n)}: obs[b + ${i}]`).join(', ');
  const make = new Function('reward', 'success', 'done', `return function run(obs, act, dt, n, id, out, flags, terms) {
    let prev = null, ok = 0;
    const state = {};
    const ctx = { dt: 0, step: 0, prev: null, episode: { index: 0, id: id }, state: state };
    for (let k = 0; k < n; k++) {
      const b = k * ${no};
      const o = { ${obsLit} };
      const action = { wheel_left: act[2 * k], wheel_right: act[2 * k + 1] };
      ctx.dt = dt[k]; ctx.step = k; ctx.prev = prev;
      const r = reward(o, action, ctx);
      let total = 0;
      ${TERMS.map((t, i) => `total += ${w[i]} * r[${JSON.stringify(t)}];`).join(' ')}
      if (terms !== undefined) { ${TERMS.map((t, i) => `terms[k * ${TERMS.length} + ${i}] = r[${JSON.stringify(t)}];`).join(' ')} }
      out[k] = total;
      flags[k] = (success !== undefined && success(o, ctx) ? 1 : 0) | (done !== undefined && done(o, ctx) ? 2 : 0);
      if (total - total === 0) ok++;
      prev = o;
    }
    return ok;
  };`) as (r: unknown, s: unknown, d: unknown) => DirectKernel;
  return make(p.reward, p.success, p.done);
}

/**
 * The limit of per-step JavaScript on this store, in this process: every episode's columns
 * file read (the same reader, pooled buffers), dt computed, the program run by the direct
 * loop (no sandbox, no worker), and the result file written (same format). Seconds.
 */
const directCpuS: number[] = [];
async function directEndToEnd(dir: string, source: string): Promise<number> {
  const run = directKernel(hostProgram(source));
  const pool = new BufferPool();
  const t = performance.now();
  const c0 = process.cpuUsage();
  const eps = selectEpisodes(dir, parseEpisodeFilter(undefined));
  const out = mkdtempSync(join(tmpdir(), 'rewardd-bench-direct-'));
  try {
    for (const s of eps) {
      const { ep } = await loadStoredEpisode(s.file, 'steps', { raw: false, writeColumns: false, arrays: pool });
      const n = ep.count;
      const dt = dtColumn(ep.tNs, episodeTickHz(ep), pool.f64('dt', n));
      const r = emptyResult(ep.episode, shortHash(source), TERMS, n, pool, '', true);
      run(ep.obs, ep.actionApplied, dt, n, ep.episode, r.total, r.success, r.terms);
      r.status.fill(0);
      for (let i = 0; i < n; i++) {
        const f = r.success[i]!;
        r.success[i] = f & 1;
        r.done[i] = f >> 1;
      }
      writeRelabelResultFile(join(out, `${ep.episode}.rwr`), r, ep.seq);
    }
    const c = process.cpuUsage(c0);
    directCpuS.push((c.user + c.system) / 1e6);
    return (performance.now() - t) / 1000;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** CPU seconds of this process's finished (reaped) children: /proc/self/stat cutime + cstime. */
function childCpuS(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

async function evaluationAlone(source: string): Promise<Array<Record<string, string | number>>> {
  const eps = Array.from({ length: EVAL_EPISODES }, (_, i) => roverEpisode(i, EPISODE_STEPS));
  const steps = EVAL_EPISODES * EPISODE_STEPS;
  const dts = eps.map((e) => dtColumn(e.tNs, 100));
  // Pooled buffers, as in a relabel worker: fresh result arrays per episode would time page faults.
  const runner = new EpisodeJobRunner([{ source, filename: 'reach-beacon.reward.js' }], {}, new BufferPool());
  const direct = directKernel(hostProgram(source));
  const outs = eps.map((e) => new Float64Array(e.count));
  const flags = new Uint8Array(EPISODE_STEPS);
  const batchS: number[] = [];
  const colsS: number[] = [];
  const colsCpu: number[] = [];
  const directS: number[] = [];
  // CPU time too: on a shared machine wall time says more about the neighbours than about the code.
  const batchCpu: number[] = [];
  const directCpu: number[] = [];
  const cpuS = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  let check = 0;
  for (let r = -1; r < REPS; r++) {
    // r = -1 is a warm-up (JIT on both sides), not counted.
    let t = performance.now();
    let c = cpuS();
    for (const ep of eps) await runner.evaluate(ep, { verify: false, keepColumns: false, tickHz: 100, perStep: true });
    if (r >= 0) batchS.push((performance.now() - t) / 1000), batchCpu.push(cpuS() - c);
    t = performance.now();
    c = cpuS();
    for (const ep of eps) await runner.evaluate(ep, { verify: false, keepColumns: false, tickHz: 100 });
    if (r >= 0) colsS.push((performance.now() - t) / 1000), colsCpu.push(cpuS() - c);
    t = performance.now();
    c = cpuS();
    for (let i = 0; i < eps.length; i++) check += direct(eps[i]!.obs, eps[i]!.actionApplied, dts[i]!, eps[i]!.count, eps[i]!.episode, outs[i]!, flags);
    if (r >= 0) directS.push((performance.now() - t) / 1000), directCpu.push(cpuS() - c);
  }
  const oneOut = (await runner.evaluate(eps[0]!, { verify: false, keepColumns: true, tickHz: 100 })).programs[0]!;
  const one = oneOut.result!;
  const same = one.total.every((v, i) => Object.is(v, outs[0]![i]));
  if (oneOut.form.columnRows !== eps[0]!.count) throw new Error(`bench relabel: expected rewardColumns to compute every step, found ${JSON.stringify(oneOut.form)}`);
  runner.dispose();
  console.log(`evaluation alone, ${grouped(steps)} steps: sandbox per step reps (s) ${batchS.map((x) => x.toFixed(3)).join(' ')}; rewardColumns reps (s) ${colsS.map((x) => x.toFixed(3)).join(' ')}; direct loop reps (s) ${directS.map((x) => x.toFixed(3)).join(' ')}; rewardColumns totals identical to the direct loop: ${same} (check ${check})`);
  if (!same) throw new Error('bench relabel: rewardColumns and the direct loop of reward() differ');
  const b = median(batchS);
  const cs = median(colsS);
  const d = median(directS);
  return [
    { measure: 'evaluation alone: direct JS loop (host, unsandboxed)', steps, 'median s': d, 'M steps/s per core': steps / d / 1e6, note: `baseline of the next row; CPU ${(median(directCpu) / steps * 1e9).toFixed(0)} ns/step` },
    { measure: 'evaluation alone: reward() per step, batch mode in the sandbox (--per-step)', steps, 'median s': b, 'M steps/s per core': steps / b / 1e6, note: `${(b / d).toFixed(2)}x the direct loop's time; CPU ${(median(batchCpu) / steps * 1e9).toFixed(0)} ns/step (${(median(batchCpu) / median(directCpu)).toFixed(2)}x)` },
    { measure: 'evaluation alone: rewardColumns in the sandbox (the default)', steps, 'median s': cs, 'M steps/s per core': steps / cs / 1e6, note: `${(d / cs).toFixed(2)}x the direct loop's speed, ${(b / cs).toFixed(2)}x per step's; CPU ${(median(colsCpu) / steps * 1e9).toFixed(0)} ns/step (64 rows a segment also per step, the check)` },
  ];
}

export async function run(): Promise<void> {
  const rewardFile = join(packageRoot(), 'rewards/reach-beacon.reward.js');
  const source = readFileSync(rewardFile, 'utf8');
  // The sandboxes made here compile as relabel workers' do (worker-main.ts: synchronous TurboFan);
  // V8 reads the flag when an isolate is created, so it is set back for the benches after this one.
  setFlagsFromString('--no-concurrent-recompilation');
  let rows: Array<Record<string, string | number>>;
  try {
    rows = await evaluationAlone(source);
  } finally {
    setFlagsFromString('--concurrent-recompilation');
  }
  const dir = mkdtempSync(join(tmpdir(), 'rewardd-bench-relabel-'));
  try {
    const episodes = Math.max(1, Math.round(STORE_STEPS / EPISODE_STEPS));
    const steps = episodes * EPISODE_STEPS;
    let t = performance.now();
    await makeBenchStore(dir, { episodes, steps: EPISODE_STEPS, source });
    console.log(`store: ${episodes} episodes x ${EPISODE_STEPS} steps = ${grouped(steps)} steps, written in ${((performance.now() - t) / 1000).toFixed(1)} s (MCAP + columns files, catalog)`);

    // Key 0: --jobs 1 --per-step (reward() step by step: the form every program has).
    const e2e: Record<number, number[]> = { 0: [], 1: [], 2: [] };
    const cpu: Record<number, number[]> = { 0: [], 1: [], 2: [] };
    const direct: number[] = [];
    for (let r = 0; r < E2E_REPS; r++) {
      direct.push(await directEndToEnd(dir, source));
      for (const jobs of [1, 2, 0]) {
        const c0 = childCpuS();
        const rep = await relabelStore({ storeDir: dir, reward: { file: rewardFile }, jobs: Math.max(1, jobs), perStep: jobs === 0 });
        if (rep.steps !== steps || rep.errors.length > 0 || rep.read.fromMcap > 0) throw new Error(`bench relabel: expected ${steps} steps from columns files, found ${rep.steps}, errors ${JSON.stringify(rep.errors.slice(0, 2))}, ${rep.read.fromMcap} from MCAP`);
        if (rep.form.columnSteps !== (jobs === 0 ? 0 : steps)) throw new Error(`bench relabel: expected rewardColumns for ${jobs === 0 ? 0 : steps} steps, found ${JSON.stringify(rep.form)}`);
        e2e[jobs]!.push(rep.seconds);
        cpu[jobs]!.push(childCpuS() - c0);
      }
    }
    const e0 = median(e2e[0]!);
    const e1 = median(e2e[1]!);
    const e2 = median(e2e[2]!);
    console.log(`end to end reps (s): --jobs 1 ${e2e[1]!.map((x) => x.toFixed(3)).join(' ')}; --jobs 2 ${e2e[2]!.map((x) => x.toFixed(3)).join(' ')}; --jobs 1 --per-step ${e2e[0]!.map((x) => x.toFixed(3)).join(' ')}; worker CPU s: ${cpu[1]!.map((x) => x.toFixed(2)).join(' ')} / ${cpu[2]!.map((x) => x.toFixed(2)).join(' ')} / ${cpu[0]!.map((x) => x.toFixed(2)).join(' ')}`);
    const dE = median(direct);
    console.log(`direct JS end to end reps (s): ${direct.map((x) => x.toFixed(3)).join(' ')}`);
    rows.push(
      { measure: 'limit: direct JS loop end to end, one process (read columns, evaluate unsandboxed, write results)', steps, 'median s': dE, 'M steps/s per core': steps / dE / 1e6, note: `rewardd --jobs 1 takes ${(e1 / dE).toFixed(2)}x its time; CPU ${(median(directCpuS) / steps * 1e9).toFixed(0)} ns/step = ${(steps / median(directCpuS) / 1e6).toFixed(2)} M steps/s per CPU-second` },
      { measure: 'rewardd relabel end to end, --jobs 1', steps, 'median s': e1, 'M steps/s per core': steps / e1 / 1e6, note: `workers' CPU ${(median(cpu[1]!) / steps * 1e9).toFixed(0)} ns/step = ${(steps / median(cpu[1]!) / 1e6).toFixed(2)} M steps/s per CPU-second (start-up included)` },
      { measure: 'rewardd relabel end to end, --jobs 1 --per-step', steps, 'median s': e0, 'M steps/s per core': steps / e0 / 1e6, note: `rewardColumns (--jobs 1) is ${(e0 / e1).toFixed(2)}x faster end to end; workers' CPU ${(median(cpu[0]!) / steps * 1e9).toFixed(0)} ns/step` },
      { measure: 'rewardd relabel end to end, --jobs 2', steps, 'median s': e2, 'M steps/s per core': steps / e2 / 2 / 1e6, note: `${(e1 / e2).toFixed(2)}x --jobs 1 (target >= 1.6); workers' CPU ${(median(cpu[2]!) / steps * 1e9).toFixed(0)} ns/step` },
    );

    const peer = await numpyPeer(dir, source);
    if (peer) {
      rows.push(
        { measure: 'numpy peer: np.load(.npz) + compute', steps, 'median s': peer.e2e_s, 'M steps/s per core': steps / peer.e2e_s / 1e6, note: `rewardd --jobs 1 takes ${(e1 / peer.e2e_s).toFixed(2)}x its time` },
        { measure: 'numpy peer: compute alone', steps, 'median s': peer.compute_s, 'M steps/s per core': steps / peer.compute_s / 1e6, note: `max |total - rewardd's| = ${peer.max_abs_diff_vs_rewardd.toExponential(1)}` },
      );
    }

    // The first relabel of a store without columns files: reads the MCAP files and makes them.
    for (const f of readdirSync(join(dir, 'rover'))) if (f.endsWith('.columns')) unlinkSync(join(dir, 'rover', f));
    t = performance.now();
    const first = await relabelStore({ storeDir: dir, reward: { file: rewardFile }, jobs: 1 });
    const fs1 = (performance.now() - t) / 1000;
    rows.push({ measure: 'first relabel from MCAP files (makes the columns files), --jobs 1', steps, 'median s': fs1, 'M steps/s per core': steps / fs1 / 1e6, note: `1 run; ${first.read.written} columns files written` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`relabel: reach-beacon; median of ${REPS} (evaluation) and ${E2E_REPS} (end to end, --jobs 1 and 2 interleaved) runs`);
  console.log(table(rows));
}

interface PeerResult {
  e2e_s: number;
  compute_s: number;
  max_abs_diff_vs_rewardd: number;
}

/** Exports the store (not timed as the peer's), then runs bench/relabel_peer.py on it. */
async function numpyPeer(dir: string, source: string): Promise<PeerResult | undefined> {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  } catch {
    console.log('numpy peer: skipped (python3 with numpy not found)');
    return undefined;
  }
  const npz = join(dir, 'export.npz');
  const t = performance.now();
  const ex = await exportEpisodes({ storeDir: dir, program: { source, filename: 'reach-beacon.reward.js' }, out: npz });
  console.log(`numpy peer: rewardd export wrote ${grouped(ex.steps)} steps to .npz in ${((performance.now() - t) / 1000).toFixed(1)} s (${ex.reused} episodes' rewards reused; not part of the peer's time)`);
  const out = execFileSync('python3', [join(packageRoot(), 'bench', 'relabel_peer.py'), npz, dir, shortHash(source)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as PeerResult;
}
