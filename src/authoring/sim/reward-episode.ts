/**
 * One rover episode scored by a candidate reward program, as the daemon would
 * score it: physics at 100 Hz, the policy every HOLD_TICKS, the commanded
 * action through a default SafetyFilter, and the reward called every tick with
 * that tick's float32 observation and applied action. The episode ends when the
 * candidate's success() or done() says so, or at STEP_LIMIT ticks: the task's
 * own success test never ends a training episode (it is only recorded, for the
 * reflection), because training must see only what the candidate defines.
 *
 * The reward is evaluated in batches of CHUNK ticks (evaluateBatch keeps
 * ctx.state and ctx.prev across calls), so an episode the candidate ends early
 * costs at most CHUNK ticks of extra simulation.
 */
import { RewardStatus } from '../../core/records.js';
import type { RobotDescription } from '../../core/robot.js';
import { RoverModel, ROVER_SENSOR_COUNT } from '../../link/sim/rover-model.js';
import { newRewardBatchOutput, type RewardBatchOutput, type RewardRuntime } from '../../reward/index.js';
import { SafetyFilter } from '../../safety/filter.js';
import { HOLD_TICKS, STEP_LIMIT, SUCCESS_M, TICK_S, type Controller } from './reach-task.js';

/** Ticks per evaluateBatch call: 100 ticks × (12 obs + 2 actions) floats, 11 KiB of input. */
const CHUNK = 100;

export interface RewardEpisodeResult {
  /** Σ of the candidate's total over ok steps. */
  return: number;
  /** Ticks until the candidate ended the episode, or STEP_LIMIT. */
  ticks: number;
  endedBy: 'success' | 'done' | 'step_limit';
  /** The task's success test (beacon within SUCCESS_M) held at some tick of the episode. */
  taskSuccess: boolean;
  failedSteps: number;
  /** The first failed step's reason, if any. */
  firstFailure?: string;
}

/** Per-term sums over the ok steps of the episodes it has seen (the reflection's raw material). */
export class TermTotals {
  readonly sums: Float64Array;
  steps = 0;
  constructor(readonly termCount: number) {
    this.sums = new Float64Array(termCount);
  }
}

export class RewardEpisodeRunner {
  private readonly obs64 = new Float64Array(ROVER_SENSOR_COUNT);
  private readonly action = new Float64Array(2);
  private readonly applied = new Float64Array(2);
  private readonly obsChunk = new Float32Array(CHUNK * ROVER_SENSOR_COUNT);
  private readonly actChunk = new Float32Array(CHUNK * 2);
  /** Per tick of the chunk: the task's success test held after the step. */
  private readonly atBeacon = new Uint8Array(CHUNK);
  private readonly out: RewardBatchOutput;
  private readonly nT: number;

  constructor(private readonly rt: RewardRuntime, private readonly robot: RobotDescription) {
    this.nT = rt.info.termNames.length;
    this.out = newRewardBatchOutput(CHUNK, this.nT);
  }

  run(model: RoverModel, episodeIndex: number, controller: Controller, totals?: TermTotals): RewardEpisodeResult {
    model.reset(episodeIndex);
    this.rt.beginEpisode({ index: episodeIndex, id: `sim-${model.opts.seed}-${episodeIndex}` });
    const filter = new SafetyFilter(this.robot);
    const res: RewardEpisodeResult = { return: 0, ticks: 0, endedBy: 'step_limit', taskSuccess: false, failedSteps: 0 };
    let actAt: bigint | null = null;
    let tick = 0;
    while (tick < STEP_LIMIT) {
      const n = Math.min(CHUNK, STEP_LIMIT - tick);
      for (let k = 0; k < n; k++, tick++) {
        model.sense(this.obs64);
        const now = BigInt(tick) * 10_000_000n;
        if (tick % HOLD_TICKS === 0) {
          controller(this.obs64, this.action);
          actAt = now;
        }
        filter.apply(this.action, actAt, now, this.applied);
        this.obsChunk.set(this.obs64, k * ROVER_SENSOR_COUNT);
        this.actChunk[2 * k] = this.applied[0]!;
        this.actChunk[2 * k + 1] = this.applied[1]!;
        model.step(TICK_S, this.applied[0]!, this.applied[1]!);
        // After the step, as ReachEpisode tests it: the action of tick k is what got the rover there.
        this.atBeacon[k] = model.beaconDistance() < SUCCESS_M ? 1 : 0;
      }
      const out = n === CHUNK ? this.out : newRewardBatchOutput(n, this.nT);
      this.rt.evaluateBatch(this.obsChunk.subarray(0, n * ROVER_SENSOR_COUNT), this.actChunk.subarray(0, n * 2), TICK_S, out);
      const first = tick - n;
      for (let k = 0; k < n; k++) {
        if (this.atBeacon[k]) res.taskSuccess = true;
        if (out.status[k] !== RewardStatus.ok) {
          if (res.failedSteps++ === 0) res.firstFailure = out.reasons.get(k) ?? `status ${out.status[k]}`;
          continue;
        }
        res.return += out.total[k]!;
        if (totals) {
          totals.steps++;
          for (let t = 0; t < this.nT; t++) totals.sums[t]! += out.terms[k * this.nT + t]!;
        }
        if (out.success[k] || out.done[k]) {
          res.ticks = first + k + 1;
          res.endedBy = out.success[k] ? 'success' : 'done';
          return res;
        }
      }
    }
    res.ticks = STEP_LIMIT;
    return res;
  }
}
