/**
 * Dense (MLP) policies on the TF.js wasm backend, called at the kernel level.
 *
 * Through the op API a 3-layer batch-1 MLP is ~10 ops per step (tensor
 * creation, reshapes to 3-D inside fused.matMul, the matMuls, a separate
 * tanh per layer since XNNPACK's fused activations have no tanh, the
 * download) and each op pays TF.js engine bookkeeping (kernel lookup, tensor
 * tracking, profiling hooks, disposal): on this machine that was about half
 * of the 66 µs a 48→256→256→12 step took. Here each layer is one call of the
 * backend's registered `_FusedMatMul` kernel function on data already in the
 * wasm heap:
 *
 * - the observation is written straight into one persistent input tensor's
 *   wasm memory (no tensor per step);
 * - weights are made 3-D once at load, so no reshape per step;
 * - tanh is folded into the kernel's fused sigmoid: tanh(z) = 2·σ(2z) − 1, so
 *   a tanh layer's weights and bias are doubled and the next layer absorbs
 *   the "2s − 1" (W·(2s − 1) + b = 2W·s + (b − column sums of W)); the last
 *   layer's 2s − 1 is done while copying out. Same function, three kernel
 *   calls instead of six; agreement with the plain tanh network is ~1e-6.
 *
 * Intermediate outputs are plain backend buffers, freed right after use. Any
 * piece of the backend this relies on missing → null, and the caller keeps
 * the op-level path.
 */
import type * as TF from '@tensorflow/tfjs';

/** Batch-1 inference into out; returns the number of output values the model produced. */
export type DenseInfer = ((input: Float32Array, out: Float32Array) => number) & { dispose?: () => void };

export interface DenseLayerWeights {
  /** [inputs, units], row-major (TF.js Dense kernel layout). */
  kernel: Float32Array;
  bias: Float32Array | null;
  inputs: number;
  units: number;
  activation: string;
}

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  disposeData(id: object, force?: boolean): boolean;
}
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> }) => TensorInfo;

/** Activations the wasm kernel fuses (tanh is handled by the sigmoid fold). */
const FUSED = new Set(['linear', 'relu', 'relu6', 'sigmoid', 'elu']);

export function wasmDenseFastPath(tf: typeof TF, layers: readonly DenseLayerWeights[], inputs: number): DenseInfer | null {
  if (tf.getBackend() !== 'wasm' || layers.length === 0 || layers[0]!.inputs !== inputs) return null;
  // Layers must chain; otherwise the op-level path reports the shape error.
  if (layers.some((l, k) => k > 0 && l.inputs !== layers[k - 1]!.units)) return null;
  const be = tf.backend() as unknown as Partial<WasmBackend>;
  const kernel = tf.getKernel('_FusedMatMul', 'wasm')?.kernelFunc as KernelFunc | undefined;
  if (!kernel || !be.wasm?.HEAPF32 || !be.dataIdMap || typeof be.disposeData !== 'function') return null;
  if (!layers.every((l) => l.activation === 'tanh' || FUSED.has(l.activation))) return null;
  const backend = be as WasmBackend;

  const steps: { w: TF.Tensor3D; b: TF.Tensor1D; attrs: Record<string, unknown> }[] = [];
  let encoded = false; // the previous layer's output is s with the real activation h = 2s − 1
  for (const l of layers) {
    const w = Float32Array.from(l.kernel);
    const b = l.bias ? Float32Array.from(l.bias) : new Float32Array(l.units);
    if (encoded) {
      for (let j = 0; j < l.units; j++) {
        let col = 0;
        for (let i = 0; i < l.inputs; i++) col += l.kernel[i * l.units + j]!;
        b[j] = b[j]! - col;
      }
      for (let i = 0; i < w.length; i++) w[i] = 2 * w[i]!;
    }
    const tanh = l.activation === 'tanh';
    if (tanh) {
      for (let i = 0; i < w.length; i++) w[i] = 2 * w[i]!;
      for (let j = 0; j < b.length; j++) b[j] = 2 * b[j]!;
    }
    encoded = tanh;
    steps.push({
      w: tf.tensor3d(w, [1, l.inputs, l.units]),
      b: tf.tensor1d(b),
      attrs: { transposeA: false, transposeB: false, activation: tanh ? 'sigmoid' : l.activation, leakyreluAlpha: 0 },
    });
  }
  const units = layers.at(-1)!.units;
  const x = tf.tensor3d(new Float32Array(inputs), [1, 1, inputs]);
  const xOffset = backend.dataIdMap.get(x.dataId)!.memoryOffset >>> 2;
  const finalTanh = encoded;

  const infer: DenseInfer = (input, out) => {
    // HEAPF32 is re-read on every call: the wasm memory may have grown (and been replaced) since.
    backend.wasm.HEAPF32.set(input, xOffset);
    let y: TensorInfo = x;
    for (const s of steps) {
      const next = kernel({ inputs: { a: y, b: s.w, bias: s.b }, backend, attrs: s.attrs });
      if (y !== x) backend.disposeData(y.dataId);
      y = next;
    }
    const heap = backend.wasm.HEAPF32;
    const off = backend.dataIdMap.get(y.dataId)!.memoryOffset >>> 2;
    if (out.length === units) {
      if (finalTanh) for (let j = 0; j < units; j++) out[j] = 2 * heap[off + j]! - 1;
      else out.set(heap.subarray(off, off + units));
    }
    backend.disposeData(y.dataId);
    return units;
  };
  infer.dispose = () => {
    x.dispose();
    for (const s of steps) (s.w.dispose(), s.b.dispose());
  };
  return infer;
}
