// Reward program: drive the rover to the beacon.
//
// The beacon locator reports the beacon in the robot frame (x forward, y left, metres),
// so distance and bearing come straight from the observation. Dense shaping:
//   distance  1 at the beacon, decaying smoothly with a long tail out to several metres
//   heading   1 when the beacon is dead ahead, 0 when it is behind
//   progress  metres per second of closing speed since the previous tick (clamped)
//   effort    mean squared wheel command (a small penalty: negative weight)
// Success when the beacon is within 0.25 m; done when the front range sensor
// says we are about to hit something (< 0.08 m).
import { tolerance, hypot, clamp } from 'rewardd';

const SUCCESS_RADIUS_M = 0.25;
const COLLISION_RANGE_M = 0.08;

export const meta = {
  name: 'reach-beacon',
  goal: 'Drive the rover to the beacon and stop within 0.25 m of it without hitting obstacles.',
  weights: { distance: 1.0, heading: 0.3, progress: 0.5, effort: -0.05 },
  ranges: { distance: [0, 1], heading: [0, 1], progress: [-1, 1], effort: [0, 1] },
};

function beaconDistance(obs) {
  return hypot(obs.beacon_x, obs.beacon_y);
}

export function reward(obs, action, ctx) {
  const dist = beaconDistance(obs);

  // 1 inside the success radius, ~0.1 at 3 m beyond it, never quite zero further out.
  const distance = tolerance(dist, {
    bounds: [0, SUCCESS_RADIUS_M],
    margin: 3.0,
    sigmoid: 'long_tail',
    value_at_margin: 0.1,
  });

  // Bearing to the beacon: 0 when straight ahead.
  const bearing = Math.atan2(obs.beacon_y, obs.beacon_x);
  const heading = dist < 1e-6 ? 1 : 0.5 * (1 + Math.cos(bearing));

  // Closing speed since the previous observation (0 on the first step of an episode).
  let progress = 0;
  if (ctx.prev !== null && ctx.dt > 0) {
    progress = clamp((beaconDistance(ctx.prev) - dist) / ctx.dt, -1, 1);
  }

  const effort = 0.5 * (action.wheel_left * action.wheel_left + action.wheel_right * action.wheel_right);

  return { distance, heading, progress, effort };
}

export function success(obs, ctx) {
  return beaconDistance(obs) < SUCCESS_RADIUS_M;
}

export function done(obs, ctx) {
  return obs.range_front < COLLISION_RANGE_M;
}
