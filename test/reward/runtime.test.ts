import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex, shortHash } from '../../src/core/hash.js';
import { RewardStatus } from '../../src/core/records.js';
import { hostStdlib, loadRewardFile, newRewardBatchOutput, newRewardOutput, RewardRuntime, type RewardProgramInfo } from '../../src/reward/index.js';
import { ACT, OBS, REWARDS_DIR, roverAction, roverObs, runtime } from './helpers.js';

const EXAMPLES = ['reach-beacon.reward.js', 'explore-safely.reward.js', 'smooth-efficient.reward.ts'];
const N = 1500;

function episodeData(n: number): { obs: Float32Array; actions: Float32Array } {
  const obs = new Float32Array(n * OBS.length);
  const actions = new Float32Array(n * ACT.length);
  for (let i = 0; i < n; i++) {
    obs.set(roverObs(i), i * OBS.length);
    actions.set(roverAction(i), i * ACT.length);
  }
  return { obs, actions };
}

describe('RewardRuntime on the example programs', () => {
  it.each(EXAMPLES)('%s: online, batch and a second replay give bit-identical terms', async (name) => {
    const { source, filename } = await loadRewardFile(join(REWARDS_DIR, name));
    const rt = await RewardRuntime.create(source, filename, { observationNames: OBS, actionNames: ACT, batchChunk: 97 });
    const nT = rt.info.termNames.length;
    const { obs, actions } = episodeData(N);

    rt.beginEpisode({ index: 0, id: 'online' });
    const online = newRewardBatchOutput(N, nT);
    const out = newRewardOutput(nT);
    for (let i = 0; i < N; i++) {
      rt.evaluate(obs.subarray(i * OBS.length, (i + 1) * OBS.length), actions.subarray(i * ACT.length, (i + 1) * ACT.length), 0.01, out);
      online.status[i] = out.status;
      online.total[i] = out.total;
      online.terms.set(out.terms, i * nT);
      online.success[i] = out.success ? 1 : 0;
      online.done[i] = out.done ? 1 : 0;
    }
    expect([...online.status].every((s) => s === RewardStatus.ok)).toBe(true);

    rt.beginEpisode({ index: 1, id: 'batch' });
    const batch = rt.evaluateBatch(obs, actions, 0.01);
    rt.beginEpisode({ index: 2, id: 'batch-again' });
    const again = rt.evaluateBatch(obs, actions, new Float64Array(N).fill(0.01));

    // Bit-identical: compare the raw bytes, so -0/+0 and NaN payloads count too.
    const bytes = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(batch.terms).equals(bytes(online.terms))).toBe(true);
    expect(bytes(again.terms).equals(bytes(online.terms))).toBe(true);
    expect(bytes(batch.total).equals(bytes(online.total))).toBe(true);
    expect(Buffer.from(batch.done).equals(Buffer.from(online.done))).toBe(true);
    expect(Buffer.from(batch.success).equals(Buffer.from(online.success))).toBe(true);
    // Terms vary: a reward that is constant over a drive would be a useless test.
    for (let t = 0; t < nT; t++) {
      const col = Array.from({ length: N }, (_, i) => batch.terms[i * nT + t]);
      expect(new Set(col).size, rt.info.termNames[t]).toBeGreaterThan(1);
    }
    rt.dispose();
  });

  it('total is Σ weight × term in termNames order, and info describes the program', async () => {
    const path = join(REWARDS_DIR, 'reach-beacon.reward.js');
    const source = readFileSync(path, 'utf8');
    const rt = await RewardRuntime.create(source, path, { observationNames: OBS, actionNames: ACT });
    const want: Partial<RewardProgramInfo> = {
      version: shortHash(source),
      sha256: sha256Hex(source),
      name: 'reach-beacon',
      termNames: ['distance', 'heading', 'progress', 'effort'],
      weights: { distance: 1, heading: 0.3, progress: 0.5, effort: -0.05 },
      hasSuccess: true,
      hasDone: true,
    };
    expect(rt.info).toMatchObject(want);
    rt.beginEpisode({ index: 0, id: 'e' });
    const out = newRewardOutput(4);
    rt.evaluate(roverObs(0), roverAction(0), 0.01, out);
    rt.evaluate(roverObs(1), roverAction(1), 0.01, out);
    const w = [1, 0.3, 0.5, -0.05];
    let total = 0;
    for (let i = 0; i < 4; i++) total += (w[i] as number) * (out.terms[i] as number);
    expect(out.total).toBe(total);
    expect(out.terms[2]).not.toBe(0); // progress uses ctx.prev from step 0
    rt.dispose();
  });

  it('success and done follow the program (beacon reached; obstacle ahead)', async () => {
    const { source, filename } = await loadRewardFile(join(REWARDS_DIR, 'reach-beacon.reward.js'));
    const rt = await RewardRuntime.create(source, filename, { observationNames: OBS, actionNames: ACT });
    rt.beginEpisode({ index: 0, id: 'e' });
    const out = newRewardOutput(4);
    const o = roverObs(0);
    o[OBS.indexOf('range_front')] = 1;
    o[OBS.indexOf('beacon_x')] = 0.1;
    o[OBS.indexOf('beacon_y')] = 0.1;
    rt.evaluate(o, roverAction(0), 0.01, out);
    expect([out.status, out.success, out.done]).toEqual([RewardStatus.ok, true, false]);
    o[OBS.indexOf('range_front')] = 0.05;
    rt.evaluate(o, roverAction(1), 0.01, out);
    expect([out.success, out.done]).toEqual([true, true]);
    rt.dispose();
  });

  it('ctx carries dt, step, prev, episode and a per-episode state', async () => {
    const rt = await runtime(`export const meta = { name: 'ctx', goal: 'g', weights: { dt: 1, step: 1, prev: 1, ep: 1, n: 1 } };
export function reward(obs, action, ctx) {
  ctx.state.n = (ctx.state.n ?? 0) + 1;
  return { dt: ctx.dt, step: ctx.step, prev: ctx.prev === null ? -1 : ctx.prev.beacon_x, ep: ctx.episode.index, n: ctx.state.n };
}`);
    const out = newRewardOutput(5);
    rt.evaluate(roverObs(0), roverAction(0), 0.02, out);
    expect([...out.terms]).toEqual([0.02, 0, -1, 0, 1]);
    rt.evaluate(roverObs(1), roverAction(1), 0.01, out);
    expect([...out.terms]).toEqual([0.01, 1, Math.fround(4), 0, 2]);
    rt.beginEpisode({ index: 7, id: 'ep-7' });
    rt.evaluate(roverObs(2), roverAction(2), 0.01, out);
    expect([...out.terms]).toEqual([0.01, 0, -1, 7, 1]);
    rt.dispose();
  });

  it('a batch that dies mid-way keeps the steps before, marks the step, and leaves the rest unavailable', async () => {
    const rt = await runtime(`export const meta = { name: 'mid', goal: 'g', weights: { a: 1 } };
export function reward(obs, action, ctx) { if (ctx.step === 150) for (;;) {} return { a: ctx.step }; }`, { batchChunk: 64 });
    const { obs, actions } = episodeData(300);
    const b = rt.evaluateBatch(obs, actions, 0.01);
    expect(b.terms[149]).toBe(149);
    expect([b.status[149], b.status[150], b.status[151], b.status[299]]).toEqual([RewardStatus.ok, RewardStatus.timeout, RewardStatus.unavailable, RewardStatus.unavailable]);
    expect(b.reasons.get(150)).toMatch(/E_REWARD_TIMEOUT: reward "mid" v[0-9a-f]{12} ran past its 2 ms budget plus 20 ms grace at step 150/);
    expect(b.reasons.get(151)).toMatch(/no reward until the next episode/);
    rt.dispose();
  });

  it('TypeScript programs report errors at .ts lines', async () => {
    const ts = `import { clamp } from 'rewardd';
type Obs = { range_front: number };

export const meta = { name: 'ts', goal: 'g', weights: { a: 1 } };

export function reward(obs: Obs): { a: number } {
  const x = clamp(obs.range_front, 0, 1) as number;
  if (x < 10) throw new RangeError('deliberate');
  return { a: x };
}
`;
    const rt = await runtime(ts, {}, 'rewards/t.reward.ts');
    const out = newRewardOutput(1);
    rt.evaluate(roverObs(0), roverAction(0), 0.01, out);
    expect(out.status).toBe(RewardStatus.threw);
    expect(out.reason).toMatch(/RangeError: deliberate \(rewards\/t\.reward\.ts:8\)/);
    rt.dispose();
  });

  it('evaluate never throws on a shape mismatch; evaluateBatch does', async () => {
    const rt = await runtime(`export const meta = { name: 's', goal: 'g', weights: { a: 1 } }; export function reward() { return { a: 1 }; }`);
    const out = newRewardOutput(1);
    rt.evaluate(new Float32Array(3), roverAction(0), 0.01, out);
    expect(out.status).toBe(RewardStatus.unavailable);
    expect(out.reason).toMatch(/E_CONFIG: expected 12 observation and 2 action values, found 3 and 2/);
    expect(() => rt.evaluateBatch(new Float32Array(13), new Float32Array(2), 0.01)).toThrow(/E_CONFIG/);
    rt.dispose();
    rt.evaluate(roverObs(0), roverAction(0), 0.01, out);
    expect(out.reason).toMatch(/disposed/);
  });
});

describe('stdlib', () => {
  const rw = hostStdlib() as Record<string, (...a: unknown[]) => number>;
  const tol = rw.tolerance as (x: number, o?: object) => number;
  it('tolerance matches dm_control: 1 in bounds, value_at_margin at the margin, for every sigmoid', () => {
    for (const sigmoid of ['gaussian', 'hyperbolic', 'long_tail', 'reciprocal', 'cosine', 'linear', 'quadratic', 'tanh_squared']) {
      expect(tol(0.5, { bounds: [0, 1], margin: 2, sigmoid })).toBe(1);
      expect(tol(3, { bounds: [0, 1], margin: 2, sigmoid, value_at_margin: 0.1 })).toBeCloseTo(0.1, 12);
      expect(tol(-2, { bounds: [0, 1], margin: 2, sigmoid, value_at_margin: 0.1 })).toBeCloseTo(0.1, 12);
      const half = tol(2, { bounds: [0, 1], margin: 2, sigmoid });
      expect(half).toBeGreaterThan(0.1);
      expect(half).toBeLessThan(1);
    }
    // Hand-computed values from dm_control's formulas.
    expect(tol(2, { bounds: [0, 1], margin: 2, sigmoid: 'linear' })).toBeCloseTo(1 - 0.5 * 0.9, 12);
    expect(tol(2, { bounds: [0, 1], margin: 2, sigmoid: 'gaussian' })).toBeCloseTo(Math.exp(-0.5 * 0.25 * -2 * Math.log(0.1)), 12);
    expect(tol(5, { bounds: [0, 1], margin: 2, sigmoid: 'quadratic' })).toBe(0);
    expect(tol(1.5)).toBe(0); // bounds [0,0], margin 0
    expect(() => tol(1, { bounds: [2, 1] })).toThrow(/lower bound must be <= upper bound/);
    expect(() => tol(1, { margin: 1, sigmoid: 'nope' })).toThrow(/sigmoid must be one of/);
  });
  it('helpers', () => {
    expect(rw.wrapAngle!(3 * Math.PI)).toBeCloseTo(-Math.PI, 12);
    expect(rw.wrapAngle!(-0.5)).toBeCloseTo(-0.5, 12);
    expect(rw.clamp!(5, 0, 1)).toBe(1);
    expect(rw.smoothstep!(0, 1, 0.5)).toBe(0.5);
    expect(rw.hypot!(3, 4)).toBe(5);
    expect(rw.norm!([1, 2, 2])).toBe(3);
    expect(rw.dot!([1, 2], [3, 4])).toBe(11);
    expect(rw.remap!(5, 0, 10, 100, 200)).toBe(150);
  });
});
