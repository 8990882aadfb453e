/**
 * Binds a policy manifest to a robot description: checks every name, unit and
 * limit against the robot (errors name the field), and precomputes the
 * index maps and affine coefficients the hot path uses, so turning a robot
 * observation into a model input is one loop with no lookups.
 */
import { RewarddError } from '../core/errors.js';
import type { RobotDescription } from '../core/robot.js';
import type { PolicyManifest } from './manifest.js';

export interface PolicyIo {
  /** For each model input i: the index of its field in the robot's observation vector. */
  readonly obsIndex: Int32Array;
  /** input[i] = clip(robotObs[obsIndex[i]] * obsScale[i] + obsShift[i], obsLo[i], obsHi[i]). */
  readonly obsScale: Float64Array;
  readonly obsShift: Float64Array;
  readonly obsLo: Float64Array;
  readonly obsHi: Float64Array;
  /** For each robot action j: the index of the model output that drives it. */
  readonly actOutIndex: Int32Array;
  /**
   * robotAction[j] = output[actOutIndex[j]] * actScale[j] + actOffset[j]. Not clipped here: the
   * commanded action is logged as the policy meant it, and the safety filter clamps it to
   * actMin/actMax (pass them as its limits) with a `clamped` reason bit.
   */
  readonly actScale: Float64Array;
  readonly actOffset: Float64Array;
  readonly actMin: Float64Array;
  readonly actMax: Float64Array;
}

const mismatch = (field: string, msg: string): never => {
  throw new RewarddError('E_POLICY_CONTRACT', `policy.json ${field}: ${msg}`);
};

export function bindPolicyToRobot(m: PolicyManifest, robot: RobotDescription): PolicyIo {
  if (m.robot !== robot.name) mismatch('robot', `expected "${robot.name}" (the robot description), found "${m.robot}"`);
  const robotObs = new Map(robot.observations.map((f, i) => [f.name, { f, i }]));
  const n = m.observations.length;
  const io = {
    obsIndex: new Int32Array(n),
    obsScale: new Float64Array(n),
    obsShift: new Float64Array(n),
    obsLo: new Float64Array(n).fill(-Infinity),
    obsHi: new Float64Array(n).fill(Infinity),
    actOutIndex: new Int32Array(robot.actions.length),
    actScale: new Float64Array(robot.actions.length),
    actOffset: new Float64Array(robot.actions.length),
    actMin: new Float64Array(robot.actions.length),
    actMax: new Float64Array(robot.actions.length),
  };
  m.observations.forEach((o, i) => {
    const at = `observations[${i}]`;
    const r = robotObs.get(o.name);
    if (!r) mismatch(`${at}.name`, `expected one of the robot's observations (${[...robotObs.keys()].join(', ')}), found "${o.name}"`);
    const { f, i: ri } = r!;
    if (o.unit !== f.unit) mismatch(`${at}.unit`, `expected "${f.unit}" (robot field ${f.name}), found "${o.unit}"`);
    io.obsIndex[i] = ri;
    const nm = o.normalise;
    if (!nm) {
      io.obsScale[i] = 1;
      io.obsShift[i] = 0;
    } else if ('std' in nm) {
      io.obsScale[i] = 1 / nm.std;
      io.obsShift[i] = -nm.mean / nm.std;
    } else {
      // min..max onto -1..1
      io.obsScale[i] = 2 / (nm.max - nm.min);
      io.obsShift[i] = -1 - (2 * nm.min) / (nm.max - nm.min);
    }
    if (o.clip) {
      io.obsLo[i] = o.clip[0];
      io.obsHi[i] = o.clip[1];
    }
  });
  const byName = new Map(m.actions.map((a, k) => [a.name, { a, k }]));
  m.actions.forEach((a, k) => {
    if (!robot.actions.some((f) => f.name === a.name)) {
      mismatch(`actions[${k}].name`, `expected one of the robot's actions (${robot.actions.map((f) => f.name).join(', ')}), found "${a.name}"`);
    }
  });
  robot.actions.forEach((f, j) => {
    const hit = byName.get(f.name);
    if (!hit) mismatch('actions', `expected every robot action, missing "${f.name}"`);
    const { a, k } = hit!;
    const at = `actions[${k}]`;
    if (a.unit !== f.unit) mismatch(`${at}.unit`, `expected "${f.unit}" (robot action ${f.name}), found "${a.unit}"`);
    if (a.min < f.min || a.max > f.max) {
      mismatch(`${at}.min/max`, `expected within the robot's [${f.min}, ${f.max}], found [${a.min}, ${a.max}]`);
    }
    io.actOutIndex[j] = k;
    io.actScale[j] = a.scale;
    io.actOffset[j] = a.offset;
    io.actMin[j] = a.min;
    io.actMax[j] = a.max;
  });
  for (const s of m.state) {
    if (s.input === (m.models[0]?.input ?? 'obs')) mismatch('state', `recurrent input "${s.input}" collides with the observation input`);
  }
  return io;
}

/** Robot observation vector -> model input (normalised, clipped). */
export function encodeObservation(io: PolicyIo, robotObs: ArrayLike<number>, input: Float32Array): void {
  const { obsIndex, obsScale, obsShift, obsLo, obsHi } = io;
  for (let i = 0; i < obsIndex.length; i++) {
    const v = robotObs[obsIndex[i]!]! * obsScale[i]! + obsShift[i]!;
    input[i] = v < obsLo[i]! ? obsLo[i]! : v > obsHi[i]! ? obsHi[i]! : v;
  }
}

/** Model output -> robot action vector (scaled, offset; NaN and out-of-range values pass through for the safety filter to see and flag). */
export function decodeAction(io: PolicyIo, output: ArrayLike<number>, robotAction: { [i: number]: number }): void {
  const { actOutIndex, actScale, actOffset } = io;
  for (let j = 0; j < actOutIndex.length; j++) robotAction[j] = output[actOutIndex[j]!]! * actScale[j]! + actOffset[j]!;
}

/** Per robot action, the policy's limits: the safety filter's limits for this policy. */
export function policyActionLimits(io: PolicyIo): { min: number; max: number }[] {
  return Array.from(io.actMin, (min, j) => ({ min, max: io.actMax[j]! }));
}
