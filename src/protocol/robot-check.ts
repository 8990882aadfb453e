import type { RobotDescription } from '../core/robot.js';
import { RewarddError } from '../core/errors.js';
import { channelFieldNames, type ChannelInfo } from './frames.js';

/**
 * Checks a HELLO's channel table against the robot description: every
 * observation the robot names must come from some channel, with the unit the
 * description states (scaled value = raw × scale). Extra channels are allowed
 * (a board may report more than one robot uses). Returns the problems found;
 * empty means the table serves the robot.
 */
export function channelTableMismatches(channels: readonly ChannelInfo[], robot: RobotDescription): string[] {
  const units = new Map<string, string>();
  for (const c of channels) {
    const names = channelFieldNames([c]);
    for (const n of names) units.set(n, c.unit);
  }
  const problems: string[] = [];
  for (const f of robot.observations) {
    if (f.source !== undefined) continue; // a vision field: the encoder's, not a channel's
    const unit = units.get(f.name);
    if (unit === undefined) problems.push(`observation ${f.name}: expected a channel providing it, found none in HELLO`);
    else if (unit !== f.unit) problems.push(`observation ${f.name}: expected unit "${f.unit}", found "${unit}" in HELLO`);
  }
  return problems;
}

/**
 * For each robot observation, its index in SAMPLE.values. Throws E_PROTOCOL
 * listing every mismatch, so a user sees all of them at once.
 */
export function observationIndex(channels: readonly ChannelInfo[], robot: RobotDescription): Int32Array {
  const problems = channelTableMismatches(channels, robot);
  if (problems.length > 0) {
    throw new RewarddError('E_PROTOCOL', `HELLO channel table does not match robot "${robot.name}": ${problems.join('; ')}`);
  }
  const fields = channelFieldNames(channels);
  const out = new Int32Array(robot.observations.length);
  robot.observations.forEach((f, i) => (out[i] = fields.indexOf(f.name)));
  return out;
}
