import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/policy.js';
import { POLICY_DIR, patchedPolicy } from './helpers.js';

describe('rewardd policy', () => {
  it('check passes the committed example policy, both exports agreeing', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true));
    try {
      expect(await main(['check', POLICY_DIR, '--samples', '20', '--backend', 'cpu'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = lines.join('');
    expect(text).toMatch(/model\.onnx \(onnx on onnx\): 20 dry-run steps ok/);
    expect(text).toMatch(/cpu and onnx agree/);
    expect(text.trim().endsWith('ok')).toBe(true);
  });

  it('check fails on a contract mismatch with the coded one-line error', async () => {
    const dir = patchedPolicy((m) => (m.observations[2].unit = 'rpm'));
    await expect(main(['check', dir])).rejects.toThrow('E_POLICY_CONTRACT: policy.json observations[2].unit: expected "rad/s" (robot field wheel_speed_left), found "rpm"');
  });

  it('check fails when the two exports disagree', async () => {
    // The ONNX file is replaced by another network's export: the TF.js and ONNX files no longer match.
    const other = patchedPolicy(() => undefined);
    const { Mlp } = await import('../../src/policy/mlp.js');
    const { writeOnnxMlp } = await import('../../src/policy/export/onnx.js');
    const mlp = Mlp.zeros({ inputs: 4, hidden: [8], outputs: 2, hiddenActivation: 'tanh', outputActivation: 'tanh' });
    mlp.setParameters(Array.from({ length: mlp.parameterCount }, (_, i) => Math.cos(i)));
    writeOnnxMlp(mlp, `${other}/model.onnx`);
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await expect(main(['check', other, '--samples', '10', '--backend', 'cpu'])).rejects.toThrow(/^E_POLICY: exports disagree/);
    } finally {
      spy.mockRestore();
    }
  });

  it('bad usage is exit 2 with one line', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['run', POLICY_DIR])).toBe(2);
      expect(await main(['check'])).toBe(2);
    } finally {
      err.mockRestore();
    }
    await expect(main(['check', POLICY_DIR, '--backend', 'gpu'])).rejects.toThrow('E_CONFIG: --backend: expected auto | tensorflow | wasm | cpu, found "gpu"');
  });
});
