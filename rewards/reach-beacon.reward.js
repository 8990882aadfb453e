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
//
// rewardColumns (at the end) is the same reward over columns of steps: relabel runs it, the
// robot runs reward() (docs/reward-columns.md). Both must give the same numbers bit for bit.
import { tolerance, hypot, clamp } from 'rewardd';

const SUCCESS_RADIUS_M = 0.25;
const COLLISION_RANGE_M = 0.08;
// 1 inside the success radius, ~0.1 at 3 m beyond it, never quite zero further out.
const DISTANCE_SHAPE = { bounds: [0, SUCCESS_RADIUS_M], margin: 3.0, sigmoid: 'long_tail', value_at_margin: 0.1 };

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

  const distance = tolerance(dist, DISTANCE_SHAPE);

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

// The same reward over n consecutive steps: obs.<name>, action.<name> and ctx.dt are columns
// (Float64Array), out.terms.<term>, out.success and out.done are the columns to fill. Row k's
// previous observation is row k - 1; row 0's is ctx.prev (null at the episode's first step).
export function rewardColumns(obs, action, ctx, out) {
  const bx = obs.beacon_x, by = obs.beacon_y, front = obs.range_front;
  const wl = action.wheel_left, wr = action.wheel_right;
  const dt = ctx.dt;
  const { distance, heading, progress, effort } = out.terms;
  let hasPrev = ctx.prev !== null;
  let prevDist = hasPrev ? beaconDistance(ctx.prev) : 0;
  for (let k = 0; k < ctx.n; k++) {
    const dist = hypot(bx[k], by[k]);
    distance[k] = tolerance(dist, DISTANCE_SHAPE);
    heading[k] = dist < 1e-6 ? 1 : 0.5 * (1 + Math.cos(Math.atan2(by[k], bx[k])));
    progress[k] = hasPrev && dt[k] > 0 ? clamp((prevDist - dist) / dt[k], -1, 1) : 0;
    effort[k] = 0.5 * (wl[k] * wl[k] + wr[k] * wr[k]);
    out.success[k] = dist < SUCCESS_RADIUS_M ? 1 : 0;
    out.done[k] = front[k] < COLLISION_RANGE_M ? 1 : 0;
    hasPrev = true;
    prevDist = dist;
  }
}
