// Reward program: explore the arena while keeping a safe distance from obstacles.
//
// The rover has no map, so we dead-reckon its pose from the wheel encoders and
// keep a coarse visited grid in ctx.state (reset every episode, so the reward is
// replayable from the logged steps). Terms:
//   novelty    1 on a step that enters a grid cell never visited this episode
//   clearance  1 while the front range is >= 0.5 m, falling to 0 as it nears 0.1 m
//   cruise     1 at a forward speed of 0.2-0.5 m/s, smooth falloff outside
//   spin       |yaw rate| in rad/s (penalised: spinning in place is not exploring)
// Done when the front range says we are about to hit something.
import { tolerance, clamp, wrapAngle } from 'rewardd';

const WHEEL_RADIUS_M = 0.035;
const TRACK_WIDTH_M = 0.16;
const CELL_M = 0.5;
const COLLISION_RANGE_M = 0.08;

export const meta = {
  name: 'explore-safely',
  goal: 'Cover as much new ground as possible at a moderate speed while staying at least 0.5 m from obstacles ahead.',
  weights: { novelty: 1.0, clearance: 0.5, cruise: 0.3, spin: -0.1 },
  ranges: { novelty: [0, 1], clearance: [0, 1], cruise: [0, 1], spin: [0, 20] },
};

export function reward(obs, action, ctx) {
  const s = ctx.state;
  if (s.visited === undefined) {
    s.x = 0;
    s.y = 0;
    s.theta = 0;
    s.visited = {};
  }

  // Differential-drive odometry from wheel speeds (rad/s) over this tick.
  const vLeft = obs.wheel_speed_left * WHEEL_RADIUS_M;
  const vRight = obs.wheel_speed_right * WHEEL_RADIUS_M;
  const v = 0.5 * (vLeft + vRight);
  const omega = (vRight - vLeft) / TRACK_WIDTH_M;
  s.theta = wrapAngle(s.theta + omega * ctx.dt);
  s.x += v * Math.cos(s.theta) * ctx.dt;
  s.y += v * Math.sin(s.theta) * ctx.dt;

  const cell = Math.floor(s.x / CELL_M) + ',' + Math.floor(s.y / CELL_M);
  let novelty = 0;
  if (!s.visited[cell]) {
    s.visited[cell] = true;
    novelty = 1;
  }

  const clearance = tolerance(obs.range_front, {
    bounds: [0.5, Infinity],
    margin: 0.4,
    sigmoid: 'quadratic',
    value_at_margin: 0,
  });

  const cruise = tolerance(v, { bounds: [0.2, 0.5], margin: 0.2, sigmoid: 'gaussian' });

  const spin = clamp(Math.abs(obs.gyro_z), 0, 20);

  return { novelty, clearance, cruise, spin };
}

export function done(obs, ctx) {
  return obs.range_front < COLLISION_RANGE_M;
}
