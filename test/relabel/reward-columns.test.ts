import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { RewardStatus } from '../../src/core/records.js';
import { newRewardBatchOutput } from '../../src/reward/output.js';
import { RewardRuntime, checkRewardProgram } from '../../src/reward/index.js';
import { Sandbox } from '../../src/reward/sandbox.js';
import { relabelStore, type RelabelReport } from '../../src/relabel/relabel.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { until } from '../helpers/wait.js';
import { rewarddAsync } from '../isolation/daemon-process.js';
import { rover } from '../reward/helpers.js';
import { ACT, OBS, REACH, REACH_FILE, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';

/**
 * rewardColumns, the columnar twin of reward() that relabel runs (docs/reward-columns.md): the same
 * numbers bit for bit as reward(), whatever the call boundaries; and when the two forms disagree or the
 * columnar call fails, relabel's results are still reward()'s, with a note saying why.
 */
let store: string;
let eps: RecordedEpisode[];
const tmp: string[] = [];

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-columns-form-'));
  tmp.push(store);
  eps = await recordRoverEpisodes({ storeDir: store, episodes: 3, stepLimit: 400, seed: 21 });
}, 60_000);
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every saved result file of a run, by episode: the bytes relabel wrote. */
const results = (rep: RelabelReport): Map<string, Buffer> => new Map(rep.episodes.map((e) => [e.episode, readFileSync(e.saved!)]));

/** The shipped program with its rewardColumns edited (the reward() form untouched). */
const columnsEdit = (from: string, to: string): string => {
  const cut = REACH_FILE.indexOf('export function rewardColumns');
  const edited = REACH_FILE.slice(0, cut) + REACH_FILE.slice(cut).replace(from, to);
  if (edited === REACH_FILE) throw new Error(`columnsEdit: "${from}" not found`);
  return edited;
};

describe('rewardColumns in the sandbox', () => {
  it('gives reward()\'s bits for every term, success and done, across chunks and calls of any size', async () => {
    const rt = await RewardRuntime.create(REACH_FILE, 'reach-beacon.reward.js', { observationNames: OBS, actionNames: ACT, batchChunk: 1000 });
    try {
      expect(rt.info.hasColumns).toBe(true);
      const n = 5000;
      const nO = OBS.length;
      // A drive through the whole beacon range, success radius and collision range included.
      const obs = new Float32Array(n * nO).map((_, i) => Math.sin(i * 0.37) * 3);
      const [bx, by, front] = ['beacon_x', 'beacon_y', 'range_front'].map((f) => OBS.indexOf(f));
      for (let r = 0; r < n; r += 7) {
        obs[r * nO + bx!] = 0.1 * Math.sin(r);
        obs[r * nO + by!] = 0.1 * Math.cos(r);
        obs[r * nO + front!] = 0.05;
      }
      const act = new Float32Array(n * 2).map((_, i) => Math.cos(i * 0.11));
      const dt = new Float64Array(n).map((_, i) => (i % 97 === 3 ? 0 : 0.01 + (i % 5) * 1e-4));
      rt.beginEpisode({ index: 0, id: 'a' });
      const ref = rt.evaluateBatch(obs, act, dt);
      // Uneven calls (1, 999, 2500, 1500 rows): ctx.prev and ctx.step carry over between them. Rows
      // as the store keeps them (float32, copied in as they are and widened in the sandbox: the
      // sandbox is told so, f32), the same values as float64 (widened by the host), and the two mixed
      // (the host widens both) must give the same bits.
      const run = vi.spyOn(Sandbox.prototype, 'run');
      const obs64 = Float64Array.from(obs);
      const act64 = Float64Array.from(act);
      const inputs = [
        { o: obs, a: act, f32: true },
        { o: obs64, a: act64, f32: false },
        { o: obs, a: act64, f32: false },
      ];
      for (const { o, a, f32 } of inputs) {
        run.mockClear();
        rt.beginEpisode({ index: 0, id: 'a' });
        const got = newRewardBatchOutput(n, 4);
        let at = 0;
        for (const m of [1, 999, 2500, 1500]) {
          const part = { count: m, status: got.status.subarray(at, at + m), total: got.total.subarray(at, at + m), terms: got.terms.subarray(at * 4, (at + m) * 4), success: got.success.subarray(at, at + m), done: got.done.subarray(at, at + m), reasons: new Map<number, string>() };
          expect(rt.evaluateColumns(o.subarray(at * nO, (at + m) * nO), a.subarray(at * 2, (at + m) * 2), dt.subarray(at, at + m), part)).toBeNull();
          at += m;
        }
        expect([...ref.status].every((s) => s === RewardStatus.ok)).toBe(true);
        expect([...got.terms].every((v, i) => Object.is(v, ref.terms[i]))).toBe(true);
        expect([...got.total].every((v, i) => Object.is(v, ref.total[i]))).toBe(true);
        expect([...got.success]).toEqual([...ref.success]);
        expect([...got.done]).toEqual([...ref.done]);
        expect(run.mock.calls.map((c) => c[2] === true)).toEqual(run.mock.calls.map(() => f32));
        expect(run.mock.calls.length).toBeGreaterThanOrEqual(4);
      }
      run.mockRestore();
      // A per-step call after a float32 columnar call reads its row layout, not the float32 view.
      rt.beginEpisode({ index: 0, id: 'a' });
      const again = rt.evaluateBatch(obs, act, dt);
      expect([...again.total].every((v, i) => Object.is(v, ref.total[i]))).toBe(true);
      // The data reached both flags and the progress term's dt = 0 and first-step branches.
      expect(ref.success.some((x) => x === 1) && ref.done.some((x) => x === 1)).toBe(true);
    } finally {
      rt.dispose();
    }
  });

  it('refuses a call of a program without the export, and one that reads meta.raw, with the reason', async () => {
    const rt = await RewardRuntime.create(REACH, 'reach.js', { observationNames: OBS, actionNames: ACT });
    try {
      expect(rt.info.hasColumns).toBe(false);
      expect(rt.evaluateColumns(new Float32Array(OBS.length), new Float32Array(2), new Float64Array(1), newRewardBatchOutput(1, 4))).toBe('the program exports no rewardColumns');
    } finally {
      rt.dispose();
    }
    const raw = await RewardRuntime.create(REACH_FILE.replace("name: 'reach-beacon',", "name: 'reach-beacon', raw: ['range_front'],"), 'raw.js', { observationNames: OBS, actionNames: ACT });
    try {
      expect(raw.info.rawNames).toEqual(['range_front']);
      expect(raw.evaluateColumns(new Float32Array(OBS.length), new Float32Array(2), new Float64Array(1), newRewardBatchOutput(1, 4))).toMatch(/^it reads raw values \(meta\.raw\)/);
    } finally {
      raw.dispose();
    }
  });
});

describe('rewardd relabel with rewardColumns', () => {
  it('computes every step with rewardColumns and writes the same result files as --per-step and as --jobs 2, byte for byte', async () => {
    const cols = await relabelStore({ storeDir: store, reward: { source: REACH_FILE, filename: 'reach-beacon.reward.js' } });
    expect(cols.form).toEqual({ hasColumns: true, columnSteps: cols.steps, perStepSteps: 0, notes: [] });
    const a = results(cols);
    const steps = await relabelStore({ storeDir: store, reward: { source: REACH_FILE, filename: 'reach-beacon.reward.js' }, perStep: true });
    expect(steps.form).toMatchObject({ hasColumns: true, columnSteps: 0, perStepSteps: steps.steps });
    const b = results(steps);
    expect(a.size).toBe(eps.length);
    for (const [ep, bytes] of a) expect(bytes.equals(b.get(ep)!), ep).toBe(true);
    expect(cols.total).toEqual(steps.total);
    // Two workers, each with its own sandbox and columnar state: the same files again.
    const two = await relabelStore({ storeDir: store, reward: { source: REACH_FILE, filename: 'reach-beacon.reward.js' }, jobs: 2 });
    expect(two.jobs).toBe(2);
    expect(two.form).toMatchObject({ columnSteps: two.steps, perStepSteps: 0 });
    for (const [ep, bytes] of results(two)) expect(bytes.equals(a.get(ep)!), ep).toBe(true);
    expect(two.terms).toEqual(cols.terms);
  }, 60_000);

  it('a rewardColumns that disagrees with reward() is caught at its first rows and not used again; the results are reward()\'s', async () => {
    const wrong = columnsEdit('distance[k] = tolerance(dist, DISTANCE_SHAPE);', 'distance[k] = 0.5;');
    const rep = await relabelStore({ storeDir: store, reward: { source: wrong, filename: 'wrong.js' }, save: false });
    expect(rep.errors).toEqual([]);
    expect(rep.form.columnSteps).toBe(0);
    expect(rep.form.perStepSteps).toBe(rep.steps);
    expect(rep.form.notes).toHaveLength(1);
    expect(rep.form.notes[0]).toMatch(/rewardColumns and reward\(\) disagree at step \d+ \(term distance: reward\(\) [0-9.e-]+, rewardColumns 0\.5\); rewardColumns is not used for the rest of this run$/);
    const ref = await relabelStore({ storeDir: store, reward: { source: wrong, filename: 'wrong.js' }, save: false, perStep: true });
    expect(rep.total).toEqual(ref.total);
    expect(rep.episodes.map((e) => e.return)).toEqual(ref.episodes.map((e) => e.return));
  }, 60_000);

  it('a rewardColumns that throws after the checked rows sends that episode through reward(), and the next episode tries columns again', async () => {
    const late = columnsEdit('const dt = ctx.dt;', "const dt = ctx.dt;\n  if (ctx.step + ctx.n > 150) throw new Error('columns gave up');");
    const rep = await relabelStore({ storeDir: store, reward: { source: late, filename: 'late.js' }, save: false });
    expect(rep.errors).toEqual([]);
    expect(rep.failedSteps).toBe(0);
    expect(rep.form.columnSteps).toBe(eps.filter((e) => e.steps <= 150).reduce((n, e) => n + e.steps, 0));
    const long = eps.filter((e) => e.steps > 150);
    expect(long.length).toBeGreaterThan(0);
    expect(rep.form.notes).toHaveLength(long.length);
    for (const n of rep.form.notes) expect(n).toMatch(/per step: rewardColumns over steps 0-\d+, at step 0: Error: columns gave up/);
    const ref = await relabelStore({ storeDir: store, reward: { source: REACH_FILE, filename: 'reach-beacon.reward.js' }, save: false });
    expect(rep.total).toEqual(ref.total);
  }, 60_000);

  it('a rewardColumns that never returns is killed (rows × budget), its episode goes through reward(), and columns stay off', async () => {
    const hang = columnsEdit('const dt = ctx.dt;', 'const dt = ctx.dt;\n  for (;;) {}');
    const t0 = performance.now();
    const rep = await relabelStore({ storeDir: store, reward: { source: hang, filename: 'hang.js' }, save: false, tuning: { budgetMs: 1 } });
    const s = (performance.now() - t0) / 1000;
    expect(rep.errors).toEqual([]);
    expect(rep.failedSteps).toBe(0);
    expect(rep.form.columnSteps).toBe(0);
    expect(rep.form.notes).toHaveLength(1);
    expect(rep.form.notes[0]).toMatch(/rewardColumns over steps 0-\d+: E_REWARD_TIMEOUT: .*rewardColumns is not used for the rest of this run$/);
    // One kill only (≤ 400 rows × 1 ms + 0.5 s grace), not one per episode.
    expect(s).toBeLessThan(20);
    const ref = await relabelStore({ storeDir: store, reward: { source: REACH_FILE, filename: 'reach-beacon.reward.js' }, save: false });
    expect(rep.total).toEqual(ref.total);
  }, 60_000);

  it('--verify runs the columnar form against the logged steps: recorded with reward(), reproduced bit for bit', async () => {
    const vstore = mkdtempSync(join(tmpdir(), 'rewardd-columns-verify-'));
    tmp.push(vstore);
    // Recorded with the shipped file: the control loop ran reward(), step by step.
    await recordRoverEpisodes({ storeDir: vstore, episodes: 2, stepLimit: 300, seed: 4, source: REACH_FILE });
    const rep = await relabelStore({ storeDir: vstore, reward: { source: REACH_FILE, filename: 'reach-beacon.reward.js' }, verify: true, save: false });
    expect(rep.verify).toMatchObject({ compared: 2, matched: 2, mismatched: 0 });
    expect(rep.form).toMatchObject({ columnSteps: rep.steps, perStepSteps: 0 });
    expect(rep.episodes.every((e) => e.verify!.comparedSteps === e.steps)).toBe(true);
  }, 60_000);

  it('the CLI: --per-step, and the report line saying which form computed the steps', async () => {
    const r = await rewarddAsync(['relabel', '--store', store, '--reward', 'rewards/reach-beacon.reward.js', '--no-save']);
    expect(r.status, r.stderr).toBe(0);
    const total = eps.reduce((n, e) => n + e.steps, 0).toLocaleString('en-US');
    expect(r.stdout).toContain(`evaluated by rewardColumns: ${total} steps; by reward() per step: 0`);
    const p = await rewarddAsync(['relabel', '--store', store, '--reward', 'rewards/reach-beacon.reward.js', '--no-save', '--per-step', '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect((JSON.parse(p.stdout) as RelabelReport).form).toMatchObject({ hasColumns: true, columnSteps: 0 });
  }, 60_000);
});

describe('rewardd reward check compares the two forms', () => {
  it('every probe step, bit for bit: a difference in the last bit is an E_REWARD_COLUMNS error at the export', async () => {
    // Math.hypot and the stdlib's sqrt(x² + y²) differ in the last bit for some inputs.
    const bad = columnsEdit('const dist = hypot(bx[k], by[k]);', 'const dist = Math.hypot(bx[k], by[k]);');
    const r = await checkRewardProgram({ source: bad, filename: 'rewards/bad-columns.reward.js', robot: rover });
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'E_REWARD_COLUMNS', line: bad.split('\n').findIndex((l) => l.startsWith('export function rewardColumns')) + 1 });
    expect(errors[0]!.message).toMatch(/probe, .*: term "\w+" is [0-9.e-]+ from reward\(\) and [0-9.e-]+ from rewardColumns \(expected the same number, bit for bit\)/);
  });

  it('a columnar form that throws where reward() does not is an error; the shipped program passes', async () => {
    const throws = columnsEdit('const dt = ctx.dt;', "const dt = ctx.dt;\n  if (ctx.n > 500) throw new RangeError('too many rows');");
    const r = await checkRewardProgram({ source: throws, filename: 'rewards/throws.reward.js', robot: rover });
    expect(r.diagnostics.find((d) => d.code === 'E_REWARD_COLUMNS')?.message).toMatch(/typical probe: rewardColumns over steps 0-999, at step 0: RangeError: too many rows/);
    const good = await checkRewardProgram({ source: REACH_FILE, filename: 'rewards/reach-beacon.reward.js', robot: rover });
    expect(good.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(good.timing?.columnsUsPerStep).toBeGreaterThan(0);
    expect(shortHash(REACH_FILE)).toBe(good.info!.version);
  });
});

describe('the robot\'s admission compares the two forms on its own logged steps', () => {
  it('a swapped-in file whose rewardColumns differs in the last bit is refused with E_REWARD_COLUMNS; the good one is accepted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewardd-columns-admission-'));
    tmp.push(dir);
    const file = join(dir, 'reach.reward.js');
    writeFileSync(file, REACH_FILE);
    const lines: string[] = [];
    const cfg = normaliseRunConfig({ hz: 200, reward: file, watchReward: true, prefix: `columns-adm-${Math.random().toString(16).slice(2, 8)}/v1`, stateDir: join(dir, 'state'), status: false, brokerPort: 0 });
    const daemon = await startDaemon(cfg, { log: (l) => lines.push(l), status: () => {} });
    try {
      // Logged steps for the dry run to replay (at 200 Hz, a second is plenty: the forms differ at once).
      await new Promise((r) => setTimeout(r, 1500));
      writeFileSync(file, columnsEdit('const dist = hypot(bx[k], by[k]);', 'const dist = Math.hypot(bx[k], by[k]);'));
      await until(() => lines.some((l) => /reward file reach\.reward\.js changed/.test(l)), 'the verdict on the bad file', 30_000);
      expect(lines.find((l) => /changed/.test(l))).toMatch(/changed but was rejected: E_REWARD_COLUMNS: dry run on the last \d+ logged steps failed at step \d+ \(episode \S+\): E_REWARD_COLUMNS: term "\w+" is [0-9.e-]+ from reward\(\) and [0-9.e-]+ from rewardColumns/);
      const n = lines.length;
      writeFileSync(file, `// accepted again\n${REACH_FILE}`);
      await until(() => lines.slice(n).some((l) => /reward file reach\.reward\.js changed/.test(l)), 'the verdict on the good file', 30_000);
      expect(lines.slice(n).find((l) => /changed/.test(l))).toMatch(/changed: version [0-9a-f]{12} accepted/);
    } finally {
      await daemon.stop();
    }
  }, 60_000);
});
