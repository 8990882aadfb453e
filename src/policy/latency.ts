/**
 * Inference latency of a policy session, batch 1, as the runner sees it
 * (encode + model + decode). Shared by `rewardd policy bench` and bench/policy.ts.
 */
import { SeededRandom } from '../link/sim/random.js';
import type { RobotDescription } from '../core/robot.js';

export interface Latency {
  samples: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export function summarise(us: Float64Array): Latency {
  const s = Float64Array.from(us).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { samples: s.length, p50Us: at(0.5), p99Us: at(0.99), meanUs: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times `step` on random in-range robot observations; the first `warmup` calls are not counted. */
export async function measureStep(
  robot: RobotDescription,
  step: (obs: Float64Array, act: Float64Array) => void | Promise<void>,
  iterations = 2000,
  warmup = 200,
): Promise<Latency> {
  const rng = new SeededRandom(1);
  const pool = Array.from({ length: 64 }, () => Float64Array.from(robot.observations, (f) => rng.uniform(f.min, f.max)));
  const act = new Float64Array(robot.actions.length);
  const us = new Float64Array(iterations);
  for (let i = 0; i < warmup + iterations; i++) {
    const obs = pool[i % pool.length]!;
    const t0 = process.hrtime.bigint();
    await step(obs, act);
    const dt = Number(process.hrtime.bigint() - t0) / 1e3;
    if (i >= warmup) us[i - warmup] = dt;
  }
  return summarise(us);
}
