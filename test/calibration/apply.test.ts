import { describe, expect, it } from 'vitest';
import { compileCalibration, interpolate, type CalibrationFile } from '../../src/calibration/index.js';
import { robot } from './helpers.js';

const names = robot.observations.map((f) => f.name);
const at = (n: string): number => names.indexOf(n);

function apply(cal: Omit<CalibrationFile, 'schema' | 'robot'>, set: Record<string, number>): Record<string, number> {
  const raw = new Float64Array(names.length);
  for (const [k, v] of Object.entries(set)) raw[at(k)] = v;
  const out = new Float64Array(names.length);
  compileCalibration({ schema: 'rewardd.calibration/1', robot: 'rover', ...cal }, names)(raw, out);
  return Object.fromEntries(names.map((n, i) => [n, out[i]!]));
}

describe('compileCalibration', () => {
  it('identity passes every field through unchanged', () => {
    const set = Object.fromEntries(names.map((n, i) => [n, i * 1.5 - 4]));
    expect(apply({}, set)).toEqual(set);
  });

  it('per-channel affine: raw × scale + offset, other fields untouched', () => {
    const o = apply({ channels: { battery_voltage: { scale: 1.02, offset: -0.1 } } }, { battery_voltage: 12, beacon_x: 0.5 });
    expect(o.battery_voltage).toBeCloseTo(12 * 1.02 - 0.1, 12);
    expect(o.beacon_x).toBe(0.5);
  });

  it('deadband zeroes small calibrated values and keeps larger ones whole', () => {
    const cal = { channels: { wheel_speed_left: { deadband: 0.2 }, wheel_speed_right: { offset: -0.1, deadband: 0.2 } } };
    expect(apply(cal, { wheel_speed_left: 0.19 }).wheel_speed_left).toBe(0);
    expect(apply(cal, { wheel_speed_left: -0.19 }).wheel_speed_left).toBe(0);
    expect(apply(cal, { wheel_speed_left: 0.21 }).wheel_speed_left).toBe(0.21);
    // The deadband is applied to the value after the affine: 0.25 - 0.1 = 0.15 < 0.2.
    expect(apply(cal, { wheel_speed_right: 0.25 }).wheel_speed_right).toBe(0);
  });

  it('IMU: axis remap and sign first, then bias and scale in robot axes', () => {
    const imu = {
      axis_remap: ['y', 'x', 'z'] as ['y', 'x', 'z'],
      axis_sign: [1, -1, 1] as [number, number, number],
      gyro_bias: [0.01, 0.02, 0.03] as [number, number, number],
      accel_bias: [0.1, 0.2, 0.3] as [number, number, number],
      accel_scale: [2, 1, 0.5] as [number, number, number],
    };
    const o = apply({ imu }, { accel_x: 1, accel_y: 3, accel_z: 10, gyro_x: 0.5, gyro_y: 0.7, gyro_z: 0.9 });
    // robot x <- raw y; robot y <- -raw x; robot z <- raw z.
    expect(o.accel_x).toBeCloseTo((3 - 0.1) * 2, 12);
    expect(o.accel_y).toBeCloseTo((-1 - 0.2) * 1, 12);
    expect(o.accel_z).toBeCloseTo((10 - 0.3) * 0.5, 12);
    expect(o.gyro_x).toBeCloseTo(0.7 - 0.01, 12);
    expect(o.gyro_y).toBeCloseTo(-0.5 - 0.02, 12);
    expect(o.gyro_z).toBeCloseTo(0.9 - 0.03, 12);
  });

  it('range table: interpolates between points and clamps beyond both ends', () => {
    const range = { field: 'range_front', table: [[0.2, 0.1], [1.0, 0.9], [2.0, 3.0]] as Array<[number, number]> };
    const r = (x: number) => apply({ range }, { range_front: x }).range_front;
    expect(r(0.2)).toBe(0.1);
    expect(r(0.6)).toBeCloseTo(0.5, 12);
    expect(r(1.5)).toBeCloseTo(1.95, 12);
    expect(r(2.0)).toBe(3.0);
    expect(r(0.05)).toBe(0.1);
    expect(r(3.9)).toBe(3.0);
  });

  it('range table reads the value after the channel affine', () => {
    const cal = { channels: { range_front: { scale: 2 } }, range: { field: 'range_front', table: [[0, 0], [4, 1]] as Array<[number, number]> } };
    expect(apply(cal, { range_front: 1 }).range_front).toBeCloseTo(0.5, 12);
  });

  it('interpolate agrees with a straight line on a dense table', () => {
    const table = Array.from({ length: 50 }, (_, i): [number, number] => [i * 0.1, 3 * i * 0.1 - 1]);
    for (const x of [0.05, 1.234, 4.87]) expect(interpolate(table, x)).toBeCloseTo(3 * x - 1, 12);
  });
});
