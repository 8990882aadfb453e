import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../src/link/sim/random.js';
import { Mlp } from '../../src/policy/mlp.js';
import { encodeOnnxModel, onnxNode, onnxTensor, onnxValueInfo, writeOnnxMlp } from '../../src/policy/export/onnx.js';
import { ProtoWriter } from '../../src/policy/export/protobuf.js';
import { writeTfjsLayers } from '../../src/policy/export/tfjs-layers.js';
import { openPolicy, type PolicySession } from '../../src/policy/session.js';
import { POLICY_DIR, ROVER, patchedPolicy } from './helpers.js';

async function maxDiff(a: PolicySession, b: PolicySession, samples: number): Promise<number> {
  const rng = new SeededRandom(5);
  const obs = new Float64Array(ROVER.observations.length);
  const x = new Float64Array(2);
  const y = new Float64Array(2);
  let d = 0;
  for (let k = 0; k < samples; k++) {
    ROVER.observations.forEach((f, i) => (obs[i] = rng.uniform(f.min, f.max)));
    await a.step(obs, x);
    await b.step(obs, y);
    d = Math.max(d, Math.abs(x[0]! - y[0]!), Math.abs(x[1]! - y[1]!));
  }
  return d;
}

describe('TF.js and ONNX runtimes', () => {
  it('give the same actions for the committed example policy (wasm, cpu, onnx)', async () => {
    const onnx = await openPolicy({ dir: POLICY_DIR, robot: ROVER, backend: 'onnx' });
    const wasm = await openPolicy({ dir: POLICY_DIR, robot: ROVER, backend: 'wasm' });
    const cpu = await openPolicy({ dir: POLICY_DIR, robot: ROVER, backend: 'cpu' });
    expect([onnx.backend, wasm.backend, cpu.backend]).toEqual(['onnx', 'wasm', 'cpu']);
    expect(await maxDiff(onnx, wasm, 100)).toBeLessThan(1e-5);
    expect(await maxDiff(onnx, cpu, 100)).toBeLessThan(1e-5);
    // Not a constant function: the runtimes agree on a policy that actually responds to its input.
    const a = new Float64Array(2);
    const b = new Float64Array(2);
    const obs = new Float64Array(12);
    obs[10] = 0;
    obs[11] = 2;
    await onnx.step(obs, a);
    obs[11] = -2;
    await onnx.step(obs, b);
    expect(a[1]! - a[0]!).toBeGreaterThan(0.3); // beacon to the left: right wheel faster
    expect(b[0]! - b[1]!).toBeGreaterThan(0.3);
    await Promise.all([onnx.dispose(), wasm.dispose(), cpu.dispose()]);
  });

  it('the exporters write the same random weights into both formats (3 layers, wide)', async () => {
    const mlp = Mlp.zeros({ inputs: 4, hidden: [64, 32], outputs: 2, hiddenActivation: 'tanh', outputActivation: 'linear' });
    const rng = new SeededRandom(3);
    mlp.setParameters(Array.from({ length: mlp.parameterCount }, () => rng.gaussian() * 0.5));
    const dir = patchedPolicy(() => undefined);
    await writeTfjsLayers(mlp, dir);
    writeOnnxMlp(mlp, join(dir, 'model.onnx'));
    const tf = await openPolicy({ dir, robot: ROVER, backend: 'wasm' });
    const onnx = await openPolicy({ dir, robot: ROVER, backend: 'onnx' });
    expect(await maxDiff(tf, onnx, 50)).toBeLessThan(1e-4);
    await Promise.all([tf.dispose(), onnx.dispose()]);
  });

  it('carries recurrent ONNX state across steps and zeroes it on resetEpisode', async () => {
    // h' = tanh(obs·W + h·U), action = h'·V, with h fed back through policy.json "state".
    const g = new ProtoWriter();
    g.message(1, onnxNode('Gemm', ['obs', 'W', 'zero3'], ['a'], 'in'));
    g.message(1, onnxNode('Gemm', ['h_in', 'U', 'zero3'], ['b'], 'rec'));
    g.message(1, onnxNode('Add', ['a', 'b'], ['s'], 'add'));
    g.message(1, onnxNode('Tanh', ['s'], ['h_out'], 'tanh'));
    g.message(1, onnxNode('Gemm', ['h_out', 'V', 'zero2'], ['action'], 'out'));
    g.string(2, 'rnn');
    g.message(5, onnxTensor('W', [4, 3], Float32Array.from({ length: 12 }, (_, i) => 0.3 * Math.sin(i + 1))));
    g.message(5, onnxTensor('U', [3, 3], Float32Array.from([0.9, 0, 0, 0, 0.9, 0, 0, 0, 0.9])));
    g.message(5, onnxTensor('V', [3, 2], Float32Array.from([1, 0, 0, 1, 0.5, -0.5])));
    g.message(5, onnxTensor('zero3', [3], new Float32Array(3)));
    g.message(5, onnxTensor('zero2', [2], new Float32Array(2)));
    g.message(11, onnxValueInfo('obs', [1, 4]));
    g.message(11, onnxValueInfo('h_in', [1, 3]));
    g.message(12, onnxValueInfo('action', [1, 2]));
    g.message(12, onnxValueInfo('h_out', [1, 3]));
    const patched = patchedPolicy((m) => {
      m.models = [{ format: 'onnx', path: 'rnn.onnx', input: 'obs', output: 'action' }];
      m.state = [{ input: 'h_in', output: 'h_out', shape: [1, 3] }];
    });
    writeFileSync(join(patched, 'rnn.onnx'), encodeOnnxModel(g));
    const p = await openPolicy({ dir: patched, robot: ROVER, backend: 'onnx' });
    const obs = new Float64Array(12);
    obs[10] = 1.5;
    obs[11] = -0.75;
    const steps: number[][] = [];
    for (let k = 0; k < 3; k++) {
      const a = new Float64Array(2);
      await p.step(obs, a);
      steps.push(Array.from(a));
    }
    expect(steps[1]).not.toEqual(steps[0]); // same input, different output: the state moved
    p.resetEpisode();
    const again = new Float64Array(2);
    await p.step(obs, again);
    expect(Array.from(again)).toEqual(steps[0]);
    await p.dispose();
  });

  it('refuses recurrent state on a TF.js model rather than silently dropping it', async () => {
    const dir = patchedPolicy((m) => (m.state = [{ input: 'h_in', output: 'h_out', shape: [1, 3] }]));
    await expect(openPolicy({ dir, robot: ROVER, backend: 'cpu' })).rejects.toThrow('E_POLICY: policy.json state: recurrent state is supported for onnx models, found it with tfjs-layers');
  });
});
