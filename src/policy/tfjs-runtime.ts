/**
 * TF.js models on the fastest backend this machine has, picked at run time:
 * `tensorflow` (native libtensorflow) when @tensorflow/tfjs-node is installed,
 * else `wasm` (XNNPACK, SIMD), else the pure-JS `cpu` backend. The choice is
 * returned so the daemon can show it and record it in the episode start.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { RewarddError } from '../core/errors.js';
import type { ModelSpec } from './manifest.js';
import { wasmDenseFastPath, type DenseInfer } from './tfjs-wasm-dense.js';

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';
export type TfBackendPreference = 'auto' | TfBackendName;

let tfModule: typeof TF | null = null;
let activeBackend: TfBackendName | null = null;

async function importTf(): Promise<typeof TF> {
  tfModule ??= await import('@tensorflow/tfjs');
  return tfModule;
}

async function tryTensorflow(tf: typeof TF): Promise<boolean> {
  try {
    // tfjs-node registers the 'tensorflow' backend with the shared tfjs-core on import.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(tf: typeof TF): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from disk: point the backend at the package's dist folder.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** Selects (once per thread) and returns the TF.js backend. */
export async function selectTfBackend(pref: TfBackendPreference = 'auto'): Promise<{ tf: typeof TF; backend: TfBackendName }> {
  const tf = await importTf();
  if (activeBackend && (pref === 'auto' || pref === activeBackend)) return { tf, backend: activeBackend };
  const order: TfBackendName[] = pref === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [pref];
  for (const b of order) {
    const ok = b === 'tensorflow' ? await tryTensorflow(tf) : b === 'wasm' ? await tryWasm(tf) : await tf.setBackend('cpu');
    if (ok) {
      await tf.ready();
      // The cpu backend prints a multi-line "install tfjs-node" banner on first use, which would
      // break the daemon's status line; the backend choice is reported by rewardd instead.
      if (b === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      activeBackend = b;
      return { tf, backend: b };
    }
  }
  throw new RewarddError('E_POLICY', `TF.js backend: expected "${pref}" to be available, found it cannot be initialised here`);
}

function artifactsFrom(dir: string, spec: ModelSpec): TF.io.ModelArtifacts {
  const path = join(dir, spec.path);
  const mj = JSON.parse(readFileSync(path, 'utf8')) as {
    modelTopology: object;
    format?: string;
    weightsManifest: { paths: string[]; weights: TF.io.WeightsManifestEntry[] }[];
  };
  const specs: TF.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of mj.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(readFileSync(join(dirname(path), p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return { modelTopology: mj.modelTopology, ...(mj.format ? { format: mj.format } : {}), weightSpecs: specs, weightData };
}

const FUSABLE = new Set(['linear', 'relu', 'sigmoid', 'elu', 'relu6']);

type Infer = DenseInfer;

function copyOut(data: ArrayLike<number>, out: Float32Array): number {
  if (data.length === out.length) out.set(data);
  return data.length;
}

/**
 * A model made only of Dense layers (what sim-trained MLP policies are) skips the Layers
 * machinery. On wasm it runs at the kernel level (tfjs-wasm-dense.ts); on other backends as
 * fused matMul + bias (+ activation) ops with explicit disposal, which still avoids predict()
 * and tf.tidy's scope bookkeeping. Anything else takes predict().
 */
function denseFastPath(tf: typeof TF, m: TF.LayersModel, inputs: number): Infer | null {
  const layers = m.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (layers.length === 0 || !layers.every((l) => l.getClassName() === 'Dense')) return null;
  const steps: { w: TF.Tensor2D; b: TF.Tensor1D | undefined; act: string }[] = [];
  for (const l of layers) {
    const act = (l.getConfig() as { activation?: string }).activation ?? 'linear';
    if (act !== 'tanh' && !FUSABLE.has(act)) return null;
    const [w, b] = l.getWeights() as [TF.Tensor2D, TF.Tensor1D | undefined];
    steps.push({ w, b, act });
  }
  const wasm = wasmDenseFastPath(
    tf,
    steps.map((s) => ({
      kernel: s.w.dataSync() as Float32Array,
      bias: s.b ? (s.b.dataSync() as Float32Array) : null,
      inputs: s.w.shape[0],
      units: s.w.shape[1],
      activation: s.act,
    })),
    inputs,
  );
  if (wasm) return wasm;
  const live: TF.Tensor[] = [];
  return (input, out) => {
    let y: TF.Tensor = tf.tensor2d(input, [1, inputs]);
    live.push(y);
    try {
      for (const s of steps) {
        const fused = s.act === 'tanh' ? 'linear' : (s.act as 'linear');
        y = tf.fused.matMul({ a: y as TF.Tensor2D, b: s.w, ...(s.b ? { bias: s.b } : {}), activation: fused });
        live.push(y);
        if (s.act === 'tanh') live.push((y = tf.tanh(y)));
      }
      return copyOut(y.dataSync() as Float32Array, out);
    } finally {
      for (const t of live) t.dispose();
      live.length = 0;
    }
  };
}

export interface TfModel {
  /** Batch-1 inference: input has the model's input width, out receives its output. */
  run(input: Float32Array, out: Float32Array): void;
  dispose(): void;
}

export async function loadTfModel(tf: typeof TF, dir: string, spec: ModelSpec, inputs: number, outputs: number): Promise<TfModel> {
  const handler = { load: async () => artifactsFrom(dir, spec) };
  let predict: (x: TF.Tensor) => TF.Tensor;
  let fast: Infer | null = null;
  let dispose: () => void;
  try {
    if (spec.format === 'tfjs-layers') {
      const m = await tf.loadLayersModel(handler);
      fast = denseFastPath(tf, m, inputs);
      predict = (x) => m.predict(x) as TF.Tensor;
      dispose = () => {
        fast?.dispose?.();
        m.dispose();
      };
    } else {
      const m = await tf.loadGraphModel(handler);
      const outName = spec.output;
      predict = (x) => {
        const feed = { [spec.input ?? m.inputs[0]?.name ?? 'obs']: x };
        return (outName ? m.execute(feed, outName) : m.execute(feed)) as TF.Tensor;
      };
      dispose = () => m.dispose();
    }
  } catch (e) {
    throw new RewarddError('E_POLICY', `${spec.path}: expected a loadable ${spec.format} model, ${(e as Error).message}`);
  }
  const model: TfModel = {
    run(input, out) {
      let n: number;
      if (fast) n = fast(input, out);
      else {
        const y = tf.tidy(() => predict(tf.tensor2d(input, [1, inputs])));
        n = copyOut(y.dataSync() as Float32Array, out);
        y.dispose();
      }
      if (n !== outputs) throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected ${outputs} outputs (policy.json actions), found ${n}`);
    },
    dispose,
  };
  // One dry run: a model whose input width disagrees with policy.json fails at load, not on the robot.
  try {
    model.run(new Float32Array(inputs), new Float32Array(outputs));
  } catch (e) {
    if (e instanceof RewarddError) throw e;
    throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected a model taking [1, ${inputs}] (policy.json observations), ${(e as Error).message}`);
  }
  return model;
}
