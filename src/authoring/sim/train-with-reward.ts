/**
 * Eureka's inner loop on the rover: train the reach policy with a candidate
 * reward program as the only training signal, then measure the task's success
 * on held-out episodes with the task's own test (beacon within 0.25 m inside
 * 15 s), never the candidate's success().
 *
 * The optimiser, network and policy contract are the repo's trainer's
 * (training/train-rover.ts): OpenAI-ES, a 4-16-16-2 tanh MLP behind the
 * rover-reach contract. Only the fitness differs: the mean candidate return
 * over a few training episodes instead of the hand-written task score.
 *
 * Episode seeds: training RoverModel seed 1001 (fresh episodes every
 * generation), checkpoints seed 4242 (a fixed set, for the reflection and for
 * picking which parameters to keep), held-out evaluation seed 7 (never seen in
 * training; the same set the committed policy is tested on).
 */
import { RoverModel } from '../../link/sim/rover-model.js';
import { SeededRandom } from '../../link/sim/random.js';
import type { RobotDescription } from '../../core/robot.js';
import { observationNames, actionNames } from '../../core/robot.js';
import { Mlp } from '../../policy/mlp.js';
import { RewardRuntime } from '../../reward/index.js';
import { EvolutionStrategy } from './es.js';
import { evaluate } from './reach-task.js';
import { RewardEpisodeRunner, TermTotals } from './reward-episode.js';
import { mlpController, roverReachManifest } from './rover-policy.js';

export interface SimTrainOptions {
  /** ES generations. */
  generations: number;
  /** Antithetic pairs per generation (population 2 × pairs). */
  pairs: number;
  /** Training episodes per parameter vector. */
  episodesPerCandidate: number;
  /** Evenly spaced points of training where term statistics are taken (first and last included). */
  checkpoints: number;
  /** Episodes run at each checkpoint. */
  checkpointEpisodes: number;
  /** Held-out episodes for the task's success test. */
  evalEpisodes: number;
  /** Seed of the initial parameters and of the ES noise. */
  seed: number;
}

/** Written once; docs/authoring.md quotes these. About 5-15 s per candidate on one core here. */
export const SIM_TRAIN_DEFAULTS: SimTrainOptions = { generations: 30, pairs: 12, episodesPerCandidate: 3, checkpoints: 10, checkpointEpisodes: 6, evalEpisodes: 50, seed: 1 };

export const SIM_SEEDS = { train: 1001, checkpoints: 4242, heldOut: 7 } as const;
const ES_STEP = { sigma: 0.08, learningRate: 0.03, weightDecay: 0.002 };
const HIDDEN = [16, 16];

export interface SimCheckpoint {
  generation: number;
  /** Mean value of each term per ok step over the checkpoint episodes. */
  terms: Record<string, number>;
  /** Mean candidate return per episode. */
  return: number;
  /** Fraction of checkpoint episodes where the task's success test held at some tick. */
  taskSuccessRate: number;
  /** Mean ticks until the candidate ended the episode (STEP_LIMIT if it never did). */
  meanTicks: number;
}

export interface SimTrainResult {
  termNames: string[];
  weights: Record<string, number>;
  checkpoints: SimCheckpoint[];
  /** Generation of the parameters that were kept (best candidate return at a checkpoint). */
  keptGeneration: number;
  heldOut: { seed: number; episodes: number; successes: number; successRate: number; meanTicksToSuccess: number | null; meanFinalDistance: number };
  failedSteps: number;
  firstFailure?: string;
  episodesSimulated: number;
  ticksSimulated: number;
  seconds: number;
}

/** Yields to the event loop once per generation, so progress messages leave the process as training goes. */
const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function trainWithReward(rt: RewardRuntime, robot: RobotDescription, options: SimTrainOptions, onProgress?: (generation: number, of: number) => void): Promise<SimTrainResult> {
  const t0 = performance.now();
  const o = options;
  const mlp = Mlp.zeros({ inputs: 4, hidden: HIDDEN, outputs: 2, hiddenActivation: 'tanh', outputActivation: 'tanh' });
  const controller = mlpController(mlp, roverReachManifest(4, [{ format: 'onnx', path: 'model.onnx' }], { simulator: 'rewardd', algorithm: 'es' }, ''));
  const init = new SeededRandom(o.seed ^ 0xabcdef);
  const theta0: number[] = [];
  for (const l of mlp.layers) {
    const s = Math.sqrt(1 / l.inputs);
    for (let i = 0; i < l.kernel.length; i++) theta0.push(s * init.gaussian());
    for (let i = 0; i < l.bias.length; i++) theta0.push(0);
  }
  const es = new EvolutionStrategy(theta0, { pairs: o.pairs, seed: o.seed, ...ES_STEP });
  const runner = new RewardEpisodeRunner(rt, robot);
  const trainModel = new RoverModel({ seed: SIM_SEEDS.train });
  const checkModel = new RoverModel({ seed: SIM_SEEDS.checkpoints });
  const names = rt.info.termNames;
  const result: SimTrainResult = {
    termNames: names,
    weights: rt.info.weights,
    checkpoints: [],
    keptGeneration: 0,
    heldOut: { seed: SIM_SEEDS.heldOut, episodes: 0, successes: 0, successRate: 0, meanTicksToSuccess: null, meanFinalDistance: NaN },
    failedSteps: 0,
    episodesSimulated: 0,
    ticksSimulated: 0,
    seconds: 0,
  };
  const tally = (r: { ticks: number; failedSteps: number; firstFailure?: string }): void => {
    result.episodesSimulated++;
    result.ticksSimulated += r.ticks;
    result.failedSteps += r.failedSteps;
    if (r.firstFailure !== undefined && result.firstFailure === undefined) result.firstFailure = r.firstFailure;
  };
  const at = new Set<number>();
  for (let i = 0; i < o.checkpoints; i++) at.add(o.checkpoints === 1 ? o.generations : Math.round((i * o.generations) / (o.checkpoints - 1)));
  let kept = { ret: -Infinity, theta: Float64Array.from(theta0), generation: 0 };
  const checkpoint = (generation: number): void => {
    mlp.setParameters(es.theta);
    const totals = new TermTotals(names.length);
    let ret = 0;
    let ticks = 0;
    let wins = 0;
    for (let e = 0; e < o.checkpointEpisodes; e++) {
      const r = runner.run(checkModel, e, controller, totals);
      tally(r);
      ret += r.return;
      ticks += r.ticks;
      if (r.taskSuccess) wins++;
    }
    const n = o.checkpointEpisodes;
    const terms: Record<string, number> = {};
    names.forEach((t, k) => (terms[t] = totals.steps > 0 ? totals.sums[k]! / totals.steps : NaN));
    result.checkpoints.push({ generation, terms, return: ret / n, taskSuccessRate: wins / n, meanTicks: ticks / n });
    // Keep the parameters the candidate itself likes best: the task's score must not leak into training.
    if (ret / n >= kept.ret) kept = { ret: ret / n, theta: Float64Array.from(es.theta), generation };
  };
  mlp.setParameters(theta0);
  if (at.has(0)) checkpoint(0);
  for (let gen = 0; gen < o.generations; gen++) {
    const fitness = es.ask().map((theta) => {
      mlp.setParameters(theta);
      let f = 0;
      for (let e = 0; e < o.episodesPerCandidate; e++) {
        const r = runner.run(trainModel, gen * o.episodesPerCandidate + e, controller);
        tally(r);
        f += r.return;
      }
      return f / o.episodesPerCandidate;
    });
    es.tell(fitness);
    if (at.has(gen + 1)) checkpoint(gen + 1);
    onProgress?.(gen + 1, o.generations);
    await yieldNow();
  }
  result.keptGeneration = kept.generation;
  mlp.setParameters(kept.theta);
  const ev = evaluate(controller, { seed: SIM_SEEDS.heldOut, count: o.evalEpisodes });
  result.heldOut = {
    seed: SIM_SEEDS.heldOut,
    episodes: ev.episodes,
    successes: ev.successes,
    successRate: ev.successRate,
    meanTicksToSuccess: Number.isFinite(ev.meanTicksToSuccess) ? ev.meanTicksToSuccess : null,
    meanFinalDistance: ev.meanFinalDistance,
  };
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

/** Loads a candidate into the sandbox with the robot's field names (throws its diagnostics if it does not load). */
export function loadCandidate(source: string, filename: string, robot: RobotDescription): Promise<RewardRuntime> {
  return RewardRuntime.create(source, filename, { observationNames: observationNames(robot), actionNames: actionNames(robot) });
}
