/**
 * The first rover-reach policy: behaviour cloning of the proportional
 * controller into a small tanh MLP with TF.js, fitted in seconds. Kept as the
 * reproducible recipe of the bootstrap policy; `train-rover.ts` (evolution
 * strategies in the simulator) produces the real one.
 *
 *   node --no-node-snapshot --import tsx training/fit-rover-bc.ts [outDir]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mlp } from '../src/policy/mlp.js';
import { selectTfBackend } from '../src/policy/tfjs-runtime.js';
import { writeTfjsLayers } from '../src/policy/export/tfjs-layers.js';
import { evaluate, proportionalController, randomController } from './rover-eval.js';
import { mlpController, ROVER_REACH_DIR, roverReachManifest } from './rover-manifest.js';

const outDir = process.argv[2] ?? ROVER_REACH_DIR;
const { tf } = await selectTfBackend('auto');
tf.util.seedrandom?.('rover-bc');

// Samples over where the beacon can be (0.1..3 m, any bearing), labelled by the P controller.
const N = 20000;
const xs = new Float32Array(N * 2);
const ys = new Float32Array(N * 2);
const obs = new Float64Array(12);
const act = new Float64Array(2);
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
for (let i = 0; i < N; i++) {
  const d = 0.1 + 2.9 * rnd();
  const b = (rnd() * 2 - 1) * Math.PI;
  obs[10] = d * Math.cos(b);
  obs[11] = d * Math.sin(b);
  proportionalController(obs, act);
  xs[2 * i] = obs[10] / 1.5;
  xs[2 * i + 1] = obs[11] / 1.5;
  ys[2 * i] = Math.max(-1, Math.min(1, act[0]!));
  ys[2 * i + 1] = Math.max(-1, Math.min(1, act[1]!));
}
const model = tf.sequential({
  layers: [
    tf.layers.dense({ units: 32, activation: 'tanh', inputShape: [2] }),
    tf.layers.dense({ units: 32, activation: 'tanh' }),
    tf.layers.dense({ units: 2, activation: 'tanh' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
const h = await model.fit(tf.tensor2d(xs, [N, 2]), tf.tensor2d(ys, [N, 2]), { epochs: 40, batchSize: 256, verbose: 0, shuffle: true });
const loss = h.history.loss!.at(-1) as number;

const mlp = Mlp.zeros({ inputs: 2, hidden: [32, 32], outputs: 2, hiddenActivation: 'tanh', outputActivation: 'tanh' });
const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
mlp.layers.forEach((l, k) => {
  l.kernel.set(w[2 * k]!);
  l.bias.set(w[2 * k + 1]!);
});
const manifest = roverReachManifest(
  2,
  [{ format: 'tfjs-layers', path: 'model.json' }],
  { simulator: 'rewardd RoverModel (src/link/sim/rover-model.ts)', algorithm: 'behaviour cloning of the proportional controller (MSE, Adam)', seed: 12345, samples: N, final_loss: loss },
  'Bootstrap policy: a 2-32-32-2 tanh MLP cloned from the proportional beacon controller.',
);
const summary = evaluate(mlpController(mlp, manifest), { seed: 7, count: 100 });
const chance = evaluate(randomController(1), { seed: 7, count: 100 });
console.log(`bc loss ${loss.toFixed(5)}; success ${summary.successes}/100 (random ${chance.successes}/100)`);
await writeTfjsLayers(mlp, outDir);
writeFileSync(join(outDir, 'policy.json'), JSON.stringify({ ...manifest, training: { ...manifest.training, eval_success_100: summary.successes } }, null, 2) + '\n');
