import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/calibrate.js';
import { loadCalibration } from '../../src/calibration/index.js';
import { HostFirmware } from '../../src/link/serial-firmware-sim.js';
import { removeTempDirs, robot, tempDir } from './helpers.js';

/**
 * imu-rest over the real serial path: the host build of the rover firmware
 * on a pty, opened through `--link serial:<pty>`, paced on the real monotonic
 * clock. The firmware's IMU reads gravity + noise with no bias.
 */
let fw: HostFirmware | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  await fw?.stop('SIGKILL');
  fw = null;
  removeTempDirs();
});

describe('rewardd calibrate over a serial link', () => {
  it('imu-rest against the host firmware: zero bias within the noise, file written', async () => {
    fw = await HostFirmware.start({ rateHz: 200 });
    let stdout = '';
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    const out = join(tempDir(), 'rover.json');
    const code = await main(['imu-rest', '--link', `serial:${fw.ptyPath}`, '--out', out, '--yes', '--seconds', '1.5']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const n = Number(/imu-rest: (\d+) samples/.exec(stdout)?.[1]);
    // Paced at 100 Hz on the real clock; the serial link delivers every frame between ticks (200 Hz).
    expect(n).toBeGreaterThan(150);
    const imu = loadCalibration(out, robot).file.imu!;
    // Firmware noise: gyro 0.01 rad/s, accel 0.05 m/s^2; 6 σ of the mean.
    imu.gyro_bias!.forEach((v) => expect(Math.abs(v)).toBeLessThan((6 * 0.01) / Math.sqrt(n)));
    imu.accel_bias!.forEach((v) => expect(Math.abs(v)).toBeLessThan((6 * 0.05) / Math.sqrt(n) + 1e-6));
  }, 20_000);
});
