import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { RewardStatus } from '../../../src/core/records.js';
import { loadRobot } from '../../../src/core/robot.js';
import { HostDiedError, RewardHost } from '../../../src/reward/host/reward-host.js';
import { LiveReward } from '../../../src/reward/host/live-reward.js';
import { RewardRuntime, newRewardOutput, type RewardOutput } from '../../../src/reward/index.js';
import { until } from '../../helpers/wait.js';

/**
 * Reward hosts as real child processes: what they answer, and how each way of
 * dying reaches the parent (a guard note, V8's own abort, a kill from outside).
 */
const robot = loadRobot('robots/rover.json').robot;
const OBS = robot.observations.map((f) => f.name);
const ACT = robot.actions.map((f) => f.name);
const opts = { observationNames: OBS, actionNames: ACT };
const GOOD = readFileSync('rewards/explore-safely.reward.js', 'utf8');
const hosts: RewardHost[] = [];
afterAll(() => hosts.forEach((h) => h.kill()));

async function host(o: Parameters<typeof RewardHost.start>[0] = {}): Promise<RewardHost> {
  const h = await RewardHost.start(o);
  hosts.push(h);
  return h;
}

async function live(source: string, o: Parameters<typeof RewardHost.start>[0] = {}, memoryMb?: number): Promise<{ h: RewardHost; rt: LiveReward }> {
  const h = await host(o);
  const loaded = await h.load(source, 'p.reward.js', { ...opts, ...(memoryMb ? { memoryMb, budgetMs: 1000 } : {}) });
  if (!loaded.ok) throw new Error(loaded.message);
  const rt = new LiveReward({ ...(await h.goLive()), info: loaded.info, observationCount: OBS.length, actionCount: ACT.length });
  await until(() => rt.ready, 'HELLO from the host', 10_000);
  return { h, rt };
}

function row(i: number): { obs: Float32Array; act: Float32Array } {
  const obs = new Float32Array(OBS.length);
  obs.forEach((_, k) => (obs[k] = Math.fround(Math.sin(i * 0.37 + k) * 2)));
  obs[OBS.indexOf('range_front')] = Math.fround(0.2 + Math.abs(Math.sin(i / 50)) * 2);
  return { obs, act: Float32Array.from([Math.fround(Math.cos(i / 7)), Math.fround(Math.sin(i / 9))]) };
}

/** Submits a step and waits (briefly) for its result. */
async function stepLive(rt: LiveReward, i: number, out: RewardOutput): Promise<void> {
  const { obs, act } = row(i);
  const t = rt.submit(obs, act, 0.01);
  const t0 = performance.now();
  while (!rt.result(t, out)) {
    if (performance.now() - t0 > 20_000) throw new Error(`no result for step ${i}`);
    await new Promise((r) => setImmediate(r));
  }
}
const badAt = (n: number, bad: string): string => GOOD.replace('export function reward(obs, action, ctx) {', `let calls = 0;\nexport function reward(obs, action, ctx) {\n  if (++calls > ${n}) { ${bad} }`);

describe('RewardHost', () => {
  it('answers load with compiler diagnostics, and a dry run with its first failing step', async () => {
    const h = await host();
    const bad = await h.load('export const meta = { name: "x", goal: "y", weights: { a: 1 } };\nexport function reward(obs) { return { a: obs.range_front + }; }\n', 'bad.reward.js', opts);
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.diagnostics.map((d) => `${d.code} ${d.line}`)).toEqual(['E_REWARD_COMPILE 2']);
    const ok = await h.load(badAt(5, 'throw new Error("sensor check failed");'), 'late.reward.js', opts);
    expect(ok.ok).toBe(true);
    const obs = new Float32Array(20 * OBS.length).fill(1);
    const r = await h.dryRun([{ episode: 'e', obs, actions: new Float32Array(20 * ACT.length), dt: 0.01, raw: null }]);
    expect(r.failure).toMatchObject({ step: 5, status: RewardStatus.threw });
    expect(r.failure?.reason).toMatch(/E_REWARD_THREW: .*sensor check failed \(late\.reward\.js:\d+/);
  });

  it('kills a request that does not come back, and says so', async () => {
    const h = await host({ requestTimeoutMs: 300 });
    // Every step spins ~1 ms: the 3000-step check takes seconds, far past the request limit.
    const slow = badAt(-1, 'const t = ctx.step; let x = 0; for (let i = 0; i < 2e5; i++) x += i; if (x < 0) return { a: t };');
    await expect(h.check({ source: slow, filename: 'slow.reward.js', robot })).rejects.toSatisfy((e: unknown) => e instanceof HostDiedError && e.death.reason === 'timeout' && /no answer to "check" within 300 ms/.test(e.death.detail));
    expect((await h.exited).reason).toBe('timeout');
  });
});

describe('LiveReward (the control thread end of a live host)', () => {
  it('gives bit for bit the terms the in-process runtime gives, across episodes', async () => {
    const { rt } = await live(GOOD);
    const ref = await RewardRuntime.create(GOOD, 'p.reward.js', opts);
    const a = newRewardOutput(rt.info.termNames.length);
    const b = newRewardOutput(rt.info.termNames.length);
    for (let e = 0; e < 2; e++) {
      rt.beginEpisode({ index: e, id: `ep-${e}` });
      ref.beginEpisode({ index: e, id: `ep-${e}` });
      for (let i = 0; i < 300; i++) {
        await stepLive(rt, i, a);
        const { obs, act } = row(i);
        ref.evaluate(obs, act, 0.01, b);
        expect(a.status).toBe(b.status);
        for (let k = 0; k < a.terms.length; k++) expect(Object.is(a.terms[k], b.terms[k])).toBe(true);
        expect(Object.is(a.total, b.total)).toBe(true);
      }
    }
    ref.dispose();
    rt.dispose();
  });

  it('a host killed from outside: the next step is crashed, later ones unavailable, and the exit is classified', async () => {
    const { h, rt } = await live(GOOD);
    const out = newRewardOutput(rt.info.termNames.length);
    rt.beginEpisode({ index: 0, id: 'e' });
    await stepLive(rt, 0, out);
    expect(out.status).toBe(RewardStatus.ok);
    process.kill(h.pid, 'SIGKILL');
    await until(() => rt.death !== null, 'the EOF of a dead host', 10_000);
    await stepLive(rt, 1, out);
    expect(out.status).toBe(RewardStatus.crashed);
    expect(out.reason).toMatch(/^E_REWARD_CRASHED: reward "explore-safely" v[0-9a-f]+: its reward host died \(crashed\) at step 1/);
    await stepLive(rt, 2, out);
    expect(out.status).toBe(RewardStatus.unavailable);
    const d = await h.exited;
    expect(d.detail).toMatch(/SIGKILL/);
    rt.noteDeath(d);
    expect(rt.death).toBe(d);
  });

  it('one allocation inside a built-in (V8 cannot stop it): the host dies, never the caller', async () => {
    const { h, rt } = await live(badAt(3, 'new Array(2e8).fill(1.5);'));
    const out = newRewardOutput(rt.info.termNames.length);
    rt.beginEpisode({ index: 0, id: 'e' });
    for (let i = 0; i < 3; i++) {
      await stepLive(rt, i, out);
      expect(out.status).toBe(RewardStatus.ok);
    }
    await stepLive(rt, 3, out);
    expect([RewardStatus.timeout, RewardStatus.memory, RewardStatus.crashed]).toContain(out.status);
    expect((await h.exited).reason).not.toBe('crashed'); // the guard or V8 said why
  });

  it('a step that kills its sandbox ends the host: a step after it meets the death even if that reply was never read', async () => {
    // The control loop gives a step up as late after 250 ms and never reads its reply. Before, the
    // host lived on without its sandbox and answered every later step `unavailable`, which retires nothing.
    const { h, rt } = await live(badAt(2, 'for (;;) {}'));
    const out = newRewardOutput(rt.info.termNames.length);
    rt.beginEpisode({ index: 0, id: 'e' });
    for (let i = 0; i < 2; i++) {
      await stepLive(rt, i, out);
      expect(out.status).toBe(RewardStatus.ok);
    }
    const { obs, act } = row(2);
    rt.submit(obs, act, 0.01); // given up: its reply is never asked for
    await until(() => rt.death !== null, 'the host to end after its sandbox was disposed', 10_000);
    await stepLive(rt, 3, out);
    expect(out.status).toBe(RewardStatus.timeout);
    // Two deaths are right here, by which comes first: the host ends itself once the termination
    // lands, or, on a loaded machine where it takes longer than the guard's 20 ms grace, the guard
    // kills it (seen in CI). Either way the step after it meets the death.
    expect(out.reason).toMatch(/E_REWARD_TIMEOUT: .*its reward host died \(timeout\) at step 3: (its sandbox was disposed: E_REWARD_TIMEOUT: .*ran past its|a step ran past its budget and did not stop 20 ms after its sandbox was disposed)/);
    const d = await h.exited;
    expect(d.reason).toBe('timeout');
  });

  it('a resident set past the cap, grown a little every step: the guard kills the host and says out_of_memory', async () => {
    // The sandbox's own limits set high (1 GB heap checks, 1 s per step for the GCs of a growing heap)
    // so that only the process cap can stop it.
    const grow = GOOD.replace('export function reward(obs, action, ctx) {', 'const keep = [];\nexport function reward(obs, action, ctx) {\n  keep.push(new Array(1e6).fill(ctx.step + 0.5));');
    const { h, rt } = await live(grow, { rssCapMb: 200 }, 1024);
    const out = newRewardOutput(rt.info.termNames.length);
    rt.beginEpisode({ index: 0, id: 'e' });
    let i = 0;
    for (; i < 200; i++) {
      await stepLive(rt, i, out);
      if (out.status !== RewardStatus.ok) break;
    }
    expect(out.status).toBe(RewardStatus.memory);
    expect(out.reason).toMatch(/E_REWARD_MEMORY: .*its reward host died \(out_of_memory\) .*over its 200 MB cap/);
    expect(i).toBeGreaterThan(0); // it ran clean steps before the cap was passed
    const d = await h.exited;
    expect(d.reason).toBe('out_of_memory');
  });
});
