import type { CalibrationFile } from './calibration.js';

/**
 * Compiles a calibration into one function over a robot-ordered array of
 * physical values, so the per-tick cost is a few multiply-adds with no lookups
 * by name. Fields the calibration does not mention pass through unchanged.
 */
export type CalibrateFn = (raw: Float64Array, out: Float64Array) => void;

const AXES = ['x', 'y', 'z'] as const;

export function compileCalibration(cal: CalibrationFile, observationNames: readonly string[]): CalibrateFn {
  const index = new Map(observationNames.map((n, i) => [n, i]));
  const n = observationNames.length;
  const scale = new Float64Array(n).fill(1);
  const offset = new Float64Array(n);
  const deadband = new Float64Array(n);
  for (const [name, c] of Object.entries(cal.channels ?? {})) {
    const i = index.get(name);
    if (i === undefined) continue;
    scale[i] = c.scale ?? 1;
    offset[i] = c.offset ?? 0;
    deadband[i] = c.deadband ?? 0;
  }
  const imu = cal.imu;
  const accelIdx = AXES.map((a) => index.get(`accel_${a}`));
  const gyroIdx = AXES.map((a) => index.get(`gyro_${a}`));
  const hasImu = imu !== undefined && accelIdx.every((i) => i !== undefined) && gyroIdx.every((i) => i !== undefined);
  const remap = (imu?.axis_remap ?? ['x', 'y', 'z']).map((a) => AXES.indexOf(a));
  const sign = imu?.axis_sign ?? [1, 1, 1];
  const gyroBias = imu?.gyro_bias ?? [0, 0, 0];
  const accelBias = imu?.accel_bias ?? [0, 0, 0];
  const accelScale = imu?.accel_scale ?? [1, 1, 1];
  const rangeIdx = cal.range ? index.get(cal.range.field) : undefined;
  const table = cal.range?.table ?? [];
  const ax = new Float64Array(3);
  const gy = new Float64Array(3);

  return (raw, out) => {
    out.set(raw.subarray(0, n));
    if (hasImu) {
      for (let k = 0; k < 3; k++) {
        ax[k] = raw[accelIdx[remap[k]!]!]! * sign[k]!;
        gy[k] = raw[gyroIdx[remap[k]!]!]! * sign[k]!;
      }
      for (let k = 0; k < 3; k++) {
        out[accelIdx[k]!] = (ax[k]! - accelBias[k]!) * accelScale[k]!;
        out[gyroIdx[k]!] = gy[k]! - gyroBias[k]!;
      }
    }
    for (let i = 0; i < n; i++) {
      let v = out[i]! * scale[i]! + offset[i]!;
      if (Math.abs(v) < deadband[i]!) v = 0;
      out[i] = v;
    }
    if (rangeIdx !== undefined) out[rangeIdx] = interpolate(table, out[rangeIdx]!);
  };
}

/** Piecewise-linear lookup, clamped to the table's ends. */
export function interpolate(table: ReadonlyArray<readonly [number, number]>, x: number): number {
  const first = table[0]!;
  const last = table[table.length - 1]!;
  if (x <= first[0]) return first[1];
  if (x >= last[0]) return last[1];
  let lo = 0;
  let hi = table.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid]![0] <= x) lo = mid;
    else hi = mid;
  }
  const a = table[lo]!;
  const b = table[hi]!;
  return a[1] + ((x - a[0]) * (b[1] - a[1])) / (b[0] - a[0]);
}
