import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCalibration, loadCalibration, virtualPacer } from '../../src/calibration/index.js';
import { DEFAULT_ROVER } from '../../src/link/sim/rover-model.js';
import { ObservationAssembler } from '../../src/observation/observation.js';
import { removeTempDirs, robot, runSim, simLink, tempDir } from './helpers.js';

afterAll(removeTempDirs);

/**
 * Calibrating the simulated rover recovers the sensor errors injected into it.
 * Tolerances come from the sim's noise: a mean of N samples of std σ is off by
 * σ/√N (one σ_mean); we allow 6 of those, so a correct procedure fails about
 * once in 10^8 runs and a wrong one (bias sign, remap, missing gravity) misses
 * by orders of magnitude more.
 */
const N = DEFAULT_ROVER.noise;

describe('imu-rest round trip', () => {
  it.each([1, 2, 3])('recovers injected gyro and accel biases (seed %i)', async (seed) => {
    const gyroBias: [number, number, number] = [0.012, -0.021, 0.034];
    const accelBias: [number, number, number] = [0.25, -0.15, 0.4];
    const out = join(tempDir(), 'rover.json');
    const { result } = await runSim('imu-rest', simLink({ gyroBias, accelBias }, seed), out, { imuRest: { seconds: 10 } });
    const n = 1000; // 10 s at 100 Hz
    const gTol = (6 * N.gyro) / Math.sqrt(n);
    const aTol = (6 * N.accel) / Math.sqrt(n);
    const imu = loadCalibration(out, robot).file.imu!;
    imu.gyro_bias!.forEach((v, k) => expect(Math.abs(v - gyroBias[k]!)).toBeLessThan(gTol));
    imu.accel_bias!.forEach((v, k) => expect(Math.abs(v - accelBias[k]!)).toBeLessThan(aTol));
    expect(result.outcome.residuals['imu_rest.gyro_drift_rad_s']).toBeLessThan(gTol);
  });

  it('measures biases in robot axes through the base axis_remap and sign', async () => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    // A board mounted rotated: robot x = raw y, robot y = -raw x.
    const base = { schema: 'rewardd.calibration/1', robot: 'rover', imu: { axis_remap: ['y', 'x', 'z'], axis_sign: [1, -1, 1] } };
    (await import('node:fs')).writeFileSync(out, JSON.stringify(base));
    const gyroBias: [number, number, number] = [0.02, 0.05, 0];
    await runSim('imu-rest', simLink({ gyroBias }), out);
    const imu = loadCalibration(out, robot).file.imu!;
    const tol = (6 * N.gyro) / Math.sqrt(1000);
    expect(imu.axis_remap).toEqual(['y', 'x', 'z']);
    expect(Math.abs(imu.gyro_bias![0] - 0.05)).toBeLessThan(tol);
    expect(Math.abs(imu.gyro_bias![1] + 0.02)).toBeLessThan(tol);
  });
});

describe('range round trip', () => {
  const gain = 1.12;
  const offset = 0.045;
  const distances = [0.3, 0.6, 1.0, 1.5, 2.0];
  // Per distance: 200 samples of std σ; the fitted line's error at any distance in the span stays within a few σ_mean.
  const tol = (6 * N.range) / Math.sqrt(200);

  it('affine: recovers 1/gain and -offset/gain as the channel scale and offset', async () => {
    const out = join(tempDir(), 'rover.json');
    const { result } = await runSim('range', simLink({ rangeGain: gain, rangeOffset: offset }), out, { range: { distances } });
    const ch = loadCalibration(out, robot).file.channels!.range_front!;
    // Scale error × the 1.7 m raw span must stay within the per-point tolerance.
    expect(Math.abs(ch.scale! - 1 / gain)).toBeLessThan(tol / 1.7);
    expect(Math.abs(ch.offset! + offset / gain)).toBeLessThan(tol);
    expect(result.outcome.residuals['range.max_error_m']).toBeLessThan(tol);
  });

  it('table: the piecewise-linear table maps raw readings back to true distance, extended to the field limits', async () => {
    const out = join(tempDir(), 'rover.json');
    await runSim('range', simLink({ rangeGain: gain, rangeOffset: offset }), out, { range: { distances, fit: 'table' } });
    const cal = loadCalibration(out, robot).file;
    expect(cal.channels?.range_front).toBeUndefined();
    const table = cal.range!.table;
    expect(table[0]![0]).toBe(0);
    expect(table[table.length - 1]![0]).toBe(4);
    const names = robot.observations.map((f) => f.name);
    const apply = compileCalibration(cal, names);
    const i = names.indexOf('range_front');
    for (const truth of [0.45, 1.2, 2.5]) {
      const raw = new Float64Array(names.length);
      raw[i] = truth * gain + offset;
      const outv = new Float64Array(names.length);
      apply(raw, outv);
      expect(Math.abs(outv[i]! - truth)).toBeLessThan(truth > 2 ? 3 * tol : tol);
    }
  });
});

describe('odometry round trip', () => {
  it.each([
    [1.06, 0.94],
    [0.95, 1.08],
  ])('recovers wheel radius ×%f and track width ×%f', async (rs, ts) => {
    const out = join(tempDir(), 'rover.json');
    const { result } = await runSim('odometry', simLink({ wheelRadiusScale: rs, trackWidthScale: ts }), out);
    const od = loadCalibration(out, robot).file.odometry!;
    // Encoder noise σ_w per sample integrates to σ_w·dt·√n rad per wheel over a ~20 rad segment: ~0.04 %.
    // 0.3 % leaves room for 6 such errors and the motor lag at segment ends.
    expect(Math.abs(od.wheel_radius_m / (DEFAULT_ROVER.wheelRadius * rs) - 1)).toBeLessThan(0.003);
    expect(Math.abs(od.track_width_m / (DEFAULT_ROVER.trackWidth * ts) - 1)).toBeLessThan(0.003);
    expect(result.outcome.residuals['odometry.distance_error_m']).toBeLessThan(0.005);
  });
});

describe('the calibrated loop', () => {
  it('a sim calibrated by all three procedures reads the truth through ObservationAssembler', async () => {
    const errors = { gyroBias: [0.03, -0.01, 0.02] as [number, number, number], accelBias: [0.3, 0.2, -0.4] as [number, number, number], rangeGain: 0.9, rangeOffset: 0.08 };
    const out = join(tempDir(), 'rover.json');
    for (const p of ['imu-rest', 'range', 'odometry'] as const) await runSim(p, simLink(errors), out);
    const cal = JSON.parse(readFileSync(out, 'utf8')) as { imu: unknown; channels: unknown; odometry: unknown; residuals: Record<string, number> };
    expect(Object.keys(cal.residuals).sort()).toHaveLength(5);
    const loaded = loadCalibration(out, robot);
    // Run the sim at rest 1.2 m from the wall through the assembler with the calibration applied.
    const link = simLink(errors, 99);
    const names = robot.observations.map((f) => f.name);
    const pacer = virtualPacer();
    let asm: ObservationAssembler | null = null;
    const hello = await link.open({ onFrame: (f, ns) => f.type === 'SAMPLE' && asm?.fold(f, ns), onLost: () => {}, onHello: () => {} });
    asm = new ObservationAssembler(robot, hello.channels, compileCalibration(loaded.file, names));
    link.model.placeFacingWall(1.2);
    const sums = new Float64Array(names.length);
    for (let k = 0; k < 400; k++) {
      pacer.clock.advanceMs(10);
      link.poll(pacer.clock.nowNs());
      asm.observation.values.forEach((v, i) => (sums[i] += v));
    }
    const mean = (n: string) => sums[names.indexOf(n)]! / 400;
    const tol = (s: number) => (8 * s) / Math.sqrt(400);
    for (const a of ['x', 'y', 'z']) expect(Math.abs(mean(`gyro_${a}`))).toBeLessThan(tol(N.gyro));
    expect(Math.abs(mean('accel_x'))).toBeLessThan(tol(N.accel));
    expect(Math.abs(mean('accel_z') - 9.81)).toBeLessThan(tol(N.accel));
    expect(Math.abs(mean('range_front') - 1.2)).toBeLessThan(0.01);
  });
});

describe('sim calibration fixtures', () => {
  it('placeFacingWall puts the range sensor at the distance, with no obstacle in the way and the rover at rest', async () => {
    const m = simLink({}, 5).model;
    for (const d of [0.1, 0.75, 2.4, 5.8]) {
      m.placeFacingWall(d);
      expect(m.trueRange()).toBeCloseTo(Math.min(d, DEFAULT_ROVER.rangeMax), 12);
      expect(m.scenario.obstacles).toEqual([]);
      expect([m.wl, m.wr, m.v, m.omega]).toEqual([0, 0, 0, 0]);
    }
    expect(() => m.placeFacingWall(0.05)).toThrow(/expected a distance in \[0\.1, 5\.8\] m, found 0\.05/);
    expect(() => m.placeFacingWall(6)).toThrow(RangeError);
  });
});
