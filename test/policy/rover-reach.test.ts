import { describe, expect, it } from 'vitest';
import { RoverModel } from '../../src/link/sim/rover-model.js';
import { openPolicy } from '../../src/policy/session.js';
import { evaluate, randomController, runEpisodeAsync } from '../../training/rover-eval.js';
import { POLICY_DIR, ROVER } from './helpers.js';

// The fixed test set: rover seed 7, episodes 0-99 (never used in training; see training/train-rover.ts).
const SEED = 7;
const EPISODES = 100;

describe('the committed rover-reach policy in the simulator', () => {
  for (const backend of ['onnx', 'wasm'] as const) {
    it(`reaches the beacon in >= 90 of ${EPISODES} episodes (${backend}), where a random policy reaches almost none`, async () => {
      const policy = await openPolicy({ dir: POLICY_DIR, robot: ROVER, backend });
      const model = new RoverModel({ seed: SEED });
      let successes = 0;
      let collisions = 0;
      for (let e = 0; e < EPISODES; e++) {
        policy.resetEpisode();
        const r = await runEpisodeAsync(model, e, (obs, act) => policy.step(obs, act));
        if (r.success) successes++;
        if (r.collided) collisions++;
      }
      await policy.dispose();
      const chance = evaluate(randomController(1), { seed: SEED, count: EPISODES });
      expect(successes).toBeGreaterThanOrEqual(90);
      expect(chance.successes).toBeLessThan(10);
      expect(collisions).toBeLessThan(10);
    });
  }
});
