import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCalibration, parseCalibration } from '../../src/calibration/index.js';
import { removeTempDirs, robot, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const base = { schema: 'rewardd.calibration/1', robot: 'rover' };

describe('parseCalibration refuses bad files, naming the field', () => {
  it.each([
    ['unknown top-level field', { ...base, gyro_bias: [0, 0, 0] }, /calibration\.gyro_bias: expected one of schema, robot/],
    ['wrong schema', { ...base, schema: 'rewardd.calibration/2' }, /calibration\.schema: expected "rewardd\.calibration\/1"/],
    ['another robot', { ...base, robot: 'arm' }, /calibration\.robot: expected "rover"/],
    ['unknown channel', { ...base, channels: { range_rear: { scale: 1 } } }, /calibration\.channels\.range_rear: expected an observation of robot "rover"/],
    ['unknown channel key', { ...base, channels: { range_front: { gain: 1 } } }, /calibration\.channels\.range_front\.gain: expected scale, offset or deadband/],
    ['non-numeric scale', { ...base, channels: { range_front: { scale: '1.1' } } }, /calibration\.channels\.range_front\.scale: expected a finite number, found "1\.1"/],
    ['negative deadband', { ...base, channels: { gyro_z: { deadband: -0.1 } } }, /calibration\.channels\.gyro_z\.deadband: expected a number >= 0/],
    ['wheel radius in mm', { ...base, odometry: { wheel_radius_m: 35, track_width_m: 0.16 } }, /calibration\.odometry\.wheel_radius_m: expected metres in \(0, 1\] \(not millimetres\), found 35/],
    ['track width in mm', { ...base, odometry: { wheel_radius_m: 0.035, track_width_m: 160 } }, /calibration\.odometry\.track_width_m: expected metres in \(0, 5\] \(not millimetres\), found 160/],
    ['missing track width', { ...base, odometry: { wheel_radius_m: 0.035 } }, /calibration\.odometry\.track_width_m: expected a finite number, found undefined/],
    ['gyro bias of 2 axes', { ...base, imu: { gyro_bias: [0, 0] } }, /calibration\.imu\.gyro_bias: expected an array of 3 numbers, found an array of 2/],
    ['unknown imu key', { ...base, imu: { mag_bias: [0, 0, 0] } }, /calibration\.imu\.mag_bias: expected gyro_bias, accel_bias/],
    ['remap not a permutation', { ...base, imu: { axis_remap: ['x', 'x', 'z'] } }, /calibration\.imu\.axis_remap: expected a permutation/],
    ['axis sign of 2', { ...base, imu: { axis_sign: [1, 2, 1] } }, /calibration\.imu\.axis_sign: expected entries of 1 or -1/],
    ['range on a missing channel', { ...base, range: { field: 'lidar', table: [[0, 0], [1, 1]] } }, /calibration\.range\.field: expected an observation of robot "rover", found "lidar"/],
    ['range table of 1 point', { ...base, range: { field: 'range_front', table: [[0, 0]] } }, /calibration\.range\.table: expected at least 2/],
    ['range table not increasing', { ...base, range: { field: 'range_front', table: [[0, 0], [1, 1], [1, 2]] } }, /calibration\.range\.table\[2\]\[0\]: expected raw values strictly increasing \(> 1\), found 1/],
  ])('%s', (_what, json, message) => {
    expect(() => parseCalibration(json, robot)).toThrow(message);
  });

  it('loadCalibration names the file and the field, and refuses non-JSON', () => {
    const dir = tempDir();
    const p = join(dir, 'rover.json');
    writeFileSync(p, JSON.stringify({ ...base, odometry: { wheel_radius_m: 35, track_width_m: 0.16 } }));
    expect(() => loadCalibration(p, robot)).toThrow(`E_CALIBRATION: ${p}.odometry.wheel_radius_m: expected metres`);
    writeFileSync(p, '{ "schema": ');
    expect(() => loadCalibration(p, robot)).toThrow(/E_CALIBRATION: .*expected JSON/);
  });

  it('accepts the shipped calibration/rover.json', () => {
    expect(loadCalibration(join(process.cwd(), 'calibration', 'rover.json'), robot).file.odometry?.wheel_radius_m).toBe(0.035);
  });
});
