// Reward program: drive the rover to the beacon, with a vision-language term.
//
// The sensor terms are those of reach-beacon.reward.js. `vlm` is VLM-RM's goal-baseline
// reward of the newest camera frame (obs.vlm_goal, computed by the vision encoder with the
// prompts below), used only while the frame is fresh: a stale or missing camera scores 0,
// never a made-up value. Changing meta.vision (and pushing the file) is a new reward
// version; the encoder re-embeds the prompts and the steps say which prompts scored them.
//
// With the shipped model (models/clip-tiny, RANDOM weights) `vlm` is a deterministic
// function of the image with no meaning: real semantics need real CLIP weights
// (rewardd vision fetch; docs/vision.md).
import { tolerance, hypot, clamp } from 'rewardd';

const SUCCESS_RADIUS_M = 0.25;
const COLLISION_RANGE_M = 0.08;
/** Frames older than this do not count (a stalled camera). */
const FRESH_MS = 500;

export const meta = {
  name: 'reach-beacon-vision',
  goal: 'Drive the rover to the beacon and stop within 0.25 m of it; the camera should see the beacon filling the view.',
  weights: { distance: 1.0, heading: 0.3, progress: 0.5, effort: -0.05, vlm: 0.5 },
  ranges: { distance: [0, 1], heading: [0, 1], progress: [-1, 1], effort: [0, 1], vlm: [-1, 1] },
  vision: {
    goal: ['a red beacon right in front of the camera'],
    baseline: ['an empty grey room'],
    alpha: 0.5,
  },
};

function beaconDistance(obs) {
  return hypot(obs.beacon_x, obs.beacon_y);
}

export function reward(obs, action, ctx) {
  const dist = beaconDistance(obs);
  const distance = tolerance(dist, { bounds: [0, SUCCESS_RADIUS_M], margin: 3.0, sigmoid: 'long_tail', value_at_margin: 0.1 });
  const bearing = Math.atan2(obs.beacon_y, obs.beacon_x);
  const heading = dist < 1e-6 ? 1 : 0.5 * (1 + Math.cos(bearing));
  let progress = 0;
  if (ctx.prev !== null && ctx.dt > 0) progress = clamp((beaconDistance(ctx.prev) - dist) / ctx.dt, -1, 1);
  const effort = 0.5 * (action.wheel_left * action.wheel_left + action.wheel_right * action.wheel_right);
  const vlm = ctx.vision.age_ms <= FRESH_MS ? obs.vlm_goal : 0;
  return { distance, heading, progress, effort, vlm };
}

export function success(obs, ctx) {
  return beaconDistance(obs) < SUCCESS_RADIUS_M;
}

export function done(obs, ctx) {
  return obs.range_front < COLLISION_RANGE_M;
}
