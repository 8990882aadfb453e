/**
 * The reach-beacon policy's contract and its plumbing in training: which
 * robot fields the network reads (and how they are normalised), and a
 * Controller that runs an Mlp through exactly the encode/decode the daemon uses.
 */
import { join } from 'node:path';
import { bindPolicyToRobot, decodeAction, encodeObservation } from '../../policy/contract.js';
import type { ModelSpec, PolicyManifest, TrainingProvenance } from '../../policy/manifest.js';
import { parsePolicyManifest } from '../../policy/manifest.js';
import type { Mlp } from '../../policy/mlp.js';
import { loadRobot } from '../../core/robot.js';
import { packageRoot } from '../../core/version.js';
import type { Controller } from './reach-task.js';

export const ROVER_JSON = join(packageRoot(), 'robots', 'rover.json');
export const ROVER_REACH_DIR = join(packageRoot(), 'policies', 'rover-reach') + '/';

/** Inputs: where the beacon is (robot frame) and how fast each wheel turns. */
export const ROVER_REACH_OBSERVATIONS = [
  { name: 'beacon_x', unit: 'm', normalise: { mean: 0, std: 1.5 }, clip: [-4, 4] },
  { name: 'beacon_y', unit: 'm', normalise: { mean: 0, std: 1.5 }, clip: [-4, 4] },
  { name: 'wheel_speed_left', unit: 'rad/s', normalise: { min: -20, max: 20 }, clip: [-1.5, 1.5] },
  { name: 'wheel_speed_right', unit: 'rad/s', normalise: { min: -20, max: 20 }, clip: [-1.5, 1.5] },
] as const;

export function roverReachManifest(inputs: number, models: ModelSpec[], training: TrainingProvenance, description: string): PolicyManifest {
  return parsePolicyManifest({
    schema: 'rewardd.policy/1',
    name: 'rover-reach',
    robot: 'rover',
    description,
    rate_hz: 20,
    observations: ROVER_REACH_OBSERVATIONS.slice(0, inputs),
    actions: [
      { name: 'wheel_left', unit: '1', scale: 1, offset: 0, min: -1, max: 1 },
      { name: 'wheel_right', unit: '1', scale: 1, offset: 0, min: -1, max: 1 },
    ],
    models,
    state: [],
    training,
  });
}

/** A controller running `mlp` behind the manifest's observation encoding and action decoding. */
export function mlpController(mlp: Mlp, manifest: PolicyManifest): Controller {
  const io = bindPolicyToRobot(manifest, loadRobot(ROVER_JSON).robot);
  const input = new Float32Array(manifest.observations.length);
  const output = new Float32Array(manifest.actions.length);
  return (obs, act) => {
    encodeObservation(io, obs, input);
    mlp.forward(input, output);
    decodeAction(io, output, act);
  };
}
