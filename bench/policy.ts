import { packageRoot } from '../src/core/version.js';
/**
 * Policy inference latency, batch 1, µs: the example policy (policies/rover-reach) and a
 * 48→256→256→12 tanh MLP, per runtime, against a plain-JS Float32Array MLP measured in the
 * same run. Targets (issue 6): ONNX p50 ≤ 20 µs, TF.js wasm p50 ≤ 40 µs for the big MLP.
 *
 * Each runtime is measured twice: in-process through `PolicySession.step` (the call the runner
 * makes: encode + model + decode, awaited), and inside the real policy runner worker at 1 kHz,
 * reading the inference µs the worker stamps on every action (mailbox aux): the figure the
 * robot gets. "bench floor" is what the harness itself adds (an empty step timed the same way).
 *
 *   NODE_OPTIONS=--no-node-snapshot npx tsx bench/policy.ts
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mailbox } from '../src/core/mailbox.js';
import { loadRobot, type RobotDescription } from '../src/core/robot.js';
import { SeededRandom } from '../src/link/sim/random.js';
import { writeOnnxMlp } from '../src/policy/export/onnx.js';
import { writeTfjsLayers } from '../src/policy/export/tfjs-layers.js';
import { measureStep, summarise, type Latency } from '../src/policy/latency.js';
import { Mlp } from '../src/policy/mlp.js';
import { startPolicyRunner, type PolicyRunner } from '../src/policy/runner.js';
import { openPolicy, type PolicyBackend } from '../src/policy/session.js';

const ROOT = `${packageRoot()}/`;
const ITER = 3000;
/** Inferences sampled from the runner worker per backend (at 1 kHz: about a second). */
const RUNNER_SAMPLES = 1000;

/** A synthetic 48-observation / 12-action robot and a policy folder with a random-weight MLP for it. */
async function bigMlpPolicy(): Promise<{ dir: string; robot: RobotDescription; mlp: Mlp }> {
  const robot: RobotDescription = {
    schema: 'rewardd.robot/1',
    name: 'bench48',
    observations: Array.from({ length: 48 }, (_, i) => ({ name: `joint_${i}`, unit: 'rad', min: -3, max: 3 })),
    actions: Array.from({ length: 12 }, (_, i) => ({ name: `motor_${i}`, unit: '1', min: -1, max: 1 })),
  };
  const mlp = Mlp.zeros({ inputs: 48, hidden: [256, 256], outputs: 12, hiddenActivation: 'tanh', outputActivation: 'tanh' });
  const rng = new SeededRandom(2);
  mlp.setParameters(Array.from({ length: mlp.parameterCount }, () => rng.gaussian() * 0.1));
  const dir = mkdtempSync(join(tmpdir(), 'rewardd-bench-policy-'));
  await writeTfjsLayers(mlp, dir);
  writeOnnxMlp(mlp, join(dir, 'model.onnx'));
  const manifest = {
    schema: 'rewardd.policy/1',
    name: 'bench48',
    robot: 'bench48',
    rate_hz: 50,
    observations: robot.observations.map((f) => ({ name: f.name, unit: f.unit, normalise: { mean: 0, std: 1 } })),
    actions: robot.actions.map((f) => ({ name: f.name, unit: f.unit, min: -1, max: 1 })),
    models: [{ format: 'tfjs-layers', path: 'model.json' }, { format: 'onnx', path: 'model.onnx' }],
    training: { simulator: 'none', algorithm: 'random weights (benchmark)' },
  };
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(manifest));
  return { dir, robot, mlp };
}

async function backendRow(dir: string, robot: RobotDescription, backend: PolicyBackend): Promise<[string, Latency] | null> {
  try {
    const s = await openPolicy({ dir, robot, backend });
    if (backend !== 'onnx' && s.backend !== backend) return null;
    const lat = await measureStep(robot, (o, a) => s.step(o, a), ITER);
    await s.dispose();
    return [s.backend === 'onnx' ? 'onnxruntime-node (1 thread)' : `tfjs ${s.backend}`, lat];
  } catch {
    return null; // backend not available here (e.g. tfjs-node not installed)
  }
}

/**
 * The same backend inside the policy runner worker at 1 kHz: one fresh observation per
 * inference, the worker's own per-inference µs read back from the action mailbox's aux.
 */
async function runnerRow(dir: string, robot: RobotDescription, backend: PolicyBackend): Promise<[string, Latency] | null> {
  const obsMb = Mailbox.create(robot.observations.length);
  const actMb = Mailbox.create(robot.actions.length);
  let runner: PolicyRunner;
  try {
    runner = await startPolicyRunner({ dir, robot, observationMailbox: obsMb, actionMailbox: actMb, backend, rateHz: 1000 });
  } catch {
    return null;
  }
  try {
    if (backend !== 'onnx' && runner.backend !== backend) return null;
    const rng = new SeededRandom(3);
    const obs = new Float64Array(robot.observations.length);
    const act = new Float64Array(robot.actions.length);
    const us = new Float64Array(RUNNER_SAMPLES);
    for (let i = 0; i < RUNNER_SAMPLES; i++) {
      robot.observations.forEach((f, k) => (obs[k] = rng.uniform(f.min, f.max)));
      const seen = actMb.count();
      obsMb.write(obs, process.hrtime.bigint());
      // Sleeps (Atomics.wait, no spinning: the worker needs the other core) until the worker's
      // next period; bounded, so a stall shows up as an error rather than a hang.
      if (!actMb.waitForNewer(seen, 2000)) throw new Error(`policy runner (${backend}): expected an action within 2 s, found none`);
      actMb.read(act);
      us[i] = actMb.lastAux;
    }
    return [`  in the runner worker (${runner.backend})`, summarise(us)];
  } finally {
    await runner.stop();
  }
}

function table(title: string, rows: [string, Latency][], baseline: Latency): void {
  console.log(`\n${title}  (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`${'runtime'.padEnd(30)} ${'p50 µs'.padStart(8)} ${'p99 µs'.padStart(8)} ${'mean µs'.padStart(8)}  p50 vs plain JS`);
  for (const [name, l] of rows) {
    console.log(`${name.padEnd(30)} ${l.p50Us.toFixed(1).padStart(8)} ${l.p99Us.toFixed(1).padStart(8)} ${l.meanUs.toFixed(1).padStart(8)}  ${(l.p50Us / baseline.p50Us).toFixed(2)}x`);
  }
}

export async function run(): Promise<void> {
  const rover = loadRobot(join(ROOT, 'robots/rover.json')).robot;
  const big = await bigMlpPolicy();
  for (const [title, dir, robot] of [
    ['example policy policies/rover-reach (4→16→16→2 tanh), batch 1', join(ROOT, 'policies/rover-reach'), rover],
    ['MLP 48→256→256→12 tanh, batch 1', big.dir, big.robot],
  ] as const) {
    // Baseline: the same network in plain Float32Array loops, through the same encode/decode.
    const plain = await openPolicy({ dir, robot, backend: 'onnx' });
    const { policy } = plain;
    await plain.dispose();
    const { encodeObservation, decodeAction } = await import('../src/policy/contract.js');
    const mlp = dir === big.dir ? big.mlp : await mlpFromTfjs(dir);
    const input = new Float32Array(mlp.inputs);
    const output = new Float32Array(mlp.outputs);
    const baseline = await measureStep(robot, (o, a) => {
      encodeObservation(policy.io, o, input);
      mlp.forward(input, output);
      decodeAction(policy.io, output, a);
    }, ITER);
    const floor = await measureStep(robot, () => undefined, ITER);
    const rows: [string, Latency][] = [['plain JS Float32Array (baseline)', baseline], ['bench floor (empty step)', floor]];
    for (const b of ['onnx', 'tensorflow', 'wasm', 'cpu'] as const) {
      const r = await backendRow(dir, robot, b);
      if (!r) continue;
      rows.push(r);
      if (b === 'cpu') continue; // the pure-JS fallback is not what a robot should run
      const w = await runnerRow(dir, robot, b);
      if (w) rows.push(w);
    }
    table(title, rows, baseline);
  }
}

/** Reads a TF.js dense model's weights back into an Mlp (for the baseline row of the example policy). */
async function mlpFromTfjs(dir: string): Promise<Mlp> {
  const { readFileSync } = await import('node:fs');
  const mj = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: { config: { layers: { config: { units: number; activation: string; batch_input_shape?: number[] } }[] } };
    weightsManifest: { paths: string[] }[];
  };
  const layers = mj.modelTopology.config.layers.map((l) => l.config);
  const inputs = layers[0]!.batch_input_shape![1]!;
  const mlp = Mlp.zeros({ inputs, hidden: layers.slice(0, -1).map((l) => l.units), outputs: layers.at(-1)!.units, hiddenActivation: 'tanh', outputActivation: layers.at(-1)!.activation === 'tanh' ? 'tanh' : 'linear' });
  const buf = readFileSync(join(dir, mj.weightsManifest[0]!.paths[0]!));
  mlp.setParameters(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
  return mlp;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
