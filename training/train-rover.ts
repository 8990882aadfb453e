/**
 * Trains the rover-reach policy with evolution strategies in the TypeScript
 * rover model and exports it to policies/rover-reach/ as TF.js (model.json +
 * weights.bin) and ONNX (model.onnx) with its policy.json and a training log.
 *
 *   node --no-node-snapshot --import tsx training/train-rover.ts [--generations 300] [--minutes 12] [--seed 1] [--out DIR]
 *
 * Episodes: seeds 1001 (training, new episodes every generation), 4242
 * (validation, picks the best parameters), 7 (the 100-episode test set the
 * report and test/policy quote; never seen in training).
 */
import { execSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoverModel } from '../src/link/sim/rover-model.js';
import { SeededRandom } from '../src/link/sim/random.js';
import { Mlp } from '../src/policy/mlp.js';
import { writeOnnxMlp } from '../src/policy/export/onnx.js';
import { writeTfjsLayers } from '../src/policy/export/tfjs-layers.js';
import { EvolutionStrategy } from './es.js';
import { evaluate, randomController, runEpisode, STEP_LIMIT } from './rover-eval.js';
import { mlpController, ROVER_REACH_DIR, roverReachManifest } from './rover-manifest.js';
import { checkExports } from './check-exports.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const GENERATIONS = Number(arg('generations', '300'));
const MINUTES = Number(arg('minutes', '12'));
const SEED = Number(arg('seed', '1'));
const OUT = arg('out', ROVER_REACH_DIR);
const LOG = arg('log', new URL('./logs/train-rover.txt', import.meta.url).pathname);
const HIDDEN = [16, 16];
const EPISODES_PER_CANDIDATE = 6;
const ES = { pairs: 24, sigma: 0.08, learningRate: 0.03, weightDecay: 0.002, seed: SEED };
const TRAIN_SEED = 1001;
const VAL_SEED = 4242;
const TEST_SEED = 7;

mkdirSync(join(LOG, '..'), { recursive: true });
writeFileSync(LOG, '');
const log = (line: string): void => {
  console.log(line);
  appendFileSync(LOG, line + '\n');
};

const mlp = Mlp.zeros({ inputs: 4, hidden: HIDDEN, outputs: 2, hiddenActivation: 'tanh', outputActivation: 'tanh' });
const manifest0 = roverReachManifest(4, [{ format: 'onnx', path: 'model.onnx' }], { simulator: 'rewardd', algorithm: 'es' }, '');
const controller = mlpController(mlp, manifest0);
const init = new SeededRandom(SEED ^ 0xabcdef);
// Glorot-like scale per layer, so the untrained network is neither saturated nor flat.
const theta0: number[] = [];
for (const l of mlp.layers) {
  const s = Math.sqrt(1 / l.inputs);
  for (let i = 0; i < l.kernel.length; i++) theta0.push(s * init.gaussian());
  for (let i = 0; i < l.bias.length; i++) theta0.push(0);
}
const es = new EvolutionStrategy(theta0, ES);

/** Episode return: success is worth most (more if fast); otherwise progress toward the beacon; collisions cost. */
function episodeReturn(model: RoverModel, index: number): number {
  const r = runEpisode(model, index, controller);
  const progress = Math.max(-1, (r.startDistance - r.finalDistance) / r.startDistance);
  return (r.success ? 2 - r.ticks / STEP_LIMIT : 0) + 0.5 * progress - (r.collided ? 0.5 : 0);
}

const trainModel = new RoverModel({ seed: TRAIN_SEED });
const t0 = Date.now();
log(`train-rover: ES ${JSON.stringify(ES)}, MLP 4-${HIDDEN.join('-')}-2 tanh (${mlp.parameterCount} parameters), ${EPISODES_PER_CANDIDATE} episodes per candidate, up to ${GENERATIONS} generations / ${MINUTES} min`);
mlp.setParameters(theta0);
const untrained = evaluate(controller, { seed: VAL_SEED, count: 50 });
log(`gen    0  untrained network: val success ${untrained.successes}/50`);
let best = { success: -1, ticks: Infinity, gen: -1, theta: Float64Array.from(theta0) };
let perfectChecks = 0;
let gen = 0;
for (; gen < GENERATIONS && Date.now() - t0 < MINUTES * 60_000; gen++) {
  const candidates = es.ask();
  const fitness = candidates.map((c) => {
    mlp.setParameters(c);
    let f = 0;
    for (let e = 0; e < EPISODES_PER_CANDIDATE; e++) f += episodeReturn(trainModel, gen * EPISODES_PER_CANDIDATE + e);
    return f / EPISODES_PER_CANDIDATE;
  });
  const gnorm = es.tell(fitness);
  if (gen % 10 === 9 || gen === GENERATIONS - 1) {
    mlp.setParameters(es.theta);
    const val = evaluate(controller, { seed: VAL_SEED, count: 50 });
    const meanFit = fitness.reduce((a, b) => a + b, 0) / fitness.length;
    log(`gen ${String(gen + 1).padStart(4)}  t ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  fitness mean ${meanFit.toFixed(3)} max ${Math.max(...fitness).toFixed(3)}  |g| ${gnorm.toFixed(3)}  val success ${val.successes}/50  val ticks ${val.meanTicksToSuccess.toFixed(0)}`);
    if (val.successes > best.success || (val.successes === best.success && val.meanTicksToSuccess < best.ticks)) {
      best = { success: val.successes, ticks: val.meanTicksToSuccess, gen: gen + 1, theta: Float64Array.from(es.theta) };
    }
    perfectChecks = val.successes === 50 ? perfectChecks + 1 : 0;
    if (perfectChecks >= 5) {
      log(`validation at 50/50 for 5 checks in a row: stopping at generation ${gen + 1}`);
      gen++;
      break;
    }
  }
}
const seconds = (Date.now() - t0) / 1000;
mlp.setParameters(best.theta);
const test = evaluate(controller, { seed: TEST_SEED, count: 100 });
const chance = evaluate(randomController(1), { seed: TEST_SEED, count: 100 });
log(`best: generation ${best.gen} (val ${best.success}/50); ${gen} generations in ${seconds.toFixed(0)} s`);
log(`test set (seed ${TEST_SEED}, episodes 0-99): trained ${test.successes}/100 (mean ${test.meanTicksToSuccess.toFixed(0)} ticks to success), random ${chance.successes}/100`);

let revision = 'unknown';
try {
  revision = execSync('git rev-parse --short HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  /* not a git checkout: provenance says unknown */
}
const manifest = roverReachManifest(
  4,
  [
    { format: 'tfjs-layers', path: 'model.json' },
    { format: 'onnx', path: 'model.onnx', input: 'obs', output: 'action' },
  ],
  {
    simulator: 'rewardd RoverModel (src/link/sim/rover-model.ts), 100 Hz physics, policy 20 Hz, default noise, through the default SafetyFilter',
    algorithm: 'evolution strategies (OpenAI-ES: antithetic, centred ranks, Adam)',
    seed: SEED,
    code_revision: revision,
    hyperparameters: { ...ES, hidden: HIDDEN, episodes_per_candidate: EPISODES_PER_CANDIDATE },
    generations: gen,
    best_generation: best.gen,
    train_seconds: Math.round(seconds),
    episode_seeds: { train: TRAIN_SEED, validation: VAL_SEED, test: TEST_SEED },
    test_success_100: test.successes,
    random_success_100: chance.successes,
    log: 'training/logs/train-rover.txt',
  },
  `Reach the beacon: 4-${HIDDEN.join('-')}-2 tanh MLP trained by evolution strategies in the rover simulator (npm run train:rover).`,
);
mkdirSync(OUT, { recursive: true });
await writeTfjsLayers(mlp, OUT);
writeOnnxMlp(mlp, join(OUT, 'model.onnx'));
writeFileSync(join(OUT, 'policy.json'), JSON.stringify(manifest, null, 2) + '\n');
const diff = await checkExports(OUT, mlp);
log(`exports: TF.js (${diff.tfBackend}) and ONNX agree with the trainer's network: max |diff| tfjs ${diff.tf.toExponential(1)}, onnx ${diff.onnx.toExponential(1)}`);
log(`wrote ${OUT}policy.json, model.json, weights.bin, model.onnx`);
if (test.successes < 90) {
  log(`WARNING: test success ${test.successes}/100 is below the 90/100 target`);
  process.exitCode = 1;
}
