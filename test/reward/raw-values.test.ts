import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RewardStatus } from '../../src/core/records.js';
import { RewardRuntime, checkRewardProgram, diagnosticsOf, formatDiagnostic, newRewardOutput } from '../../src/reward/index.js';
import { ACT, OBS, roverAction, roverObs, rover, runtime } from './helpers.js';

const RAW_RANGE = fileURLToPath(new URL('./fixtures/raw-range.reward.js', import.meta.url));
const iFront = OBS.indexOf('range_front');
const iVolt = OBS.indexOf('battery_voltage');

/** A raw row that differs from the calibrated one everywhere (as a real calibration would). */
function rawRow(i: number): Float32Array {
  return Float32Array.from(roverObs(i), (v, k) => v * 3 + k + 0.25);
}

const probe = (rawList: string, body: string): string =>
  `export const meta = { name: 'p', goal: 'g', weights: { a: 1, b: 1, c: 1, d: 1 }, raw: ${rawList} };\nexport function reward(obs, action, ctx) {\n${body}\n}\n`;

async function compileErrors(source: string): Promise<string> {
  try {
    (await RewardRuntime.create(source, 'rewards/raw.reward.js', { observationNames: OBS, actionNames: ACT })).dispose();
  } catch (e) {
    const d = diagnosticsOf(e);
    if (d) return d.map(formatDiagnostic).join('\n');
    throw e;
  }
  throw new Error('expected the program to be rejected');
}

describe('meta.raw and ctx.raw', () => {
  it('ctx.raw holds exactly the requested raw fields, frozen, fresh every step', async () => {
    const rt = await runtime(
      probe(
        "['battery_voltage', 'range_front']",
        `const r = ctx.raw;
  let threw = 0;
  try { r.range_front = 99; } catch (e) { threw = 1; }
  if (ctx.step === 1 && ctx.state.first === r) throw new Error('ctx.raw reused across steps');
  ctx.state.first = r;
  return { a: r.range_front, b: r.battery_voltage, c: Object.isFrozen(r) && threw ? 1 : 0, d: Object.keys(r).join() === 'battery_voltage,range_front' ? 1 : 0 };`,
      ),
    );
    expect(rt.info.rawNames).toEqual(['battery_voltage', 'range_front']);
    const out = newRewardOutput(4);
    for (let i = 0; i < 2; i++) {
      const raw = rawRow(i);
      rt.evaluate(roverObs(i), roverAction(i), 0.01, out, raw);
      expect(out.reason).toBe('');
      expect([...out.terms]).toEqual([raw[iFront], raw[iVolt], 1, 1]);
      expect(out.terms[0]).not.toBe(roverObs(i)[iFront]);
    }
    rt.dispose();
  });

  it('a program without meta.raw sees ctx.raw undefined and rawNames []', async () => {
    const rt = await runtime(`export const meta = { name: 'p', goal: 'g', weights: { a: 1 } };\nexport function reward(obs, action, ctx) { return { a: ctx.raw === undefined && !('raw' in ctx) ? 1 : 0 }; }\n`);
    expect(rt.info.rawNames).toEqual([]);
    const out = newRewardOutput(1);
    rt.evaluate(roverObs(0), roverAction(0), 0.01, out, rawRow(0));
    expect(out.terms[0]).toBe(1);
    rt.evaluate(roverObs(1), roverAction(1), 0.01, out);
    expect([out.status, out.terms[0]]).toEqual([RewardStatus.ok, 1]);
    rt.dispose();
  });

  it('a program that replaces Object.freeze still gets a frozen ctx.raw', async () => {
    const rt = await runtime(probe("['range_front']", 'return { a: Object.isFrozen(ctx.raw) ? 1 : 0, b: 0, c: 0, d: 0 };').replace('export function', 'Object.freeze = (o) => o;\nexport function'));
    const out = newRewardOutput(4);
    rt.evaluate(roverObs(0), roverAction(0), 0.01, out, rawRow(0));
    expect([out.status, out.terms[0]]).toEqual([RewardStatus.ok, 1]);
    rt.dispose();
  });

  it.each([
    ['an unknown name, with the field path', "['range_front', 'range_rear']", /rewards\/raw\.reward\.js:1:\d+: error E_REWARD_EXPORTS: meta\.raw\[1\]: expected an observation of the robot \(accel_x, .*range_front.*\), found "range_rear"/],
    ['not an array', "'range_front'", /E_REWARD_EXPORTS: meta\.raw: expected an array of observation names such as \['accel_x'\], found string/],
    ['a non-string entry', '[3]', /E_REWARD_EXPORTS: meta\.raw\[0\]: expected an observation name \(a string\), found number/],
    ['a name listed twice', "['range_front', 'range_front']", /E_REWARD_EXPORTS: meta\.raw\[1\]: "range_front" is listed twice/],
  ])('refuses %s', async (_what, list, re) => {
    expect(await compileErrors(probe(list, 'return { a: 0, b: 0, c: 0, d: 0 };'))).toMatch(re);
  });

  it('without raw values a meta.raw program fails as unavailable (online and batch) and recovers when they come', async () => {
    const { source } = { source: readFileSync(RAW_RANGE, 'utf8') };
    const rt = await runtime(source);
    const out = newRewardOutput(2);
    rt.evaluate(roverObs(0), roverAction(0), 0.01, out);
    expect(out.status).toBe(RewardStatus.unavailable);
    expect(out.reason).toMatch(/^E_CONFIG: reward "raw-range" v[0-9a-f]+ reads raw values \(meta\.raw: range_front\) but none were given at step 0/);
    expect(Number.isNaN(out.total) && out.terms.every(Number.isNaN)).toBe(true);
    rt.evaluate(roverObs(1), roverAction(1), 0.01, out, new Float32Array(3));
    expect(out.reason).toMatch(/expected 12 raw values \(the whole observation\), found 3 at step 1/);
    rt.evaluate(roverObs(2), roverAction(2), 0.01, out, rawRow(2));
    expect([out.status, out.terms[1]]).toEqual([RewardStatus.ok, rawRow(2)[iFront]]);

    rt.beginEpisode({ index: 1, id: 'batch' });
    const obs = Float32Array.from([...roverObs(0), ...roverObs(1)]);
    const acts = Float32Array.from([...roverAction(0), ...roverAction(1)]);
    const b = rt.evaluateBatch(obs, acts, 0.01);
    expect([...b.status]).toEqual([RewardStatus.unavailable, RewardStatus.unavailable]);
    expect(b.reasons.get(1)).toMatch(/none were given at step 1/);
    expect(() => rt.evaluateBatch(obs, acts, 0.01, undefined, new Float32Array(5))).toThrow(/E_CONFIG: evaluateBatch: expected raw of n×12 values like obs \(24\), found 5/);
    rt.dispose();
  });

  it('evaluateBatch with raw rows gives the online terms bit for bit', async () => {
    const rt = await RewardRuntime.create(readFileSync(RAW_RANGE, 'utf8'), RAW_RANGE, { observationNames: OBS, actionNames: ACT, batchChunk: 7 });
    const N = 50;
    const no = OBS.length;
    const obs = new Float32Array(N * no);
    const raw = new Float32Array(N * no);
    const acts = new Float32Array(N * ACT.length);
    for (let i = 0; i < N; i++) obs.set(roverObs(i), i * no), raw.set(rawRow(i), i * no), acts.set(roverAction(i), i * ACT.length);
    rt.beginEpisode({ index: 0, id: 'online' });
    const online = new Float64Array(N * 2);
    const out = newRewardOutput(2);
    for (let i = 0; i < N; i++) {
      rt.evaluate(obs.subarray(i * no, (i + 1) * no), acts.subarray(i * 2, i * 2 + 2), 0.01, out, raw.subarray(i * no, (i + 1) * no));
      online.set(out.terms, i * 2);
    }
    rt.beginEpisode({ index: 1, id: 'batch' });
    const b = rt.evaluateBatch(obs, acts, 0.01, undefined, raw);
    expect(Buffer.from(b.terms.buffer).equals(Buffer.from(online.buffer))).toBe(true);
    expect(b.terms[1]).toBe(raw[iFront]);
    expect(b.terms[0]).toBe(obs[iFront]);
    rt.dispose();
  });

  it('reward check runs a meta.raw program on probes whose raw values equal the observation', async () => {
    const report = await checkRewardProgram({ source: readFileSync(RAW_RANGE, 'utf8'), filename: RAW_RANGE, robot: rover, typicalSteps: 100 });
    expect(report.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(report.ok).toBe(true);
    const [cal, raw] = report.terms;
    expect([raw!.min, raw!.max, raw!.mean]).toEqual([cal!.min, cal!.max, cal!.mean]);
    expect(report.probes.every((p) => p.failed === 0)).toBe(true);
  });
});
