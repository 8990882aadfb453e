/**
 * `rewardd policy check DIR` and `rewardd policy bench DIR`.
 * check: the manifest, its contract against the robot description, every
 *   model file loaded in its runtime, and a dry run on in-range observations
 *   (actions finite; TF.js and ONNX exports agree when both are present).
 * bench: inference latency p50 / p99 per runtime available on this machine.
 */
import { shippedDefault } from '../core/version.js';
import { RewarddError } from '../core/errors.js';
import { loadRobot, type RobotDescription } from '../core/robot.js';
import { SeededRandom } from '../link/sim/random.js';
import { measureStep } from '../policy/latency.js';
import { loadPolicyManifest } from '../policy/load.js';
import { openPolicy, type PolicyBackend, type PolicySession } from '../policy/session.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd policy check DIR [options]',
  '       rewardd policy bench DIR [options]',
  '',
  'check  validates DIR/policy.json against the robot description, loads every model file',
  '       and dry-runs it on in-range observations; exit 1 on the first problem.',
  'bench  measures inference latency (p50 / p99 µs, batch 1) on every runtime available here.',
  '',
  '  --robot FILE        robot description                 (default: robots/rover.json)',
  '  --backend B         check: TF.js backend auto | tensorflow | wasm | cpu (default: auto)',
  '  --samples N         check: dry-run observations        (default: 200)',
  '  --iterations N      bench: timed inferences per runtime (default: 2000)',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'robot', type: 'string' },
  { flag: 'backend', type: 'string' },
  { flag: 'samples', type: 'string' },
  { flag: 'iterations', type: 'string' },
];

const positiveInt = (flag: string, v: string | boolean | undefined, d: number): number => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new RewarddError('E_CONFIG', `--${flag}: expected a positive integer, found "${String(v)}"`);
  return n;
};

async function dryRun(robot: RobotDescription, s: PolicySession, samples: number): Promise<Float64Array[]> {
  const rng = new SeededRandom(11);
  const outs: Float64Array[] = [];
  const obs = new Float64Array(robot.observations.length);
  for (let k = 0; k < samples; k++) {
    robot.observations.forEach((f, i) => (obs[i] = k === 0 ? (f.min + f.max) / 2 : rng.uniform(f.min, f.max)));
    const a = new Float64Array(robot.actions.length);
    await s.step(obs, a);
    a.forEach((v, j) => {
      if (!Number.isFinite(v)) throw new RewarddError('E_POLICY', `dry run (${s.backend}): expected finite actions, found ${v} for ${robot.actions[j]!.name} at sample ${k}`);
    });
    outs.push(a);
  }
  return outs;
}

async function check(dir: string, robot: RobotDescription, backend: PolicyBackend, samples: number): Promise<number> {
  const p = loadPolicyManifest(dir, robot);
  const m = p.manifest;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`policy ${m.name} ${p.hash}: robot ${m.robot}, ${m.observations.length} observations -> ${m.actions.length} actions at ${m.rate_hz} Hz`);
  out(`  observations: ${m.observations.map((o) => o.name).join(', ')}`);
  out(`  actions: ${m.actions.map((a) => `${a.name} [${a.min}, ${a.max}]`).join(', ')}`);
  out(`  trained: ${m.training.algorithm} in ${m.training.simulator}${m.training.seed !== undefined ? `, seed ${m.training.seed}` : ''}`);
  const runs: { backend: string; actions: Float64Array[] }[] = [];
  const wanted: PolicyBackend[] = [];
  if (m.models.some((x) => x.format !== 'onnx')) wanted.push(backend);
  if (m.models.some((x) => x.format === 'onnx')) wanted.push('onnx');
  for (const b of wanted) {
    const s = await openPolicy({ dir, robot, backend: b });
    const actions = await dryRun(robot, s, samples);
    await s.dispose();
    runs.push({ backend: s.backend, actions });
    const lo = robot.actions.map((_, j) => Math.min(...actions.map((a) => a[j]!)).toFixed(3));
    const hi = robot.actions.map((_, j) => Math.max(...actions.map((a) => a[j]!)).toFixed(3));
    out(`  ${s.model.path} (${s.model.format} on ${s.backend}): ${samples} dry-run steps ok, action ranges ${lo.map((l, j) => `[${l}, ${hi[j]}]`).join(' ')}`);
  }
  if (runs.length === 2) {
    let d = 0;
    runs[0]!.actions.forEach((a, k) => a.forEach((v, j) => (d = Math.max(d, Math.abs(v - runs[1]!.actions[k]![j]!)))));
    if (d > 1e-3) throw new RewarddError('E_POLICY', `exports disagree: expected the same actions from ${runs[0]!.backend} and ${runs[1]!.backend} (within 1e-3), found a difference of ${d.toExponential(2)}`);
    out(`  ${runs[0]!.backend} and ${runs[1]!.backend} agree: max |diff| ${d.toExponential(1)}`);
  }
  out('ok');
  return 0;
}

async function bench(dir: string, robot: RobotDescription, iterations: number): Promise<number> {
  loadPolicyManifest(dir, robot);
  process.stdout.write(`${'runtime'.padEnd(22)} ${'p50 µs'.padStart(8)} ${'p99 µs'.padStart(8)}\n`);
  for (const b of ['onnx', 'tensorflow', 'wasm', 'cpu'] as const) {
    let s: PolicySession;
    try {
      s = await openPolicy({ dir, robot, backend: b });
    } catch (e) {
      process.stdout.write(`${b.padEnd(22)} unavailable: ${(e as Error).message}\n`);
      continue;
    }
    const lat = await measureStep(robot, (o, a) => s.step(o, a), iterations);
    await s.dispose();
    process.stdout.write(`${(b === 'onnx' ? 'onnx' : `tfjs ${s.backend}`).padEnd(22)} ${lat.p50Us.toFixed(1).padStart(8)} ${lat.p99Us.toFixed(1).padStart(8)}\n`);
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const [sub, dir, ...extra] = positionals;
  if ((sub !== 'check' && sub !== 'bench') || !dir || extra.length) {
    process.stderr.write(`rewardd policy: expected "check DIR" or "bench DIR", found "${positionals.join(' ')}"\n`);
    return 2;
  }
  const robot = loadRobot(typeof values.robot === 'string' ? values.robot : shippedDefault('robots/rover.json')).robot;
  const backend = (values.backend ?? 'auto') as PolicyBackend;
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(backend)) {
    throw new RewarddError('E_CONFIG', `--backend: expected auto | tensorflow | wasm | cpu, found "${String(values.backend)}"`);
  }
  if (sub === 'check') return check(dir, robot, backend, positiveInt('samples', values.samples, 200));
  return bench(dir, robot, positiveInt('iterations', values.iterations, 2000));
}
