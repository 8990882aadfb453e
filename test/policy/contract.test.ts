import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicyManifest } from '../../src/policy/load.js';
import { openPolicy } from '../../src/policy/session.js';
import { decodeAction, encodeObservation } from '../../src/policy/contract.js';
import { POLICY_DIR, ROVER, patchedPolicy, tempDir } from './helpers.js';

const loadErr = (dir: string): string => {
  try {
    loadPolicyManifest(dir, ROVER);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('policy.json contract against the robot description', () => {
  it('loads the committed example policy and hashes manifest + model files', () => {
    const p = loadPolicyManifest(POLICY_DIR, ROVER);
    expect(p.manifest.rate_hz).toBe(20);
    expect(p.files).toEqual(['model.json', 'model.onnx', 'weights.bin']);
    expect(p.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(p.sha256.startsWith(p.hash)).toBe(true);
  });

  it('names the field of a unit mismatch, with expected and found', () => {
    const dir = patchedPolicy((m) => (m.observations[0].unit = 'cm'));
    expect(loadErr(dir)).toBe('E_POLICY_CONTRACT: policy.json observations[0].unit: expected "m" (robot field beacon_x), found "cm"');
  });

  it('rejects an observation the robot does not have', () => {
    const dir = patchedPolicy((m) => (m.observations[1].name = 'lidar_0'));
    expect(loadErr(dir)).toMatch(/^E_POLICY_CONTRACT: policy\.json observations\[1\]\.name: expected one of the robot's observations .*found "lidar_0"$/);
  });

  it('rejects a policy that leaves a robot action undriven', () => {
    const dir = patchedPolicy((m) => m.actions.pop());
    expect(loadErr(dir)).toBe('E_POLICY_CONTRACT: policy.json actions: expected every robot action, missing "wheel_right"');
  });

  it('rejects action limits wider than the robot', () => {
    const dir = patchedPolicy((m) => (m.actions[0].max = 2));
    expect(loadErr(dir)).toBe('E_POLICY_CONTRACT: policy.json actions[0].min/max: expected within the robot\'s [-1, 1], found [-1, 2]');
  });

  it('rejects a policy for another robot', () => {
    const dir = patchedPolicy((m) => (m.robot = 'arm'));
    expect(loadErr(dir)).toBe('E_POLICY_CONTRACT: policy.json robot: expected "rover" (the robot description), found "arm"');
  });

  it('rejects shape errors with E_POLICY naming the field', () => {
    expect(loadErr(patchedPolicy((m) => (m.schema = 'v0')))).toBe('E_POLICY: policy.json.schema: expected "rewardd.policy/1", found "v0"');
    expect(loadErr(patchedPolicy((m) => (m.observations[0].normalise = { mean: 0, std: 0 })))).toBe('E_POLICY: policy.json.observations[0].normalise.std: expected > 0, found 0');
    expect(loadErr(patchedPolicy((m) => (m.models[0].format = 'pt')))).toMatch(/^E_POLICY: policy\.json\.models\[0\]\.format: expected one of tfjs-layers \| tfjs-graph \| onnx, found "pt"$/);
    expect(loadErr(patchedPolicy((m) => (m.models[1].path = '../../etc/passwd')))).toMatch(/models\[1\]\.path: expected a path inside the policy folder/);
    expect(loadErr(patchedPolicy((m) => (m.rate_hz = 0)))).toBe('E_POLICY: policy.json.rate_hz: expected 0 < rate_hz <= 1000, found 0');
    expect(loadErr(patchedPolicy((m) => delete m.training.algorithm))).toBe('E_POLICY: policy.json.training.algorithm: expected a non-empty string, found undefined');
  });

  it('rejects a missing model file and a missing folder', () => {
    expect(loadErr(patchedPolicy((m) => (m.models[1].path = 'gone.onnx')))).toMatch(/^E_POLICY: policy\.json models: expected onnx file gone\.onnx in .*, found none$/);
    expect(loadErr(join(tempDir(), 'nope'))).toMatch(/^E_POLICY: policy manifest .*policy\.json: ENOENT/);
  });

  it('rejects a model whose input width disagrees with policy.json, at load (both runtimes)', async () => {
    const extra = { name: 'range_front', unit: 'm' };
    const dir = patchedPolicy((m) => m.observations.push(extra));
    await expect(openPolicy({ dir, robot: ROVER, backend: 'cpu' })).rejects.toThrow(/^E_POLICY_CONTRACT: model\.json: expected a model taking \[1, 5\]/);
    await expect(openPolicy({ dir, robot: ROVER, backend: 'onnx' })).rejects.toThrow(/^E_POLICY_CONTRACT: model\.onnx: expected a model taking \[1, 5\]/);
  });

  it('rejects an ONNX input name that is not in the model', async () => {
    const dir = patchedPolicy((m) => (m.models[1].input = 'observation'));
    await expect(openPolicy({ dir, robot: ROVER, backend: 'onnx' })).rejects.toThrow('E_POLICY_CONTRACT: model.onnx: expected an input named "observation" (policy.json models.input), found obs');
  });

  it('maps robot order to policy order with mean/std and min/max normalisation and clip', () => {
    const dir = patchedPolicy((m) => {
      m.observations = [
        { name: 'range_front', unit: 'm', normalise: { min: 0, max: 4 } },
        { name: 'beacon_x', unit: 'm', normalise: { mean: 1, std: 2 }, clip: [-1, 1] },
        { name: 'beacon_y', unit: 'm' },
      ];
      m.actions = [
        { name: 'wheel_right', unit: '1', scale: 0.5, offset: 0.1, min: -1, max: 1 },
        { name: 'wheel_left', unit: '1', min: -0.5, max: 0.5 },
      ];
    });
    writeFileSync(join(dir, 'unused'), '');
    const { io } = loadPolicyManifest(dir, ROVER);
    const obs = new Float64Array(12);
    obs[8] = 3; // range_front -> 0.5
    obs[10] = 9; // beacon_x -> (9-1)/2 = 4 -> clipped to 1
    obs[11] = -7;
    const input = new Float32Array(3);
    encodeObservation(io, obs, input);
    expect(Array.from(input)).toEqual([0.5, 1, -7]);
    const act = [0, 0];
    decodeAction(io, [0.8, 3], act); // output 0 drives wheel_right, output 1 wheel_left (unclipped: the safety filter clamps)
    expect(act[0]).toBeCloseTo(3);
    expect(act[1]).toBeCloseTo(0.5);
  });
});
