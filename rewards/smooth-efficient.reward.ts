// Reward program (TypeScript): reach the beacon smoothly and save battery.
//
// Same destination as reach-beacon, but the shaping favours gentle driving:
//   approach    closing speed toward the beacon (m/s, clamped to [-0.5, 0.5])
//   smoothness  1 when the wheel commands do not change between ticks, 0 at a jump of 0.5
//   jerk        1 when forward acceleration changes slowly, decays with |d accel_x / dt|
//   battery     battery voltage drop rate in V/s (penalised)
//   arrived     1 inside the 0.25 m success radius
import { tolerance, hypot, clamp } from 'rewardd';

interface RoverObs {
  accel_x: number;
  gyro_z: number;
  range_front: number;
  battery_voltage: number;
  beacon_x: number;
  beacon_y: number;
}
interface RoverAction {
  wheel_left: number;
  wheel_right: number;
}
interface Ctx {
  dt: number;
  step: number;
  prev: RoverObs | null;
  state: { lastAction?: RoverAction };
}

const SUCCESS_RADIUS_M = 0.25;

export const meta = {
  name: 'smooth-efficient',
  goal: 'Drive to the beacon with smooth wheel commands and little battery drain; stop within 0.25 m of it.',
  weights: { approach: 1.0, smoothness: 0.3, jerk: 0.2, battery: -0.5, arrived: 2.0 },
  ranges: { approach: [-0.5, 0.5], smoothness: [0, 1], jerk: [0, 1], battery: [-1, 1], arrived: [0, 1] },
};

const distanceTo = (o: RoverObs): number => hypot(o.beacon_x, o.beacon_y);

export function reward(obs: RoverObs, action: RoverAction, ctx: Ctx): Record<string, number> {
  const dist = distanceTo(obs);
  const prev = ctx.prev;
  const dt = ctx.dt > 0 ? ctx.dt : 0.01;

  const approach = prev ? clamp((distanceTo(prev) - dist) / dt, -0.5, 0.5) : 0;

  const last = ctx.state.lastAction;
  const change = last ? Math.max(Math.abs(action.wheel_left - last.wheel_left), Math.abs(action.wheel_right - last.wheel_right)) : 0;
  ctx.state.lastAction = { wheel_left: action.wheel_left, wheel_right: action.wheel_right };
  const smoothness = tolerance(change, { bounds: [0, 0.02], margin: 0.5, sigmoid: 'linear', value_at_margin: 0 });

  const jerkRate = prev ? Math.abs(obs.accel_x - prev.accel_x) / dt : 0;
  const jerk = tolerance(jerkRate, { bounds: [0, 5], margin: 50, sigmoid: 'reciprocal' });

  const battery = prev ? clamp((prev.battery_voltage - obs.battery_voltage) / dt, -1, 1) : 0;

  const arrived = dist < SUCCESS_RADIUS_M ? 1 : 0;

  return { approach, smoothness, jerk, battery, arrived };
}

export function success(obs: RoverObs, _ctx: Ctx): boolean {
  return distanceTo(obs) < SUCCESS_RADIUS_M;
}

export function done(obs: RoverObs, _ctx: Ctx): boolean {
  return obs.range_front < 0.08;
}
