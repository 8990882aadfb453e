import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../src/core/mailbox.js';
import { startPolicyRunner } from '../../src/policy/runner.js';
import { openPolicy } from '../../src/policy/session.js';
import { POLICY_DIR, ROVER, patchedPolicy } from './helpers.js';
import { until } from '../helpers/wait.js';

/** Waits (bounded) for a condition that another thread makes true; not a timing assertion. */

describe('policy runner (worker thread, off the tick path)', () => {
  it('infers on the newest observation and stamps the action with its time', async () => {
    const obsMb = Mailbox.create(12);
    const actMb = Mailbox.create(2);
    const runner = await startPolicyRunner({ dir: POLICY_DIR, robot: ROVER, observationMailbox: obsMb, actionMailbox: actMb, backend: 'onnx', rateHz: 200 });
    try {
      expect(runner.backend).toBe('onnx');
      expect(runner.rateHz).toBe(200);
      expect(runner.actionLimits).toEqual([{ min: -1, max: 1 }, { min: -1, max: 1 }]);
      expect(actMb.count()).toBe(0); // nothing is written before the first observation
      const obs = new Float64Array(12);
      obs[10] = 0.4;
      obs[11] = 1.7;
      obsMb.write(obs, 123_456_789n);
      await until(() => actMb.count() > 0, 'the first action');
      const act = new Float64Array(2);
      actMb.read(act);
      expect(actMb.lastTNs).toBe(123_456_789);
      expect(actMb.lastAux).toBeGreaterThan(0); // inference µs
      // Same numbers as the in-process session on the same observation.
      const ref = await openPolicy({ dir: POLICY_DIR, robot: ROVER, backend: 'onnx' });
      const want = new Float64Array(2);
      await ref.step(obs, want);
      await ref.dispose();
      expect(Array.from(act)).toEqual(Array.from(want));
      // A newer observation yields a newer action.
      obs[11] = -1.7;
      obsMb.write(obs, 223_456_789n);
      await until(() => actMb.read(act) && actMb.lastTNs === 223_456_789, 'the second action');
      expect(act[0]!).toBeGreaterThan(act[1]!);
      expect(runner.stats().inferences).toBeGreaterThanOrEqual(2);
      expect(runner.stats().errors).toBe(0);
    } finally {
      await runner.stop();
    }
    await runner.stop(); // idempotent
  });

  it('picks a TF.js backend at run time inside the worker (auto: tensorflow > wasm > cpu)', async () => {
    const obsMb = Mailbox.create(12);
    const actMb = Mailbox.create(2);
    const runner = await startPolicyRunner({ dir: POLICY_DIR, robot: ROVER, observationMailbox: obsMb, actionMailbox: actMb });
    try {
      expect(['tensorflow', 'wasm', 'cpu']).toContain(runner.backend);
      obsMb.write(new Float64Array(12).fill(0.5), 42n);
      await until(() => actMb.count() > 0, 'an action from the TF.js runner');
      const act = new Float64Array(2);
      actMb.read(act);
      expect(act.every(Number.isFinite)).toBe(true);
      expect(actMb.lastTNs).toBe(42);
    } finally {
      await runner.stop();
    }
  });

  it('rejects with the contract error before running anything', async () => {
    const dir = patchedPolicy((m) => (m.actions[0].unit = 'rad/s'));
    await expect(
      startPolicyRunner({ dir, robot: ROVER, observationMailbox: Mailbox.create(12), actionMailbox: Mailbox.create(2) }),
    ).rejects.toThrow('E_POLICY_CONTRACT: policy.json actions[0].unit: expected "1" (robot action wheel_left), found "rad/s"');
    await expect(
      startPolicyRunner({ dir: POLICY_DIR, robot: ROVER, observationMailbox: Mailbox.create(11), actionMailbox: Mailbox.create(2) }),
    ).rejects.toThrow('E_CONFIG: observationMailbox: expected size 12 (robot observations), found 11');
  });

  it('reports a model that fails to load inside the worker as a coded error', async () => {
    const dir = patchedPolicy((m) => (m.models = [m.models[1]]));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/model.onnx`, 'not a model');
    await expect(
      startPolicyRunner({ dir, robot: ROVER, observationMailbox: Mailbox.create(12), actionMailbox: Mailbox.create(2) }),
    ).rejects.toThrow(/^E_POLICY: model\.onnx: expected a loadable ONNX model/);
  });
});
