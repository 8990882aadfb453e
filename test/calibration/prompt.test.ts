import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rewarddNodeFlags } from '../../src/core/node-flags.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

/** The prompts read a real stdin: answers piped in, or none at all. */
function calibrateWithStdin(args: string[], input: string) {
  const script = join(process.cwd(), 'test', 'calibration', 'fixtures', 'calibrate-main.ts');
  return spawnSync(process.execPath, [...rewarddNodeFlags(), '--import', 'tsx', script, ...args], { input, encoding: 'utf8', timeout: 60_000 });
}

describe('replacing an existing file asks first', () => {
  const base = JSON.stringify({ schema: 'rewardd.calibration/1', robot: 'rover', note: 'keep me' });

  it.each([
    ['n\n', 1, false],
    ['', 1, false],
    ['y\n', 0, true],
  ])('answer %j: exit %i, replaced %s', (input, status, replaced) => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    writeFileSync(out, base);
    const r = calibrateWithStdin(['imu-rest', '--out', out, '--seconds', '1'], input);
    expect(r.stdout).toContain(`Replace ${out}? The old file is kept as a .bak beside it. [y/N]`);
    expect(r.status).toBe(status);
    if (replaced) {
      expect(r.stdout).toMatch(/kept the previous .* as .*\.bak/);
      expect(readdirSync(dir).filter((f) => f.endsWith('.bak')).map((f) => readFileSync(join(dir, f), 'utf8'))).toEqual([base]);
      expect(readFileSync(out, 'utf8')).toContain('gyro_bias');
    } else {
      expect(r.stderr).toMatch(input === '' ? /stdin closed while waiting for an answer/ : /not written: replacing it was not confirmed/);
      expect(readdirSync(dir)).toEqual(['rover.json']);
      expect(readFileSync(out, 'utf8')).toBe(base);
    }
  });
});
