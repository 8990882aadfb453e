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
import { openOrtSession, type OrtSession } from './onnx-session.js';

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
  /** Synchronous when the native binding is reachable (see onnx-session.ts), else a promise. */
  run(input: Float32Array, out: Float32Array): void | Promise<void>;
  resetState(): void;
  dispose(): Promise<void>;
}

const SESSION_OPTIONS: Ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: true,
  enableMemPattern: true,
};

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export async function loadOnnxModel(dir: string, spec: ModelSpec, state: readonly RecurrentStateSpec[], inputs: number, outputs: number): Promise<OnnxModel> {
  const ort = await importOrt();
  let session: OrtSession;
  try {
    session = await openOrtSession(ort, readFileSync(join(dir, spec.path)), SESSION_OPTIONS);
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
  // Everything the hot path touches is made once: the input tensor over a reused buffer, the
  // feeds/fetches objects, and preallocated output tensors that onnxruntime writes into.
  const inBuf = new Float32Array(inputs);
  const feeds: Record<string, Ort.Tensor> = { [inName]: new ort.Tensor('float32', inBuf, [1, inputs]) };
  const stateTensor = (dims: readonly number[]) => new ort.Tensor('float32', new Float32Array(size(dims)), [...dims]);
  // Recurrent state is double-buffered: step t reads one tensor and writes the other, then they swap.
  let stateIn = state.map((s) => stateTensor(s.shape));
  state.forEach((s, k) => (feeds[s.input] = stateIn[k]!));

  // Dry run with runtime-allocated outputs: learns the output shapes (and checks the widths)
  // before anything is preallocated, so a model that disagrees with policy.json fails at load.
  const probeFetches: Record<string, Ort.Tensor | null> = { [outName]: null };
  for (const s of state) probeFetches[s.output] = null;
  let probe: Record<string, Ort.Tensor>;
  try {
    probe = await session.run(feeds, probeFetches);
  } catch (e) {
    throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected a model taking [1, ${inputs}] (policy.json observations), ${(e as Error).message}`);
  }
  const y0 = probe[outName]!;
  if (y0.data.length !== outputs) throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected ${outputs} outputs (policy.json actions), found ${y0.data.length}`);
  const outTensor = new ort.Tensor('float32', new Float32Array(outputs), [...y0.dims]);
  const outBuf = outTensor.data as Float32Array;
  let stateNext = state.map((s) => stateTensor(probe[s.output]!.dims));
  stateIn = state.map((s, k) => (size(probe[s.output]!.dims) === size(s.shape) ? stateIn[k]! : stateTensor(probe[s.output]!.dims)));
  const fetches: Record<string, Ort.Tensor | null> = { [outName]: outTensor };
  const bind = () =>
    state.forEach((s, k) => {
      feeds[s.input] = stateIn[k]!;
      fetches[s.output] = stateNext[k]!;
    });
  bind();
  const after = (out: Float32Array) => {
    out.set(outBuf);
    if (state.length) {
      [stateIn, stateNext] = [stateNext, stateIn];
      bind();
    }
  };
  const runSync = session.runSync;
  const model: OnnxModel = {
    run: runSync
      ? (input, o) => {
          inBuf.set(input);
          runSync(feeds, fetches);
          after(o);
        }
      : async (input, o) => {
          inBuf.set(input);
          await session.run(feeds, fetches);
          after(o);
        },
    resetState() {
      for (const t of stateIn) (t.data as Float32Array).fill(0);
    },
    dispose: () => session.release(),
  };
  // A second dry run through the preallocated path, so a fault there also surfaces at load.
  try {
    await model.run(new Float32Array(inputs), new Float32Array(outputs));
  } catch (e) {
    throw new RewarddError('E_POLICY_CONTRACT', `${spec.path}: expected the model to run with preallocated outputs, ${(e as Error).message}`);
  }
  model.resetState();
  return model;
}
