/**
 * A policy in this thread: load, pick a runtime, and step it with robot
 * observations. The worker runner wraps one of these; tests, the trainer's
 * export check, `policy check` and `policy bench` use it directly.
 */
import { RewarddError } from '../core/errors.js';
import type { RobotDescription } from '../core/robot.js';
import { decodeAction, encodeObservation } from './contract.js';
import { loadPolicyManifest, type LoadedPolicy } from './load.js';
import type { ModelSpec } from './manifest.js';
import { loadOnnxModel } from './onnx-runtime.js';
import { loadTfModel, selectTfBackend } from './tfjs-runtime.js';

/** 'auto': a TF.js model if the folder has one (tensorflow > wasm > cpu), else ONNX. */
export type PolicyBackend = 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'onnx';
export const POLICY_BACKENDS: readonly PolicyBackend[] = ['auto', 'tensorflow', 'wasm', 'cpu', 'onnx'];

export interface PolicySession {
  readonly policy: LoadedPolicy;
  /** The runtime in use: 'tensorflow' | 'wasm' | 'cpu' (TF.js) or 'onnx'. */
  readonly backend: string;
  readonly model: ModelSpec;
  /**
   * One inference: robotObs in the robot description's observation order,
   * robotAction receives the commanded action in the robot's action order
   * (scaled and offset, not yet clamped: the safety filter does that).
   */
  step(robotObs: ArrayLike<number>, robotAction: { [i: number]: number }): Promise<void>;
  /** Zeroes recurrent state: call at episode start. */
  resetEpisode(): void;
  dispose(): Promise<void>;
}

export interface OpenPolicyOptions {
  dir: string;
  robot: RobotDescription;
  backend?: PolicyBackend;
}

function pickModel(policy: LoadedPolicy, backend: PolicyBackend): ModelSpec {
  const models = policy.manifest.models;
  const tf = models.find((m) => m.format !== 'onnx');
  const onnx = models.find((m) => m.format === 'onnx');
  const m = backend === 'onnx' ? onnx : backend === 'auto' ? (tf ?? onnx) : tf;
  if (!m) {
    const want = backend === 'onnx' ? 'an onnx model' : 'a tfjs-layers or tfjs-graph model';
    throw new RewarddError('E_POLICY', `policy.json models: backend "${backend}" needs ${want}, found ${models.map((x) => x.format).join(', ')}`);
  }
  return m;
}

export async function openPolicy(opts: OpenPolicyOptions): Promise<PolicySession> {
  const policy = loadPolicyManifest(opts.dir, opts.robot);
  const backendPref = opts.backend ?? 'auto';
  const spec = pickModel(policy, backendPref);
  const { manifest, io } = policy;
  const nIn = manifest.observations.length;
  const nOut = manifest.actions.length;
  const input = new Float32Array(nIn);
  const output = new Float32Array(nOut);
  if (spec.format === 'onnx') {
    const m = await loadOnnxModel(opts.dir, spec, manifest.state, nIn, nOut);
    return {
      policy,
      backend: 'onnx',
      model: spec,
      async step(obs, act) {
        encodeObservation(io, obs, input);
        // Synchronous on the native binding: no promise to await, so no extra microtask per step.
        const pending = m.run(input, output);
        if (pending) await pending;
        decodeAction(io, output, act);
      },
      resetEpisode: () => m.resetState(),
      dispose: () => m.dispose(),
    };
  }
  if (manifest.state.length) throw new RewarddError('E_POLICY', `policy.json state: recurrent state is supported for onnx models, found it with ${spec.format}`);
  const { tf, backend } = await selectTfBackend(backendPref === 'auto' ? 'auto' : (backendPref as 'tensorflow' | 'wasm' | 'cpu'));
  const m = await loadTfModel(tf, opts.dir, spec, nIn, nOut);
  return {
    policy,
    backend,
    model: spec,
    async step(obs, act) {
      encodeObservation(io, obs, input);
      m.run(input, output);
      decodeAction(io, output, act);
    },
    resetEpisode: () => undefined,
    dispose: async () => m.dispose(),
  };
}
