import { packageRoot } from '../src/core/version.js';
import { pathToFileURL } from 'node:url';
/**
 * Reward sandbox benchmark: per-step cost of the sandboxed reward against a
 * direct JS call of the same program measured in the same run, the offline
 * batch path, isolated-vm's per-call timeout (what the watchdog replaces), a
 * 1,000-step `reward check`, watchdog kill latency, and a 1,000,000-step soak
 * with the budget armed (status counts, RSS and sandbox heap over time).
 *
 *   NODE_OPTIONS=--no-node-snapshot npx tsx bench/reward.ts [--soak N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import ivm from '#isolated-vm';
import { actionNames, loadRobot, observationNames } from '../src/core/robot.js';
import { RewardStatus, rewardStatusName } from '../src/core/records.js';
import { checkRewardProgram, hostStdlib, newRewardOutput, RewardRuntime } from '../src/reward/index.js';

const ROOT = pathToFileURL(`${packageRoot()}/`);
const robot = loadRobot(fileURLToPath(new URL('robots/rover.json', ROOT))).robot;
const OBS = observationNames(robot);
const ACT = actionNames(robot);
const FILE = 'rewards/reach-beacon.reward.js';

type Program = {
  reward: (o: object, a: object, c: object) => Record<string, number>;
  success?: (o: object, c: object) => boolean;
  done?: (o: object, c: object) => boolean;
};

/** The same program, run directly on the host (no sandbox): the baseline. */
function directProgram(source: string): Program {
  const cjs = transformSync(source, { format: 'cjs', loader: 'js' }).code;
  const mod = { exports: {} as Program };
  const rw = hostStdlib();
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'module', 'exports', cjs)(() => rw, mod, mod.exports);
  return mod.exports;
}

function inputs(n: number): { obs: Float32Array; act: Float32Array } {
  const obs = new Float32Array(n * OBS.length);
  const act = new Float32Array(n * ACT.length);
  for (let i = 0; i < n; i++) {
    const b = i * OBS.length;
    obs[b + OBS.indexOf('range_front')] = 0.3 + 2 * Math.abs(Math.sin(i / 300));
    obs[b + OBS.indexOf('battery_voltage')] = 12;
    obs[b + OBS.indexOf('beacon_x')] = 4 * Math.cos(i / 500);
    obs[b + OBS.indexOf('beacon_y')] = 2 * Math.sin(i / 700);
    act[i * 2] = Math.sin(i / 13);
    act[i * 2 + 1] = Math.cos(i / 11);
  }
  return { obs, act };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

/** Median over `rounds` of the mean µs per call of `n` calls. */
function perCall(rounds: number, n: number, body: (i: number) => void): number {
  const r: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const t = nowUs();
    for (let i = 0; i < n; i++) body(i);
    r.push((nowUs() - t) / n);
  }
  return median(r);
}

export async function run(): Promise<void> {
  const soakSteps = Number(process.argv[process.argv.indexOf('--soak') + 1]) || 1_000_000;
  const source = readFileSync(fileURLToPath(new URL(FILE, ROOT)), 'utf8');
  const N = 4096;
  const { obs, act } = inputs(N);
  const nO = OBS.length;
  const nA = ACT.length;

  // 1. Direct JS call of the same program (reward, success, done) with the same
  //    per-step objects, no isolation: what the sandbox is compared against.
  const prog = directProgram(source);
  const reward = prog.reward;
  const success = prog.success ?? ((): boolean => false);
  const done = prog.done ?? ((): boolean => false);
  let sink = 0;
  const ctx = { dt: 0.01, step: 0, prev: null as object | null, episode: { index: 0, id: 'bench' }, state: {} };
  const directStep = (i: number): void => {
    const b = i * nO;
    const o = { accel_x: obs[b], accel_y: obs[b + 1], accel_z: obs[b + 2], gyro_x: obs[b + 3], gyro_y: obs[b + 4], gyro_z: obs[b + 5], wheel_speed_left: obs[b + 6], wheel_speed_right: obs[b + 7], range_front: obs[b + 8], battery_voltage: obs[b + 9], beacon_x: obs[b + 10], beacon_y: obs[b + 11] };
    const a = { wheel_left: act[i * 2], wheel_right: act[i * 2 + 1] };
    ctx.step = i;
    const r = reward(o, a, ctx);
    const flags = (success(o, ctx) ? 1 : 0) | (done(o, ctx) ? 2 : 0);
    ctx.prev = o;
    sink += (r.distance as number) + flags;
  };

  // 2. Sandboxed, online (one synchronous call per step, watchdog armed), and
  // 3. offline batch (relabel shape). Rounds are interleaved with the direct
  //    baseline so that load from other processes hits all three alike; the
  //    ratios are medians of per-round ratios.
  const rt = await RewardRuntime.create(source, FILE, { observationNames: OBS, actionNames: ACT });
  const out = newRewardOutput(rt.info.termNames.length);
  const onlineStep = (i: number): void => rt.evaluate(obs.subarray(i * nO, (i + 1) * nO), act.subarray(i * nA, (i + 1) * nA), 0.01, out);
  // Warm-up: under load V8's optimising compiler (background threads, for the
  // sandbox isolate too) can lag by hundreds of ms; measure steady state.
  rt.beginEpisode({ index: -1, id: 'warm-up' });
  for (let k = 0; k < 60; k++) {
    perCall(1, N, directStep);
    rt.evaluateBatch(obs, act, 0.01);
    perCall(1, 1024, onlineStep);
  }
  const d: number[] = [];
  const on: number[] = [];
  const ba: number[] = [];
  for (let k = 0; k < 21; k++) {
    d.push(perCall(1, N, directStep));
    rt.beginEpisode({ index: 2 * k, id: `online-${k}` });
    on.push(perCall(1, N, onlineStep));
    rt.beginEpisode({ index: 2 * k + 1, id: `batch-${k}` });
    const t = nowUs();
    rt.evaluateBatch(obs, act, 0.01);
    ba.push((nowUs() - t) / N);
  }
  const direct = median(d);
  const online = median(on);
  const batch = median(ba);
  const onlineRatio = median(on.map((v, k) => v / (d[k] as number)));
  const batchRatio = median(ba.map((v, k) => v / (d[k] as number)));
  const lat: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const j = i % N;
    const t = nowUs();
    rt.evaluate(obs.subarray(j * nO, (j + 1) * nO), act.subarray(j * nA, (j + 1) * nA), 0.01, out);
    lat.push(nowUs() - t);
  }
  lat.sort((a, b) => a - b);

  rt.dispose();

  // 4. What the watchdog replaces: isolated-vm applySync with a per-call timeout, trivial function.
  const iso = new ivm.Isolate({ memoryLimit: 32 });
  const c = iso.createContextSync();
  const fn = c.evalSync('(function (x) { return x + 1; })', { reference: true }) as ivm.Reference<(x: number) => number>;
  const ivmBare = perCall(9, 20_000, (i) => fn.applySync(undefined, [i]));
  const ivmTimeout = perCall(9, 20_000, (i) => fn.applySync(undefined, [i], { timeout: 50 }));
  iso.dispose();

  // 5. `reward check` of the default program (1,000-step random walk + probes + timing).
  const checkMs: number[] = [];
  for (let k = 0; k < 3; k++) checkMs.push((await checkRewardProgram({ source, filename: FILE, robot })).elapsedMs);

  // 6. Watchdog: time from a runaway step to its status, and the rebuild at the next episode.
  const loop = await RewardRuntime.create(`export const meta = { name: 'loop', goal: 'g', weights: { a: 1 } };\nexport function reward(o, a, ctx) { if (ctx.step === 1) for (;;) {} return { a: 1 }; }`, 'loop.reward.js', { observationNames: OBS, actionNames: ACT });
  const kills: number[] = [];
  const rebuilds: number[] = [];
  for (let k = 0; k < 5; k++) {
    let t = nowUs();
    loop.beginEpisode({ index: k, id: `loop-${k}` });
    if (k > 0) rebuilds.push((nowUs() - t) / 1000);
    loop.evaluate(obs.subarray(0, nO), act.subarray(0, nA), 0.01, out);
    t = nowUs();
    loop.evaluate(obs.subarray(0, nO), act.subarray(0, nA), 0.01, out);
    if (out.status === RewardStatus.timeout) kills.push((nowUs() - t) / 1000);
  }
  loop.dispose();

  const f = (v: number, d = 3): string => v.toFixed(d).padStart(10);
  console.log(`\nreward sandbox: ${FILE}, ${N} distinct steps per round, medians of 21 interleaved rounds (node ${process.version})`);
  console.log('| path                                   |   µs/step | × direct |');
  console.log('|----------------------------------------|-----------|----------|');
  console.log(`| direct JS call (no sandbox): baseline  |${f(direct)} |${f(1, 1)} |`);
  console.log(`| sandbox online, evaluate() per step     |${f(online)} |${f(onlineRatio, 1)} |`);
  console.log(`| sandbox online, single call p50         |${f(lat[lat.length >> 1] ?? NaN)} |          | p99 ${(lat[Math.floor(lat.length * 0.99)] ?? NaN).toFixed(1)} µs, max ${(lat[lat.length - 1] ?? NaN).toFixed(0)} µs`);
  console.log(`| sandbox offline, evaluateBatch()        |${f(batch)} |${f(batchRatio, 1)} |`);
  console.log(`| isolated-vm applySync, no timeout       |${f(ivmBare)} |          | trivial fn`);
  console.log(`| isolated-vm applySync, timeout armed    |${f(ivmTimeout)} |          | trivial fn (#572 shape)`);
  console.log(`targets: online ≤ 50× direct, batch ≤ 5× direct; reward check (1,000 steps + probes): median ${median(checkMs).toFixed(0)} ms (target ≤ 200 ms)`);
  console.log(`watchdog: runaway step reported after ${kills.map((k) => k.toFixed(1)).join(', ')} ms (budget 2 ms + grace 20 ms); rebuild at next episode ${rebuilds.map((k) => k.toFixed(1)).join(', ')} ms`);

  // 7. Soak: soakSteps consecutive online evaluations, budget armed; no crash, no growth.
  const soak = await RewardRuntime.create(source, FILE, { observationNames: OBS, actionNames: ACT });
  soak.beginEpisode({ index: 0, id: 'soak' });
  const counts = new Map<number, number>();
  const marks: string[] = [];
  const heapOf = (): number => ((soak as unknown as { sb: { heapBytes(): number } | null }).sb?.heapBytes() ?? NaN) / 1048576;
  const t0 = nowUs();
  const every = Math.max(1, Math.floor(soakSteps / 5));
  for (let i = 0; i < soakSteps; i++) {
    const j = i % N;
    soak.evaluate(obs.subarray(j * nO, (j + 1) * nO), act.subarray(j * nA, (j + 1) * nA), 0.01, out);
    counts.set(out.status, (counts.get(out.status) ?? 0) + 1);
    if (i % every === 0 || i === soakSteps - 1) {
      marks.push(`${String(i).padStart(8)}: rss ${(process.memoryUsage().rss / 1048576).toFixed(1)} MB, sandbox heap ${heapOf().toFixed(2)} MB`);
    }
  }
  const soakS = (nowUs() - t0) / 1e6;
  console.log(`soak: ${soakSteps} online steps in ${soakS.toFixed(1)} s (${((soakS * 1e6) / soakSteps).toFixed(2)} µs/step), statuses ${[...counts].map(([s, n]) => `${rewardStatusName(s)} ${n}`).join(', ')}, over-budget steps ${soak.overBudgetSteps}, rebuilds ${soak.rebuilds}`);
  for (const m of marks) console.log(`  ${m}`);
  soak.dispose();
  if (sink === 42) console.log('');
  // Process isolation (issue 14): the reward host's cost on the tick, and its crash recovery.
  console.log('\n--- process isolation (also: npm run bench -- isolation) ---');
  await (await import('./isolation.js')).run();
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
