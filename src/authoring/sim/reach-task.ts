/**
 * The reach-beacon task of the rover simulator (moved here from training/ so
 * that the CLI's `reward refine --sim` can use it from dist/).
 *
 * Runs a controller on the reach-beacon task in the TypeScript rover model,
 * exactly as the daemon would at the default rates: physics at 100 Hz, the
 * policy at 20 Hz (each action held for 5 ticks), success when the beacon is
 * closer than 0.25 m, at most 1500 ticks (15 s). Used by the trainer (fitness),
 * by the test that gates the committed policy, and by the report.
 */
import { join } from 'node:path';
import { RoverModel, ROVER_SENSOR_COUNT, type RoverOptions } from '../../link/sim/rover-model.js';
import { loadRobot } from '../../core/robot.js';
import { packageRoot } from '../../core/version.js';
import { SafetyFilter } from '../../safety/filter.js';

const ROVER = loadRobot(join(packageRoot(), 'robots', 'rover.json')).robot;

export const TICK_S = 0.01;
export const HOLD_TICKS = 5;
export const STEP_LIMIT = 1500;
export const SUCCESS_M = 0.25;

/** Robot observation (ROVER_SENSOR_NAMES order) -> robot action [left, right]. */
export type Controller = (obs: Float64Array, action: Float64Array) => void;

export interface EpisodeResult {
  success: boolean;
  ticks: number;
  collided: boolean;
  finalDistance: number;
  startDistance: number;
}

/**
 * One reach-beacon episode, stepped by the caller so that sync (trainer) and
 * async (runtime sessions) controllers share it. The commanded action goes
 * through a default SafetyFilter (limits, rate limit), as on the robot, so
 * the trainer optimises what the motors will actually receive.
 */
export class ReachEpisode {
  readonly obs = new Float64Array(ROVER_SENSOR_COUNT);
  readonly action = new Float64Array(2);
  private readonly applied = new Float64Array(2);
  private readonly filter = new SafetyFilter(ROVER);
  private actAt: bigint | null = null;
  readonly startDistance: number;
  ticks = 0;
  success = false;

  constructor(private readonly model: RoverModel, episodeIndex: number) {
    model.reset(episodeIndex);
    this.startDistance = model.beaconDistance();
  }

  /** True when the policy is due (every HOLD_TICKS): obs holds a fresh reading; write `action`, then call tick(). */
  policyDue(): boolean {
    if (this.ticks % HOLD_TICKS !== 0) return false;
    this.model.sense(this.obs);
    return true;
  }

  /** Advances one tick; returns true when the episode is over. */
  tick(): boolean {
    const now = BigInt(this.ticks) * 10_000_000n;
    if (this.ticks % HOLD_TICKS === 0) this.actAt = now;
    this.filter.apply(this.action, this.actAt, now, this.applied);
    this.model.step(TICK_S, this.applied[0]!, this.applied[1]!);
    this.ticks++;
    this.success = this.model.beaconDistance() < SUCCESS_M;
    return this.success || this.ticks >= STEP_LIMIT;
  }

  result(): EpisodeResult {
    return { success: this.success, ticks: this.ticks, collided: this.model.collided, finalDistance: this.model.beaconDistance(), startDistance: this.startDistance };
  }
}

export function runEpisode(model: RoverModel, episodeIndex: number, controller: Controller): EpisodeResult {
  const ep = new ReachEpisode(model, episodeIndex);
  do {
    if (ep.policyDue()) controller(ep.obs, ep.action);
  } while (!ep.tick());
  return ep.result();
}

/** The same episode with an async controller (a PolicySession's step). */
export async function runEpisodeAsync(model: RoverModel, episodeIndex: number, step: (obs: Float64Array, act: Float64Array) => Promise<void>): Promise<EpisodeResult> {
  const ep = new ReachEpisode(model, episodeIndex);
  do {
    if (ep.policyDue()) await step(ep.obs, ep.action);
  } while (!ep.tick());
  return ep.result();
}

export interface EvalSummary {
  episodes: number;
  successes: number;
  successRate: number;
  meanTicksToSuccess: number;
  meanFinalDistance: number;
}

/** Episodes `first .. first+count-1` of a RoverModel with the given seed (the fixed evaluation set). */
export function evaluate(controller: Controller, opts: { seed: number; first?: number; count: number; rover?: Partial<RoverOptions> }): EvalSummary {
  const model = new RoverModel({ ...opts.rover, seed: opts.seed });
  let successes = 0;
  let ticks = 0;
  let dist = 0;
  const first = opts.first ?? 0;
  for (let e = first; e < first + opts.count; e++) {
    const r = runEpisode(model, e, controller);
    if (r.success) {
      successes++;
      ticks += r.ticks;
    }
    dist += r.finalDistance;
  }
  return {
    episodes: opts.count,
    successes,
    successRate: successes / opts.count,
    meanTicksToSuccess: successes ? ticks / successes : NaN,
    meanFinalDistance: dist / opts.count,
  };
}

/** The hand-written proportional controller (the reference: reaches every beacon). */
export const proportionalController: Controller = (obs, act) => {
  const bearing = Math.atan2(obs[11]!, obs[10]!);
  const fwd = Math.max(0, Math.cos(bearing)) * 0.8;
  const turn = Math.max(-1, Math.min(1, 2 * bearing)) * 0.5;
  act[0] = fwd - turn;
  act[1] = fwd + turn;
};

/** Uniform random wheel commands in [-1, 1], from a fixed seed (the chance baseline). */
export function randomController(seed: number): Controller {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (_obs, act) => {
    act[0] = next() * 2 - 1;
    act[1] = next() * 2 - 1;
  };
}
