import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RewardRuntime, checkRewardProgram, diagnosticsOf, formatDiagnostic, loadRewardFile, type Diagnostic } from '../../src/reward/index.js';
import { main } from '../../src/cli/reward.js';
import { ACT, OBS, REWARDS_DIR, ROVER_PATH, rover } from './helpers.js';

async function compileErrors(source: string, filename = 'rewards/bad.reward.js'): Promise<Diagnostic[]> {
  try {
    const rt = await RewardRuntime.create(source, filename, { observationNames: OBS, actionNames: ACT });
    rt.dispose();
  } catch (e) {
    const d = diagnosticsOf(e);
    if (d) return d;
    throw e;
  }
  throw new Error('expected the program to be rejected');
}

describe('compile and export diagnostics (file:line, expected, found)', () => {
  const cases: [string, string, RegExp, number][] = [
    ['syntax error', `export const meta = { name: 'x', goal: 'g', weights: { a: 1 } };\nexport function reward(obs) {\n  return { a: obs.range_front ;\n}\n`, /rewards\/bad\.reward\.js:3:\d+: error E_REWARD_COMPILE: syntax error: Expected "}" but found ";"/, 3],
    ['import of a node module', `import fs from 'node:fs';\nexport const meta = {};\n`, /:1:\d+: error E_REWARD_COMPILE: import of "node:fs": expected only 'rewardd'/, 1],
    ['dynamic import', `export const meta = { name: 'x', goal: 'g', weights: { a: 1 } };\nexport function reward() {\n  import('node:fs');\n  return { a: 1 };\n}\n`, /:3:\d+: error E_REWARD_COMPILE: dynamic import\(\) is not available/, 3],
    ['no reward export', `export const meta = { name: 'x', goal: 'g', weights: { a: 1 } };\nexport function rewrd() { return { a: 1 }; }\n`, /E_REWARD_EXPORTS: expected `export function reward\(obs, action, ctx\)`.*found undefined \(exports found: meta, rewrd\)/, 0],
    ['weight not a number', `export const meta = {\n  name: 'x',\n  goal: 'g',\n  weights: { a: '1' },\n};\nexport function reward() { return { a: 1 }; }\n`, /:4:\d+: error E_REWARD_EXPORTS: meta.weights.a: expected a finite number, found string/, 4],
    ['range for an unknown term', `export const meta = { name: 'x', goal: 'g', weights: { a: 1 },\n  ranges: { b: [0, 1] } };\nexport function reward() { return { a: 1 }; }\n`, /:2:\d+: error E_REWARD_EXPORTS: meta.ranges.b: expected a term named in meta.weights \(a\), found "b"/, 2],
    ['top-level throw', `export const meta = { name: 'x', goal: 'g', weights: { a: 1 } };\nconst table = null;\nconst first = table[0];\nexport function reward() { return { a: first }; }\n`, /:3:\d+: error E_REWARD_COMPILE: top-level code failed while loading: TypeError: Cannot read properties of null/, 3],
  ];
  it.each(cases)('%s', async (_name, source, re, line) => {
    const d = await compileErrors(source);
    const text = d.map(formatDiagnostic).join('\n');
    expect(text).toMatch(re);
    expect(d[0]?.line).toBe(line);
  });

  it('a TS syntax error points at the .ts line', async () => {
    const d = await compileErrors(`export const meta = { name: 'x', goal: 'g', weights: { a: 1 } };\n\nexport function reward(obs: { x: number }): { a: number } {\n  return { a: obs.x as number + };\n}\n`, 'rewards/bad.reward.ts');
    expect(formatDiagnostic(d[0]!)).toMatch(/^rewards\/bad\.reward\.ts:4:\d+: error E_REWARD_COMPILE: syntax error/);
  });
});

describe('checkRewardProgram', () => {
  it.each(['reach-beacon.reward.js', 'explore-safely.reward.js', 'smooth-efficient.reward.ts'])('%s passes with every term varying', async (name) => {
    const { source, filename } = await loadRewardFile(join(REWARDS_DIR, name));
    const r = await checkRewardProgram({ source, filename, robot: rover });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.diagnostics.filter((d) => d.code === 'W_CONSTANT_TERM')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.probes.map((p) => [p.name, p.failed])).toEqual([['zeros probe', 0], ['limits probe', 0], ['typical probe', 0]]);
    expect(r.probes[1]?.steps).toBe(2 + 2 * OBS.length);
    for (const t of r.terms) expect(t.max).toBeGreaterThan(t.min);
  });

  it('names a misspelt observation with its line and a suggestion, and reports the NaN it causes', async () => {
    const source = `export const meta = { name: 'typo', goal: 'g', weights: { near: 1, flat: 0.1 } };\nexport function reward(obs, action, ctx) {\n  const d = Math.hypot(obs.beacon_x, obs.beacon_yy);\n  return { near: -d, flat: 1 };\n}\n`;
    const r = await checkRewardProgram({ source, filename: 'rewards/typo.reward.js', robot: rover });
    const text = r.diagnostics.map(formatDiagnostic).join('\n');
    expect(r.ok).toBe(false);
    expect(text).toMatch(/rewards\/typo\.reward\.js:3:\d+: error E_REWARD_EXPORTS: obs\.beacon_yy: expected one of the robot's observations \(accel_x, .*\), found "beacon_yy"; did you mean obs\.beacon_y\?/);
    expect(text).toMatch(/E_REWARD_OUTPUT: zeros probe, every observation and action 0: at step 0: term "near" is NaN/);
  });

  it('warns about a term that never varies and about terms outside their declared range', async () => {
    const source = `export const meta = { name: 'flat', goal: 'g', weights: { near: 1, flat: 0.1 }, ranges: { near: [-1, 0] } };\nexport function reward(obs) {\n  return { near: -Math.hypot(obs.beacon_x, obs.beacon_y), flat: 1 };\n}\n`;
    const r = await checkRewardProgram({ source, filename: 'rewards/flat.reward.js', robot: rover });
    const text = r.diagnostics.map(formatDiagnostic).join('\n');
    expect(r.ok).toBe(true);
    expect(text).toMatch(/rewards\/flat\.reward\.js:1:\d+: warning W_CONSTANT_TERM: term "flat" was 1 on every one of \d+ probe steps/);
    expect(text).toMatch(/warning W_TERM_RANGE: term "near" ranged over \[-14\.14, 0\] on the probes, outside its declared range \[-1, 0\]/);
  });

  it('reports a probe that throws at the program line, with the observation that caused it', async () => {
    const source = `export const meta = { name: 'lim', goal: 'g', weights: { a: 1 } };\nexport function reward(obs) {\n  if (obs.range_front === 0) throw new Error('range sensor reads 0');\n  return { a: obs.range_front };\n}\n`;
    const r = await checkRewardProgram({ source, filename: 'rewards/lim.reward.js', robot: rover });
    const text = r.diagnostics.map(formatDiagnostic).join('\n');
    expect(text).toMatch(/rewards\/lim\.reward\.js:3:\d+: error E_REWARD_THREW: zeros probe, every observation and action 0: threw at step 0: Error: range sensor reads 0/);
    expect(text).toMatch(/limits probe, every field at its minimum/);
  });

  it('the CLI exits 0 on a good file, 1 on a bad one, 2 on bad usage', async () => {
    const chunks: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    const origErr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => (chunks.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (chunks.push(s), true)) as typeof process.stderr.write;
    try {
      expect(await main(['check', join(REWARDS_DIR, 'reach-beacon.reward.js'), '--robot', ROVER_PATH])).toBe(0);
      expect(chunks.join('')).toMatch(/reward "reach-beacon" v[0-9a-f]{12}: 4 terms[\s\S]*distance[\s\S]*: ok \(0 errors/);
      chunks.length = 0;
      expect(await main(['check', join(REWARDS_DIR, 'missing.reward.js'), '--robot', ROVER_PATH])).toBe(2);
      expect(chunks.join('')).toMatch(/E_FILE: reward file .*missing\.reward\.js/);
      const bad = join(mkdtempSync(join(tmpdir(), 'rewardd-check-')), 'bad.reward.js');
      writeFileSync(bad, 'export const meta = { name: "b", goal: "g", weights: { a: 1 } };\nexport function reward() { return { a: NaN }; }\n');
      chunks.length = 0;
      expect(await main(['check', bad, '--robot', ROVER_PATH])).toBe(1);
      expect(chunks.join('')).toMatch(/term "a" is NaN[\s\S]*FAILED/);
      chunks.length = 0;
      // A folder that is not a store is a failure (1), not bad usage (2: an unknown, missing or bad option, or a file it names that cannot be read).
      expect(await main(['check', join(REWARDS_DIR, 'reach-beacon.reward.js'), '--robot', ROVER_PATH, '--store', mkdtempSync(join(tmpdir(), 'rewardd-nostore-'))])).toBe(1);
      expect(chunks.join('')).toMatch(/E_STORE: expected a recorder catalog/);
      // The default robot description is found from any folder, as rewardd run's is (the one that ships).
      chunks.length = 0;
      const cwd = process.cwd();
      process.chdir(mkdtempSync(join(tmpdir(), 'rewardd-check-cwd-')));
      try {
        expect(await main(['check', join(REWARDS_DIR, 'reach-beacon.reward.js')])).toBe(0);
      } finally {
        process.chdir(cwd);
      }
      expect(chunks.join('')).toMatch(/reward "reach-beacon" v[0-9a-f]{12}: 4 terms/);
      expect(await main(['check'])).toBe(2);
      expect(await main(['push', 'x'])).toBe(2);
      expect(await main(['check', 'a.js', '--budget-ms', 'soon'])).toBe(2);
    } finally {
      process.stdout.write = orig;
      process.stderr.write = origErr;
    }
  });
});
