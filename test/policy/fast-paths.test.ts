import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/link/sim/random.js';
import { openPolicy } from '../../src/policy/session.js';
import { selectTfBackend } from '../../src/policy/tfjs-runtime.js';
import { wasmDenseFastPath, type DenseLayerWeights } from '../../src/policy/tfjs-wasm-dense.js';
import { POLICY_DIR, ROVER } from './helpers.js';

const ACT: Record<string, (z: number) => number> = {
  tanh: Math.tanh,
  relu: (z) => Math.max(0, z),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  linear: (z) => z,
};

/** Plain float64 reference: the network the layers describe, no folding. */
function reference(layers: DenseLayerWeights[], x: Float32Array): number[] {
  let h = Array.from(x);
  for (const l of layers) {
    const y: number[] = [];
    for (let j = 0; j < l.units; j++) {
      let z = l.bias?.[j] ?? 0;
      for (let i = 0; i < l.inputs; i++) z += h[i]! * l.kernel[i * l.units + j]!;
      y.push(ACT[l.activation]!(z));
    }
    h = y;
  }
  return h;
}

function randomLayers(sizes: number[], acts: string[], rng: SeededRandom): DenseLayerWeights[] {
  return acts.map((activation, k) => ({
    inputs: sizes[k]!,
    units: sizes[k + 1]!,
    kernel: Float32Array.from({ length: sizes[k]! * sizes[k + 1]! }, () => rng.gaussian() * 0.4),
    bias: k === 1 ? null : Float32Array.from({ length: sizes[k + 1]! }, () => rng.gaussian() * 0.3),
    activation,
  }));
}

describe('inference fast paths', () => {
  it('wasm kernel-level dense path (tanh folded into sigmoid) computes the same network, any activation mix', async () => {
    const { tf, backend } = await selectTfBackend('wasm');
    expect(backend).toBe('wasm');
    const rng = new SeededRandom(11);
    for (const acts of [['tanh', 'tanh', 'tanh'], ['tanh', 'relu', 'tanh', 'linear'], ['relu', 'tanh', 'sigmoid'], ['tanh', 'linear']]) {
      const sizes = [6, ...acts.slice(0, -1).map((_, k) => 5 + 7 * k), 3];
      const layers = randomLayers(sizes, acts, rng);
      const infer = wasmDenseFastPath(tf, layers, 6);
      expect(infer, `fast path for ${acts.join('/')}`).not.toBeNull();
      const out = new Float32Array(3);
      for (let s = 0; s < 20; s++) {
        const x = Float32Array.from({ length: 6 }, () => rng.uniform(-3, 3));
        expect(infer!(x, out)).toBe(3);
        const want = reference(layers, x);
        for (let j = 0; j < 3; j++) expect(Math.abs(out[j]! - want[j]!), `${acts.join('/')} output ${j}`).toBeLessThan(1e-5);
      }
      infer!.dispose?.();
    }
  });

  it('wasm dense path leaves no backend buffers behind per step, and dispose frees its own', async () => {
    const { tf } = await selectTfBackend('wasm');
    const be = tf.backend();
    const before = be.numDataIds();
    const layers = randomLayers([8, 16, 4], ['tanh', 'tanh'], new SeededRandom(4));
    const infer = wasmDenseFastPath(tf, layers, 8)!;
    const owned = be.numDataIds() - before;
    expect(owned).toBe(5); // input + 2 × (weights, bias)
    const out = new Float32Array(4);
    for (let s = 0; s < 200; s++) infer(new Float32Array(8).fill(s / 200), out);
    expect(be.numDataIds()).toBe(before + owned);
    infer.dispose?.();
    expect(be.numDataIds()).toBe(before);
  });

  it('wasm dense path declines a model whose input width disagrees (the op path then reports it)', async () => {
    const { tf } = await selectTfBackend('wasm');
    expect(wasmDenseFastPath(tf, randomLayers([8, 4], ['tanh'], new SeededRandom(1)), 7)).toBeNull();
  });

  it('an ONNX step runs in the calling turn: no event-loop turn (setImmediate) per inference', async () => {
    const p = await openPolicy({ dir: POLICY_DIR, robot: ROVER, backend: 'onnx' });
    let turned = false;
    setImmediate(() => (turned = true));
    const act = new Float64Array(2);
    await p.step(new Float64Array(12), act);
    expect(turned).toBe(false);
    expect(act.every(Number.isFinite)).toBe(true);
    await p.dispose();
  });
});
