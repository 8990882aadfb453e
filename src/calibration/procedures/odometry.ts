import { RewarddError } from '../../core/errors.js';
import type { CalibrationFile } from '../calibration.js';
import { promptedTruth, simTruth, type OdometryTruth, type SegmentKind } from './odometry-truth.js';
import { fitGain, round } from './stats.js';
import type { ProcedureEnv, ProcedureOutcome } from './types.js';

export interface OdometryOptions {
  /** Wheel command magnitude in [-1, 1] for every segment. */
  command: number;
  /** How long each segment drives, s. */
  driveSeconds: number;
  /** Zero command after each drive, so the wheels and the robot come to rest before the truth is read, s. */
  stopSeconds: number;
}

export const ODOMETRY_DEFAULTS: OdometryOptions = { command: 0.5, driveSeconds: 2, stopSeconds: 0.5 };

/** Largest disagreement, over the segments, between the fitted odometry and the truth. */
export const ODOMETRY_LIMITS = { 'odometry.distance_error_m': 0.02, 'odometry.turn_error_rad': 0.05 };

/** Forward and back, then a spin each way: two equations per unknown, so the residuals mean something. */
const SEGMENTS: ReadonlyArray<{ kind: SegmentKind; left: number; right: number; description: string }> = [
  { kind: 'straight', left: 1, right: 1, description: 'drive forward' },
  { kind: 'straight', left: -1, right: -1, description: 'drive backward' },
  { kind: 'spin', left: -1, right: 1, description: 'spin counter-clockwise in place' },
  { kind: 'spin', left: 1, right: -1, description: 'spin clockwise in place' },
];

/**
 * Wheel odometry from known drives. Integrates each encoder's speed into a
 * wheel angle (rad) per segment and compares with the truth:
 *   distance = R × (φl + φr) / 2      turn = R × (φr − φl) / W
 * R is fitted on the straight segments, then W on the spins (least squares).
 */
export async function odometryProcedure(env: ProcedureEnv, opts: Partial<OdometryOptions> = {}): Promise<ProcedureOutcome> {
  const o = { ...ODOMETRY_DEFAULTS, ...opts };
  if (!(o.command > 0 && o.command <= 1)) throw new RewarddError('E_CONFIG', `--command: expected a wheel command in (0, 1], found ${o.command}`);
  if (!(o.driveSeconds > 0 && o.driveSeconds <= 30)) throw new RewarddError('E_CONFIG', `--drive-seconds: expected (0, 30], found ${o.driveSeconds}`);
  const s = env.session;
  const wl = s.index('wheel_speed_left');
  const wr = s.index('wheel_speed_right');
  const actions = s.robot.actions.map((a) => a.name);
  const al = actions.indexOf('wheel_left');
  const ar = actions.indexOf('wheel_right');
  if (al < 0 || ar < 0) throw new RewarddError('E_ROBOT', `odometry: expected actions wheel_left and wheel_right, found ${actions.join(', ')}`);
  let truth: OdometryTruth;
  if (env.sim) {
    env.sim.placeForCalibration(0, 0, 0);
    truth = simTruth(env.sim);
  } else if (env.prompter) truth = promptedTruth(env.prompter);
  else throw new RewarddError('E_CONFIG', 'odometry: a real robot needs measured distances and turns; run without --yes to be prompted');

  const nominal = env.base.odometry ?? {
    wheel_radius_m: s.robot.geometry?.wheel_radius_m ?? Number.NaN,
    track_width_m: s.robot.geometry?.track_width_m ?? Number.NaN,
  };
  const cmd = new Float32Array(actions.length);
  const straight: Array<{ wheelRad: number; truth: number }> = [];
  const spin: Array<{ diffRad: number; truth: number }> = [];
  s.link.arm();
  try {
    for (const seg of SEGMENTS) {
      await truth.begin(seg.kind, `${seg.description} for ${o.driveSeconds} s at command ${o.command}`);
      let phiL = 0;
      let phiR = 0;
      let lastNs: bigint | null = null;
      // The speed reported with a sample is the one held since the previous sample.
      const onSample = (raw: Float64Array, hostNs: bigint) => {
        if (lastNs !== null) {
          const dt = Number(hostNs - lastNs) / 1e9;
          phiL += raw[wl]! * dt;
          phiR += raw[wr]! * dt;
        }
        lastNs = hostNs;
      };
      const drive = (l: number, r: number) => () => {
        cmd[al] = l;
        cmd[ar] = r;
        s.link.sendCommand(cmd);
        truth.tick();
      };
      env.log(`odometry: ${seg.description} for ${o.driveSeconds} s`);
      await s.capture(o.driveSeconds, { beforePoll: drive(seg.left * o.command, seg.right * o.command), onSample });
      await s.capture(o.stopSeconds, { beforePoll: drive(0, 0), onSample });
      const t = await truth.end(seg.kind);
      if (seg.kind === 'straight') straight.push({ wheelRad: (phiL + phiR) / 2, truth: t.distanceM });
      else spin.push({ diffRad: phiR - phiL, truth: t.turnRad });
      env.log(`  wheels turned left ${phiL.toFixed(3)} rad, right ${phiR.toFixed(3)} rad; truth ${seg.kind === 'straight' ? `${t.distanceM.toFixed(4)} m` : `${t.turnRad.toFixed(4)} rad`}`);
    }
  } finally {
    cmd.fill(0);
    s.link.sendCommand(cmd);
    s.link.disarm();
  }
  if (straight.some((p) => Math.abs(p.wheelRad) < 0.5) || spin.some((p) => Math.abs(p.diffRad) < 0.5)) {
    throw new RewarddError('E_CALIBRATION', 'odometry: expected the wheels to turn at least 0.5 rad per segment, found less: is the robot armed, the e-stop clear, the battery charged?');
  }
  const r = fitGain(straight.map((p) => p.wheelRad), straight.map((p) => p.truth));
  const radius = r.k;
  // turn = (R·Δφ) / W  ->  fit 1/W as the gain from R·Δφ (m) to turn (rad).
  const w = fitGain(spin.map((p) => radius * p.diffRad), spin.map((p) => p.truth));
  const track = 1 / w.k;
  env.log(`odometry: wheel_radius_m ${radius.toFixed(6)} (was ${nominal.wheel_radius_m}), track_width_m ${track.toFixed(6)} (was ${nominal.track_width_m})`);
  env.log(`  residuals: distance ${r.maxError.toFixed(4)} m, turn ${w.maxError.toFixed(4)} rad`);
  if (!(radius > 0 && track > 0)) {
    throw new RewarddError('E_CALIBRATION', `odometry: expected a positive wheel radius and track width, found ${radius} m and ${track} m: are the wheels or encoders swapped or reversed?`);
  }
  const file: CalibrationFile = { ...env.base, odometry: { wheel_radius_m: round(radius), track_width_m: round(track) } };
  return {
    procedure: 'odometry',
    file,
    residuals: { 'odometry.distance_error_m': round(r.maxError, 3), 'odometry.turn_error_rad': round(w.maxError, 3) },
    limits: { ...ODOMETRY_LIMITS },
  };
}
