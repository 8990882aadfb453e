import { readFileSync } from 'node:fs';
import { RewarddError, describeValue } from '../core/errors.js';
import { canonicalJson, sha256Hex, shortHash } from '../core/hash.js';
import type { RobotDescription } from '../core/robot.js';

/**
 * A robot's calibration (calibration/<robot>.json): how raw physical sensor
 * values become the calibrated values that rewards and policies see.
 * Applied in a fixed order per tick: IMU axis remap/sign -> IMU bias/scale ->
 * per-channel affine -> range linearisation table -> deadband.
 */
export const CALIBRATION_SCHEMA = 'rewardd.calibration/1';

export interface ChannelCalibration {
  /** calibrated = raw × scale + offset. */
  scale?: number;
  offset?: number;
  /** |calibrated| below this reads as 0 (encoders and gyros chatter at rest). */
  deadband?: number;
}

export interface ImuCalibration {
  /** Subtracted from gyro_x/y/z, rad/s. */
  gyro_bias?: [number, number, number];
  /** calibrated accel = (raw - accel_bias) × accel_scale, per axis. */
  accel_bias?: [number, number, number];
  accel_scale?: [number, number, number];
  /** Which raw axis feeds each robot axis, e.g. ["y","x","z"], and its sign. */
  axis_remap?: ['x' | 'y' | 'z', 'x' | 'y' | 'z', 'x' | 'y' | 'z'];
  axis_sign?: [number, number, number];
}

export interface RangeCalibration {
  field: string;
  /** Piecewise-linear [raw, true] pairs, raw strictly increasing; clamped at the ends. */
  table: Array<[number, number]>;
}

export interface CalibrationFile {
  schema: typeof CALIBRATION_SCHEMA;
  robot: string;
  /** Free text: how and when it was measured. */
  note?: string;
  created?: string;
  channels?: Record<string, ChannelCalibration>;
  imu?: ImuCalibration;
  range?: RangeCalibration;
  odometry?: { wheel_radius_m: number; track_width_m: number };
  /** Residuals of the procedures that produced this file, for the record. */
  residuals?: Record<string, number>;
}

export interface LoadedCalibration {
  file: CalibrationFile;
  hash: string;
  sha256: string;
  /** Where it came from ("identity" when none was given). */
  source: string;
}

const TOP_KEYS = new Set(['schema', 'robot', 'note', 'created', 'channels', 'imu', 'range', 'odometry', 'residuals']);

function bad(where: string, expected: string, found: unknown): never {
  throw new RewarddError('E_CALIBRATION', `${where}: expected ${expected}, found ${describeValue(found)}`);
}

function finite(where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(where, 'a finite number', v);
  return v;
}

function triple(where: string, v: unknown): [number, number, number] {
  if (!Array.isArray(v) || v.length !== 3) bad(where, 'an array of 3 numbers', v);
  return [finite(`${where}[0]`, v[0]), finite(`${where}[1]`, v[1]), finite(`${where}[2]`, v[2])];
}

/** Validates a parsed calibration against the robot: unknown fields and channels are errors naming the field. */
export function parseCalibration(json: unknown, robot: RobotDescription, where = 'calibration'): CalibrationFile {
  if (!json || typeof json !== 'object' || Array.isArray(json)) bad(where, 'an object', json);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!TOP_KEYS.has(k)) bad(`${where}.${k}`, `one of ${[...TOP_KEYS].join(', ')}`, k);
  if (o.schema !== CALIBRATION_SCHEMA) bad(`${where}.schema`, `"${CALIBRATION_SCHEMA}"`, o.schema);
  if (o.robot !== robot.name) bad(`${where}.robot`, `"${robot.name}" (the robot description's name)`, o.robot);
  const fields = new Set(robot.observations.map((f) => f.name));
  const file: CalibrationFile = { schema: CALIBRATION_SCHEMA, robot: robot.name };
  if (typeof o.note === 'string') file.note = o.note;
  if (typeof o.created === 'string') file.created = o.created;
  if (o.channels !== undefined) {
    if (!o.channels || typeof o.channels !== 'object') bad(`${where}.channels`, 'an object keyed by observation name', o.channels);
    file.channels = {};
    for (const [name, c] of Object.entries(o.channels as Record<string, unknown>)) {
      const at = `${where}.channels.${name}`;
      if (!fields.has(name)) bad(at, `an observation of robot "${robot.name}"`, name);
      if (!c || typeof c !== 'object') bad(at, 'an object {scale, offset, deadband}', c);
      const cc: ChannelCalibration = {};
      for (const [k, v] of Object.entries(c as Record<string, unknown>)) {
        if (k !== 'scale' && k !== 'offset' && k !== 'deadband') bad(`${at}.${k}`, 'scale, offset or deadband', k);
        cc[k] = finite(`${at}.${k}`, v);
      }
      if (cc.deadband !== undefined && cc.deadband < 0) bad(`${at}.deadband`, 'a number >= 0', cc.deadband);
      file.channels[name] = cc;
    }
  }
  if (o.imu !== undefined) {
    const imu = o.imu as Record<string, unknown>;
    if (!imu || typeof imu !== 'object') bad(`${where}.imu`, 'an object', o.imu);
    const out: ImuCalibration = {};
    for (const [k, v] of Object.entries(imu)) {
      const at = `${where}.imu.${k}`;
      if (k === 'gyro_bias' || k === 'accel_bias' || k === 'accel_scale' || k === 'axis_sign') out[k] = triple(at, v);
      else if (k === 'axis_remap') {
        if (!Array.isArray(v) || v.length !== 3 || !v.every((a) => a === 'x' || a === 'y' || a === 'z') || new Set(v).size !== 3) {
          bad(at, 'a permutation of ["x","y","z"]', v);
        }
        out.axis_remap = v as ImuCalibration['axis_remap'] & object;
      } else bad(at, 'gyro_bias, accel_bias, accel_scale, axis_remap or axis_sign', k);
    }
    if (out.axis_sign && !out.axis_sign.every((s) => s === 1 || s === -1)) bad(`${where}.imu.axis_sign`, 'entries of 1 or -1', out.axis_sign);
    file.imu = out;
  }
  if (o.range !== undefined) {
    const r = o.range as Record<string, unknown>;
    if (!r || typeof r !== 'object') bad(`${where}.range`, 'an object {field, table}', o.range);
    if (typeof r.field !== 'string' || !fields.has(r.field)) bad(`${where}.range.field`, `an observation of robot "${robot.name}"`, r.field);
    if (!Array.isArray(r.table) || r.table.length < 2) bad(`${where}.range.table`, 'at least 2 [raw, true] pairs', r.table);
    const table = (r.table as unknown[]).map((p, i): [number, number] => {
      if (!Array.isArray(p) || p.length !== 2) bad(`${where}.range.table[${i}]`, 'a [raw, true] pair', p);
      return [finite(`${where}.range.table[${i}][0]`, p[0]), finite(`${where}.range.table[${i}][1]`, p[1])];
    });
    for (let i = 1; i < table.length; i++) {
      if (table[i]![0] <= table[i - 1]![0]) bad(`${where}.range.table[${i}][0]`, `raw values strictly increasing (> ${table[i - 1]![0]})`, table[i]![0]);
    }
    file.range = { field: r.field, table };
  }
  if (o.odometry !== undefined) {
    const od = o.odometry as Record<string, unknown>;
    const radius = finite(`${where}.odometry.wheel_radius_m`, od?.wheel_radius_m);
    const track = finite(`${where}.odometry.track_width_m`, od?.track_width_m);
    if (radius <= 0 || radius > 1) bad(`${where}.odometry.wheel_radius_m`, 'metres in (0, 1] (not millimetres)', radius);
    if (track <= 0 || track > 5) bad(`${where}.odometry.track_width_m`, 'metres in (0, 5] (not millimetres)', track);
    file.odometry = { wheel_radius_m: radius, track_width_m: track };
  }
  if (o.residuals !== undefined) file.residuals = o.residuals as Record<string, number>;
  return file;
}

export function identityCalibration(robot: RobotDescription): LoadedCalibration {
  const file: CalibrationFile = { schema: CALIBRATION_SCHEMA, robot: robot.name, note: 'identity: no calibration given' };
  const text = canonicalJson(file);
  return { file, hash: shortHash(text), sha256: sha256Hex(text), source: 'identity' };
}

export function loadCalibration(path: string, robot: RobotDescription): LoadedCalibration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RewarddError('E_FILE', `calibration ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RewarddError('E_CALIBRATION', `${path}: expected JSON, ${(e as Error).message}`);
  }
  const file = parseCalibration(json, robot, path);
  const canon = canonicalJson(file);
  return { file, hash: shortHash(canon), sha256: sha256Hex(canon), source: path };
}
