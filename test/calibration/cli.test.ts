import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { help, main, parseSimErrors } from '../../src/cli/calibrate.js';
import { loadCalibration } from '../../src/calibration/index.js';
import { removeTempDirs, robot, tempDir } from './helpers.js';

afterAll(removeTempDirs);

let stdout = '';
let stderr = '';
beforeEach(() => {
  stdout = stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('rewardd calibrate', () => {
  it('help names every option with its default', () => {
    for (const f of ['--out', '--link', '--robot', '--rate', '--seconds', '--distances', '--field', '--fit', '--command', '--drive-seconds', '--gravity', '--max-residual', '--yes', '--sim-errors', '--sim-seed', '--realtime']) {
      expect(help).toContain(f);
    }
    expect(help).toContain('(default: 0.3,0.6,1,1.5,2)');
  });

  it('calibrates the sim with injected errors into --out, then merges a second procedure and keeps a .bak', async () => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    expect(await main(['imu-rest', '--out', out, '--yes', '--seconds', '5', '--sim-errors', '{"gyroBias":[0.01,0,0.02]}'])).toBe(0);
    expect(stdout).toMatch(/gyro_bias +\[[\d., -]+\] rad\/s +noise std/);
    expect(stdout).toContain(`wrote ${out}`);
    expect(await main(['range', '--out', out, '--yes', '--distances', '0.3,0.6,1.0,1.5', '--sim-errors', '{"rangeGain":1.1}'])).toBe(0);
    expect(stdout).toMatch(/kept the previous .*rover\.json as .*rover\.json\.\d{8}T\d{6}Z\.bak/);
    const cal = loadCalibration(out, robot).file;
    // 6 σ of a 500-sample mean (sim gyro noise 0.005 rad/s); 6 σ of 200-sample means over a 1.3 m span.
    expect(Math.abs(cal.imu!.gyro_bias![2] - 0.02)).toBeLessThan((6 * 0.005) / Math.sqrt(500));
    expect(Math.abs(cal.channels!.range_front!.scale! - 1 / 1.1)).toBeLessThan((6 * 0.005) / Math.sqrt(200) / 1.3);
    expect(readdirSync(dir).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
    expect(stderr).toBe('');
  });

  it('refuses over-limit residuals with one line and exit 1, leaving the file alone', async () => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    writeFileSync(out, JSON.stringify({ schema: 'rewardd.calibration/1', robot: 'rover' }));
    expect(await main(['odometry', '--out', out, '--yes', '--max-residual', '0.0000001'])).toBe(1);
    expect(stderr).toMatch(/^rewardd calibrate: E_CALIBRATION: odometry: residuals over their limits/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ schema: 'rewardd.calibration/1', robot: 'rover' });
  });

  it.each([
    [['--out', 'x.json'], /expected one procedure of imu-rest, range, odometry, found nothing/],
    [['wobble', '--out', 'x.json'], /found "wobble"/],
    [['imu-rest'], /--out: expected the calibration file to write/],
    [['imu-rest', '--out', 'x.json', '--seconds', 'ten'], /--seconds: expected a number in \[0\.1, 600\], found "ten"/],
    [['range', '--out', 'x.json', '--distances', '0.3,far'], /--distances: expected positive metres/],
    [['range', '--out', 'x.json', '--fit', 'spline'], /--fit: expected affine or table, found "spline"/],
    [['imu-rest', '--out', 'x.json', '--sim-errors', '{"gyroBias":[1,2]}'], /--sim-errors\.gyroBias: expected an array of 3 finite numbers/],
    [['imu-rest', '--out', 'x.json', '--max-residual', 'drift=big'], /--max-residual: expected a positive number or name=value pairs, found "drift=big"/],
    [['imu-rest', '--out', 'x.json', '--link', 'serial:/dev/null', '--sim-errors', '{}'], /--sim-errors\/--sim-seed: only with --link sim/],
    [['imu-rest', '--out', 'x.json', '--link', 'usb'], /--link: expected sim, serial:<path>/],
    [['imu-rest', '--out', 'x.json', '--bogus'], /Unknown option '--bogus'/],
  ])('rejects %j with one clear line', async (argv, message) => {
    expect(await main(argv)).not.toBe(0);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('parseSimErrors fills unspecified errors with perfect sensors', () => {
    expect(parseSimErrors('{"rangeGain":1.2}')).toMatchObject({ rangeGain: 1.2, rangeOffset: 0, gyroBias: [0, 0, 0], trackWidthScale: 1 });
  });
});
