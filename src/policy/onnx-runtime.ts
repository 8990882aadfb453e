/**
 * ONNX models through onnxruntime-node (CPU, one intra-op thread: a batch-1
 * MLP gains nothing from more and the control loop needs the other core).
 * Recurrent state named in policy.json is fed back step to step and zeroed
 * at episode start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { RewarddError } from '../core/errors.js';
import type { ModelSpec, RecurrentStateSpec } from './manifest.js';

let ortModule: typeof Ort | null = null;
async function importOrt(): Promise<typeof Ort> {
  try {
    ortModule ??= await import('onnxruntime-node');
  } catch (e) {
    throw new RewarddError('E_POLICY', `ONNX runtime: expected onnxruntime-node to load, ${(e as Error).message}`);
  }
  return ortModule;
}

export interface OnnxModel {
  run(input: Float32Array, out: Float32Array): Promise<void>;
  resetState(): void;
  dispose(): Promise<void>;
}

export async function loadOnnxModel(dir: string, spec: ModelSpec, state: readonly RecurrentStateSpec[], inputs: number, outputs: number): Promise<OnnxModel> {
  const ort = await importOrt();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(readFileSync(join(dir, spec.path)), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new RewarddError('E_POLICY', `${spec.path}: expected a loadable ONNX model, ${(e as Error).message}`);
  }
  const inName = spec.input ?? 'obs';
  if (!session.inputNames.includes(inName)) {
    throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected an input named "${inName}" (policy.json models.input), found ${session.inputNames.join(', ')}`);
  }
  for (const s of state) {
    if (!session.inputNames.includes(s.input)) throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected recurrent state input "${s.input}", found ${session.inputNames.join(', ')}`);
    if (!session.outputNames.includes(s.output)) throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected recurrent state output "${s.output}", found ${session.outputNames.join(', ')}`);
  }
  const stateOut = new Set(state.map((s) => s.output));
  const outName = spec.output ?? session.outputNames.find((n) => !stateOut.has(n));
  if (!outName || !session.outputNames.includes(outName)) {
    throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected an output named "${spec.output ?? '(action)'}", found ${session.outputNames.join(', ')}`);
  }
  const inBuf = new Float32Array(inputs);
  const inTensor = new ort.Tensor('float32', inBuf, [1, inputs]);
  const zeros = () => state.map((s) => new ort.Tensor('float32', new Float32Array(s.shape.reduce((a, b) => a * b, 1)), [...s.shape]));
  let hidden: Ort.Tensor[] = zeros();
  const model: OnnxModel = {
    async run(input, out) {
      inBuf.set(input);
      const feeds: Record<string, Ort.Tensor> = { [inName]: inTensor };
      state.forEach((s, k) => (feeds[s.input] = hidden[k]!));
      const res = await session.run(feeds);
      const y = res[outName]!.data as Float32Array;
      if (y.length !== outputs) throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected ${outputs} outputs (policy.json actions), found ${y.length}`);
      out.set(y);
      if (state.length) hidden = state.map((s) => res[s.output]!);
    },
    resetState() {
      hidden = zeros();
    },
    dispose: () => session.release(),
  };
  try {
    await model.run(new Float32Array(inputs), new Float32Array(outputs));
  } catch (e) {
    if (e instanceof RewarddError) throw e;
    throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected a model taking [1, ${inputs}] (policy.json observations), ${(e as Error).message}`);
  }
  model.resetState();
  return model;
}
