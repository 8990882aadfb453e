import { RewarddError } from '../../core/errors.js';
import type { CalibrationFile } from '../calibration.js';
import { RunningStats, round } from './stats.js';
import type { ProcedureEnv, ProcedureOutcome } from './types.js';

export interface ImuRestOptions {
  /** Capture length, s. */
  seconds: number;
  /** Discarded before the capture (the robot settling after being set down), s. */
  settleSeconds: number;
  /** Local gravity, m/s^2, expected on robot +z at rest. */
  gravity: number;
  /** The robot "moved" when any gyro axis' std exceeds this, rad/s. */
  maxGyroStd: number;
  /** ... or any accelerometer axis' std exceeds this, m/s^2. */
  maxAccelStd: number;
  /** ... or either wheel's RMS speed exceeds this, rad/s. */
  maxWheelRms: number;
  /** ... or any gyro axis' mean exceeds this: a steady turn has little variance but no MEMS gyro is biased this much, rad/s. */
  maxGyroBias: number;
  /** Gravity must lie on +z: |mean accel x,y| above this means tilted or a wrong axis_remap, m/s^2. */
  maxTilt: number;
}

export const IMU_REST_DEFAULTS: ImuRestOptions = {
  seconds: 10,
  settleSeconds: 0.5,
  gravity: 9.81,
  maxGyroStd: 0.05,
  maxAccelStd: 0.5,
  maxWheelRms: 0.5,
  maxGyroBias: 0.5,
  maxTilt: 2.0,
};

/** Bias drift between the capture's two halves: a warming sensor or a slow motion. */
export const IMU_REST_LIMITS = { 'imu_rest.gyro_drift_rad_s': 0.01, 'imu_rest.accel_drift_m_s2': 0.15 };

const AXES = ['x', 'y', 'z'] as const;
const fmt = (v: readonly number[], d = 5): string => `[${v.map((x) => x.toFixed(d)).join(', ')}]`;

/**
 * IMU at rest: N seconds still on a level floor. Gyro bias = mean rate;
 * accel bias = mean minus gravity on +z. Means are taken in ROBOT axes, i.e.
 * after the base file's axis_remap/axis_sign, because that is where
 * compileCalibration subtracts the bias; the z bias is computed through the
 * base accel_scale (one orientation cannot separate z bias from z scale).
 */
export async function imuRest(env: ProcedureEnv, opts: Partial<ImuRestOptions> = {}): Promise<ProcedureOutcome> {
  const o = { ...IMU_REST_DEFAULTS, ...opts };
  if (!(o.seconds >= 1 && o.seconds <= 600)) throw new RewarddError('E_CONFIG', `--seconds: expected 1..600, found ${o.seconds}`);
  const s = env.session;
  const accel = AXES.map((a) => s.index(`accel_${a}`));
  const gyro = AXES.map((a) => s.index(`gyro_${a}`));
  const wheels = ['wheel_speed_left', 'wheel_speed_right'].filter((n) => s.names.includes(n)).map((n) => s.index(n));
  if (env.prompter) await env.prompter.ask('Set the robot down on a level floor and do not touch it. Press Enter to start.');
  env.log(`imu-rest: settling ${o.settleSeconds} s, then capturing ${o.seconds} s at ${s.rateHz} Hz; keep the robot still`);
  await s.capture(o.settleSeconds);

  const imu = env.base.imu ?? {};
  const remap = (imu.axis_remap ?? ['x', 'y', 'z']).map((a) => AXES.indexOf(a));
  const sign = imu.axis_sign ?? [1, 1, 1];
  // halves[h][k]: robot-axis k, first (0) or second (1) half of the capture.
  const mk = () => [0, 1].map(() => AXES.map(() => new RunningStats()));
  const gyroHalves = mk();
  const accelHalves = mk();
  const gyroAll = AXES.map(() => new RunningStats());
  const accelAll = AXES.map(() => new RunningStats());
  const wheelSq = wheels.map(() => ({ sum: 0, n: 0 }));
  const half = (o.seconds / 2) * 1e9;
  const t0 = s.pacer.clock.nowNs();
  await s.capture(o.seconds, {
    progress: (t, total) => env.log(`imu-rest: ${t.toFixed(0)}/${total} s`),
    onSample: (raw) => {
      const h = Number(s.pacer.clock.nowNs() - t0) < half ? 0 : 1;
      for (let k = 0; k < 3; k++) {
        const g = raw[gyro[remap[k]!]!]! * sign[k]!;
        const a = raw[accel[remap[k]!]!]! * sign[k]!;
        gyroHalves[h]![k]!.add(g);
        accelHalves[h]![k]!.add(a);
        gyroAll[k]!.add(g);
        accelAll[k]!.add(a);
      }
      wheels.forEach((w, i) => {
        wheelSq[i]!.sum += raw[w]! ** 2;
        wheelSq[i]!.n++;
      });
    },
  });
  const n = gyroAll[0]!.count;
  if (n < 10) throw new RewarddError('E_LINK', `imu-rest: expected at least 10 samples, found ${n}`);
  const gStd = gyroAll.map((r) => r.std);
  const aStd = accelAll.map((r) => r.std);
  const wRms = wheelSq.map((w) => Math.sqrt(w.sum / Math.max(1, w.n)));
  const moved: string[] = [];
  gStd.forEach((v, k) => v > o.maxGyroStd && moved.push(`gyro_${AXES[k]} std ${v.toFixed(4)} rad/s (limit ${o.maxGyroStd})`));
  aStd.forEach((v, k) => v > o.maxAccelStd && moved.push(`accel_${AXES[k]} std ${v.toFixed(3)} m/s^2 (limit ${o.maxAccelStd})`));
  gyroAll.forEach((r, k) => Math.abs(r.mean) > o.maxGyroBias && moved.push(`gyro_${AXES[k]} mean ${r.mean.toFixed(4)} rad/s (limit ±${o.maxGyroBias})`));
  wRms.forEach((v, i) => v > o.maxWheelRms && moved.push(`${s.names[wheels[i]!]} rms ${v.toFixed(3)} rad/s (limit ${o.maxWheelRms})`));
  if (moved.length > 0) throw new RewarddError('E_CALIBRATION', `imu-rest: the robot moved during the capture, nothing written: ${moved.join('; ')}`);

  const gMean = gyroAll.map((r) => r.mean);
  const aMean = accelAll.map((r) => r.mean);
  const tilt = Math.hypot(aMean[0]!, aMean[1]!);
  if (tilt > o.maxTilt || !(aMean[2]! > o.gravity / 2)) {
    throw new RewarddError(
      'E_CALIBRATION',
      `imu-rest: expected gravity on robot +z (|accel x,y| <= ${o.maxTilt} m/s^2, accel z near +${o.gravity}), found mean accel ${fmt(aMean, 3)}: the robot is tilted or upside down, or axis_remap/axis_sign is wrong`,
    );
  }
  const accelScale = imu.accel_scale ?? [1, 1, 1];
  const gyroBias = gMean.map((v) => round(v)) as [number, number, number];
  const accelBias = [round(aMean[0]!), round(aMean[1]!), round(aMean[2]! - o.gravity / accelScale[2]!)] as [number, number, number];
  const drift = (halves: RunningStats[][]) => Math.max(...AXES.map((_, k) => Math.abs(halves[0]![k]!.mean - halves[1]![k]!.mean)));
  const residuals = {
    'imu_rest.gyro_drift_rad_s': round(drift(gyroHalves), 3),
    'imu_rest.accel_drift_m_s2': round(drift(accelHalves), 3),
  };
  env.log(`imu-rest: ${n} samples`);
  env.log(`  gyro_bias   ${fmt(gyroBias)} rad/s   noise std ${fmt(gStd)} rad/s`);
  env.log(`  accel_bias  ${fmt(accelBias)} m/s^2   noise std ${fmt(aStd)} m/s^2`);
  env.log(`  (accel z bias assumes gravity ${o.gravity} m/s^2 and accel_scale z ${accelScale[2]}; accel_scale itself is not measured at rest)`);
  const file: CalibrationFile = {
    ...env.base,
    imu: { ...imu, gyro_bias: gyroBias, accel_bias: accelBias },
  };
  return { procedure: 'imu-rest', file, residuals, limits: { ...IMU_REST_LIMITS } };
}
