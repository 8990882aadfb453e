/**
 * The `--sim` evaluator: train the rover with the candidate (in a child
 * process), score the held-out task success, and turn the training log into
 * the reflection.
 */
import type { RobotDescription } from '../core/robot.js';
import { ROVER_SENSOR_NAMES } from '../link/sim/rover-model.js';
import { RewarddError } from '../core/errors.js';
import type { Evaluation, Evaluator, ProgramText } from './evaluation.js';
import { fmt, hintsFor, reflectionText, series, type Reflection } from './reflection.js';
import { STEP_LIMIT, SUCCESS_M, TICK_S } from './sim/reach-task.js';
import { trainCandidateInChild } from './sim/sim-fitness.js';
import type { SimTrainOptions, SimTrainResult } from './sim/train-with-reward.js';

export interface SimEvaluatorOptions {
  robot: RobotDescription;
  train: SimTrainOptions;
  timeoutS: number;
}

/** The simulator is the rover's: refuse a robot whose observations it does not produce. */
export function checkSimRobot(robot: RobotDescription): void {
  const names = robot.observations.map((f) => f.name).join(',');
  if (names !== ROVER_SENSOR_NAMES.join(',') || robot.actions.map((a) => a.name).join(',') !== 'wheel_left,wheel_right') {
    throw new RewarddError('E_CONFIG', `--sim: the simulator is the rover's (robots/rover.json: ${ROVER_SENSOR_NAMES.length} observations, wheel_left/wheel_right); found robot "${robot.name}" with ${robot.observations.length} observations`);
  }
}

export const SIM_TASK = `reach the beacon: within ${SUCCESS_M} m of it inside ${(STEP_LIMIT * TICK_S).toFixed(0)} s`;

export function simReflection(r: SimTrainResult): Reflection {
  const cps = r.checkpoints;
  const terms = r.termNames.map((t) => ({ term: t, weight: r.weights[t] ?? NaN, ...series(cps.map((c) => c.terms[t] ?? NaN)) }));
  const h = r.heldOut;
  const success = series(cps.map((c) => c.taskSuccessRate));
  return {
    source: 'sim',
    pointsAre: 'generation',
    at: cps.map((c) => c.generation),
    terms,
    success,
    episodeLength: series(cps.map((c) => c.meanTicks)),
    fitnessLine: `Task success on ${h.episodes} held-out episodes (rover seed ${h.seed}, the task's own test: ${SIM_TASK}): ${h.successes}/${h.episodes} (${fmt(h.successRate)})${h.meanTicksToSuccess !== null ? `, mean ${Math.round(h.meanTicksToSuccess)} ticks to success` : ''}; the policy kept was the one of generation ${r.keptGeneration} (best return under this reward).`,
    notes: r.failedSteps > 0 ? [`${r.failedSteps} of ${r.ticksSimulated} reward steps failed in training (they count 0); the first: ${r.firstFailure ?? '?'}`] : [],
    hints: hintsFor(terms, h.successRate, 'the task success rate on held-out episodes is'),
  };
}

export class SimEvaluator implements Evaluator {
  readonly mode = 'sim' as const;
  constructor(private readonly o: SimEvaluatorOptions) {
    checkSimRobot(o.robot);
  }

  describe(): string {
    const t = this.o.train;
    return `sim: ES ${t.generations} generations × ${2 * t.pairs} policies × ${t.episodesPerCandidate} episodes, then the task's test on ${t.evalEpisodes} held-out episodes`;
  }

  async evaluate(p: ProgramText, signal: AbortSignal | undefined, onProgress?: (text: string) => void): Promise<Evaluation> {
    const r = await trainCandidateInChild(p.source, p.filename, {
      robot: this.o.robot,
      train: this.o.train,
      timeoutS: this.o.timeoutS,
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress: (g: number, of: number) => onProgress(`training generation ${g}/${of}`) } : {}),
    });
    if (!r.ok) return { mode: 'sim', ok: false, fitness: null, tieBreak: null, seconds: r.seconds, error: r.error };
    const reflection = simReflection(r.result);
    const h = r.result.heldOut;
    return {
      mode: 'sim',
      ok: true,
      fitness: h.successRate,
      // Equal success: fewer ticks to the beacon wins.
      tieBreak: h.meanTicksToSuccess === null ? -Infinity : -h.meanTicksToSuccess,
      seconds: r.seconds,
      reflection,
      text: reflectionText(reflection, 'this reward program'),
      details: { heldOut: h, keptGeneration: r.result.keptGeneration, checkpoints: r.result.checkpoints, failedSteps: r.result.failedSteps, episodesSimulated: r.result.episodesSimulated, ticksSimulated: r.result.ticksSimulated, trainSeconds: r.result.seconds },
    };
  }
}
