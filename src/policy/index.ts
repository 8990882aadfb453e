/**
 * Policies: the policy.json contract, TF.js / ONNX runtimes, and the runner
 * that infers off the control tick. See docs/policies.md.
 *
 *   const robot = loadRobot('robots/rover.json').robot;
 *   const runner = await startPolicyRunner({ dir: 'policies/rover-reach', robot, observationMailbox, actionMailbox });
 *   // start record: { hash: runner.hash, sha256: runner.sha256, content: runner.manifest, backend: runner.backend }
 */
export {
  POLICY_SCHEMA,
  DEFAULT_POLICY_RATE_HZ,
  MODEL_FORMATS,
  parsePolicyManifest,
  type PolicyManifest,
  type ObservationSpec,
  type ActionSpec,
  type ModelSpec,
  type ModelFormat,
  type Normalisation,
  type RecurrentStateSpec,
  type TrainingProvenance,
} from './manifest.js';
export { bindPolicyToRobot, encodeObservation, decodeAction, policyActionLimits, type PolicyIo } from './contract.js';
export { loadPolicyManifest, modelFiles, type LoadedPolicy } from './load.js';
export { openPolicy, POLICY_BACKENDS, type PolicyBackend, type PolicySession, type OpenPolicyOptions } from './session.js';
export { startPolicyRunner, type PolicyRunner, type PolicyRunnerOptions, type PolicyRunnerStats } from './runner.js';
export { selectTfBackend, type TfBackendName, type TfBackendPreference } from './tfjs-runtime.js';
export { Mlp, type MlpSpec, type DenseLayer, type Activation } from './mlp.js';
export { writeTfjsLayers } from './export/tfjs-layers.js';
export { measureStep, summarise, type Latency } from './latency.js';
export { writeOnnxMlp, encodeOnnxMlp, encodeOnnxModel, onnxNode, onnxTensor, onnxValueInfo } from './export/onnx.js';
export { ProtoWriter } from './export/protobuf.js';
