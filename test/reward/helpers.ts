import { fileURLToPath } from 'node:url';
import { actionNames, loadRobot, observationNames } from '../../src/core/robot.js';
import { RewardRuntime, newRewardOutput, type RewardOutput, type RewardRuntimeOptions } from '../../src/reward/index.js';

export const ROVER_PATH = fileURLToPath(new URL('../../robots/rover.json', import.meta.url));
export const REWARDS_DIR = fileURLToPath(new URL('../../rewards/', import.meta.url));
export const rover = loadRobot(ROVER_PATH).robot;
export const OBS = observationNames(rover);
export const ACT = actionNames(rover);

/** A one-term program whose reward body is `body` (it must return { a: number }). */
export function program(body: string, extra = ''): string {
  return `export const meta = { name: 'hostile', goal: 'test', weights: { a: 1 } };\n${extra}\nexport function reward(obs, action, ctx) {\n${body}\n}\n`;
}

export async function runtime(source: string, opts: Partial<RewardRuntimeOptions> = {}, filename = 'test/hostile.reward.js'): Promise<RewardRuntime> {
  const rt = await RewardRuntime.create(source, filename, { observationNames: OBS, actionNames: ACT, ...opts });
  rt.beginEpisode({ index: 0, id: 'ep-0' });
  return rt;
}

/** A plausible rover observation at step i of a drive toward a beacon. */
export function roverObs(i: number, out = new Float32Array(OBS.length)): Float32Array {
  out.fill(0);
  out[OBS.indexOf('accel_x')] = 0.8 * Math.sin(i / 7);
  out[OBS.indexOf('accel_z')] = 9.81;
  out[OBS.indexOf('gyro_z')] = 0.3 * Math.sin(i / 40);
  out[OBS.indexOf('wheel_speed_left')] = 9 + 8 * Math.sin(i / 17);
  out[OBS.indexOf('wheel_speed_right')] = 9 + 8 * Math.cos(i / 23);
  out[OBS.indexOf('range_front')] = 0.05 + 3 * Math.abs(Math.sin(i / 300));
  out[OBS.indexOf('battery_voltage')] = 12.4 - i * 1e-4;
  out[OBS.indexOf('beacon_x')] = 4 - i * 0.004;
  out[OBS.indexOf('beacon_y')] = 1.5 * Math.cos(i / 90);
  return out;
}

export function roverAction(i: number, out = new Float32Array(ACT.length)): Float32Array {
  out[0] = Math.max(-1, Math.min(1, 0.6 + 0.5 * Math.sin(i / 13)));
  out[1] = Math.max(-1, Math.min(1, 0.6 + 0.5 * Math.cos(i / 11)));
  return out;
}

export function step(rt: RewardRuntime, i = 0, out: RewardOutput = newRewardOutput(rt.info.termNames.length)): RewardOutput {
  rt.evaluate(roverObs(i), roverAction(i), 0.01, out);
  return out;
}
