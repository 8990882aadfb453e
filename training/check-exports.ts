/** Loads an exported policy through both runtimes and compares them with the trainer's own network. */
import { loadRobot } from '../src/core/robot.js';
import { encodeObservation } from '../src/policy/contract.js';
import type { Mlp } from '../src/policy/mlp.js';
import { openPolicy } from '../src/policy/session.js';
import { SeededRandom } from '../src/link/sim/random.js';
import { ROVER_JSON } from './rover-manifest.js';

export async function checkExports(dir: string, mlp: Mlp, samples = 200): Promise<{ tf: number; onnx: number; tfBackend: string }> {
  const robot = loadRobot(ROVER_JSON).robot;
  const tf = await openPolicy({ dir, robot, backend: 'auto' });
  const onnx = await openPolicy({ dir, robot, backend: 'onnx' });
  const rng = new SeededRandom(99);
  const obs = new Float64Array(robot.observations.length);
  const input = new Float32Array(mlp.inputs);
  const ref = new Float32Array(2);
  const a = new Float64Array(2);
  const b = new Float64Array(2);
  let dTf = 0;
  let dOnnx = 0;
  for (let k = 0; k < samples; k++) {
    robot.observations.forEach((f, i) => (obs[i] = rng.uniform(f.min, f.max)));
    encodeObservation(tf.policy.io, obs, input);
    mlp.forward(input, ref);
    await tf.step(obs, a);
    await onnx.step(obs, b);
    for (let j = 0; j < 2; j++) {
      dTf = Math.max(dTf, Math.abs(a[j]! - ref[j]!));
      dOnnx = Math.max(dOnnx, Math.abs(b[j]! - ref[j]!));
    }
  }
  const tfBackend = tf.backend;
  await tf.dispose();
  await onnx.dispose();
  if (dTf > 1e-4 || dOnnx > 1e-4) throw new Error(`exports disagree with the trained network: tfjs ${dTf}, onnx ${dOnnx}`);
  return { tf: dTf, onnx: dOnnx, tfBackend };
}
