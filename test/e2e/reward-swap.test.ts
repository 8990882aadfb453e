import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { RewardStatus, StepFlag } from '../../src/core/records.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { normaliseRunConfig, type RunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';

/**
 * Hot swap on the live robot, through the daemon: an MQTT push accepted at
 * 1 kHz with no missed step, a broken push refused with its diagnostics, a
 * failing version rolled back, and the file-watch path.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const url = process.env.MQTT_URL;
const original = readFileSync('rewards/reach-beacon.reward.js', 'utf8');
// The same program with one weight changed: a new version that behaves.
const tweaked = original.replace('heading: 0.3', 'heading: 0.35');

async function run(extra: Partial<Record<keyof RunConfig, unknown>>) {
  const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-swap-'));
  dirs.push(stateDir);
  const prefix = `rewardd-test-${Math.random().toString(16).slice(2, 8)}/v1`;
  const cfg = normaliseRunConfig({ prefix, stateDir, status: false, watchReward: false, stepLimit: 100_000, auth: 'open', ...(url ? { mqtt: url } : { brokerPort: 0 }), ...extra });
  const logs: string[] = [];
  const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
  const cap = await captureEpisodes(daemon.mqttUrl, prefix);
  return { cfg, daemon, cap, logs, prefix, stateDir };
}

/** Pushes a reward source as `rewardd reward push` does over 3.1.1: JSON envelope, reply on reward/set/result. */
async function push(mqttUrl: string, prefix: string, source: string): Promise<{ ok: boolean; version?: string; error?: string }> {
  const c = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
  const correlation = Math.random().toString(16).slice(2);
  try {
    const reply = new Promise<{ ok: boolean; version?: string; error?: string }>((resolve) => {
      c.on('message', (_t, p) => {
        const r = JSON.parse(p.toString()) as { ok: boolean; correlation?: string };
        if (r.correlation === correlation) resolve(r);
      });
    });
    await c.subscribeAsync(`${prefix}/rover/reward/set/result`, { qos: 1 });
    await c.publishAsync(`${prefix}/rover/reward/set`, JSON.stringify({ source, correlation }), { qos: 1 });
    return await Promise.race([reply, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no reply to reward/set within 20 s')), 20_000))]);
  } finally {
    await c.endAsync();
  }
}

function allSteps(cap: Awaited<ReturnType<typeof captureEpisodes>>) {
  return [...cap.episodes.values()].flatMap((e) => e.batches.flatMap((b) => [...batchSteps(b)]));
}

describe('reward hot swap in the running daemon', () => {
  it('activates a pushed version at 1 kHz at one exact step, without a missed step', async () => {
    const { daemon, cap, prefix } = await run({ hz: 1000, batchSteps: 100 });
    try {
      await waitFor(() => allSteps(cap).length > 1500, 30_000, '1500 logged steps');
      const r = await push(daemon.mqttUrl, prefix, tweaked);
      expect(r).toMatchObject({ ok: true, version: shortHash(tweaked) });
      await waitFor(() => allSteps(cap).some((s) => s.rewardVersion === r.version), 10_000, 'a step with the new version');
      await waitFor(() => allSteps(cap).filter((s) => s.rewardVersion === r.version).length > 500, 10_000, '500 steps of the new version');
    } finally {
      await daemon.stop();
      await cap.close();
    }
    const ep = [...cap.episodes.values()].find((e) => e.batches.some((b) => b.rewardVersion === shortHash(tweaked)))!;
    const steps = ep.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]);
    const firstNew = steps.findIndex((s) => s.rewardVersion === shortHash(tweaked));
    expect(firstNew).toBeGreaterThan(0);
    // One switch point: every step before it has the old version, every step after the new one.
    expect(steps.slice(0, firstNew).every((s) => s.rewardVersion === shortHash(original))).toBe(true);
    expect(steps.slice(firstNew).every((s) => s.rewardVersion === shortHash(tweaked))).toBe(true);
    // No missed step across the swap: sequence numbers stay contiguous.
    const seqs = steps.map((s) => s.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(steps[firstNew]!.flags & StepFlag.first).toBe(0);
  });

  it('refuses a broken push over MQTT with compiler-style diagnostics and keeps the running version', async () => {
    const { daemon, cap, prefix } = await run({ hz: 200 });
    try {
      await waitFor(() => allSteps(cap).length > 50, 20_000, 'steps');
      const broken = original.replace('const effort =', 'const effort = = ');
      const r = await push(daemon.mqttUrl, prefix, broken);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/E_REWARD_COMPILE/);
      expect(r.error).toMatch(/:\d+/); // a line number
      const noReward = 'export const meta = { name: "x", goal: "y", weights: { a: 1 } };\n';
      const r2 = await push(daemon.mqttUrl, prefix, noReward);
      expect(r2.ok).toBe(false);
      expect(r2.error).toMatch(/E_REWARD_EXPORTS/);
      const n = allSteps(cap).length;
      await waitFor(() => allSteps(cap).length > n + 50, 10_000, 'more steps');
    } finally {
      await daemon.stop();
      await cap.close();
    }
    expect(new Set(allSteps(cap).map((s) => s.rewardVersion))).toEqual(new Set([shortHash(original)]));
  });

  it('refuses a version that fails on recent logged steps (dry run), and rolls back one that fails live', async () => {
    const throwsOnObstacles = original.replace('const dist = beaconDistance(obs);', 'const dist = beaconDistance(obs);\n  if (obs.range_front < 100) throw new Error("sensor check failed");');
    const dry = await run({ hz: 200 });
    try {
      await waitFor(() => allSteps(dry.cap).length > 100, 20_000, 'steps');
      const r = await push(dry.daemon.mqttUrl, dry.prefix, throwsOnObstacles);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/dry run on the last \d+ logged steps failed at step 0/);
      expect(r.error).toMatch(/E_REWARD_THREW/);
    } finally {
      await dry.daemon.stop();
      await dry.cap.close();
    }
    // Without the dry run the same version is activated, fails every step, and is rolled back.
    const live = await run({ hz: 200, dryRunSteps: 0, rollbackAfter: 10 });
    try {
      await waitFor(() => allSteps(live.cap).length > 100, 20_000, 'steps');
      const r = await push(live.daemon.mqttUrl, live.prefix, throwsOnObstacles);
      expect(r.ok).toBe(true);
      await waitFor(() => live.logs.some((l) => /rolled back/.test(l)), 10_000, 'a rollback');
      const n = allSteps(live.cap).length;
      await waitFor(() => allSteps(live.cap).length > n + 100, 10_000, 'steps after the rollback');
    } finally {
      await live.daemon.stop();
      await live.cap.close();
    }
    const steps = [...live.cap.episodes.values()].flatMap((e) => e.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]));
    const bad = steps.filter((s) => s.rewardVersion === shortHash(throwsOnObstacles));
    // Exactly rollbackAfter failed steps, then the old version again. On a loaded machine some steps
    // are `late` (the reward host answered after the step was logged): they are not the program's
    // failures and do not count towards the rollback.
    const threw = bad.filter((s) => s.rewardStatus !== RewardStatus.late);
    // The rollback comes with the 10th failure's result; steps already sent to the failing version by
    // then (the reward is pipelined: a result is read a tick or two after its step) are still its own,
    // logged as they were evaluated. They decide nothing more.
    expect(threw.length).toBeGreaterThanOrEqual(10);
    expect(threw.length).toBeLessThanOrEqual(13);
    const firstGood = steps.findIndex((s, i) => i > steps.indexOf(threw[0]!) && s.rewardVersion === shortHash(original));
    expect(steps.slice(firstGood).some((s) => s.rewardVersion === shortHash(throwsOnObstacles))).toBe(false);
    expect(threw.every((s) => s.rewardStatus === RewardStatus.threw && Number.isNaN(s.rewardTotal) && /sensor check failed/.test(s.rewardReason ?? ''))).toBe(true);
    expect(steps[steps.length - 1]!.rewardVersion).toBe(shortHash(original));
    expect(live.logs.some((l) => new RegExp(`${shortHash(throwsOnObstacles)} rolled back to ${shortHash(original)} after 10 failed steps`).test(l))).toBe(true);
    const active = live.cap.other.get(`${live.prefix}/rover/reward/active`) ?? [];
    expect(active.map((b) => b.toString()).some((t) => t.includes('rolled-back'))).toBe(true);
  });

  it('picks up an edited reward file from disk', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rewardd-watch-'));
    dirs.push(d);
    const file = join(d, 'reach.reward.js');
    copyFileSync('rewards/reach-beacon.reward.js', file);
    const { daemon, cap, logs } = await run({ hz: 200, reward: file, watchReward: true });
    try {
      await waitFor(() => allSteps(cap).length > 50, 20_000, 'steps');
      writeFileSync(file, tweaked);
      await waitFor(() => allSteps(cap).some((s) => s.rewardVersion === shortHash(tweaked)), 15_000, 'the edited version in the log');
      writeFileSync(file, 'this is not javascript');
      await waitFor(() => logs.some((l) => /changed but was rejected: E_REWARD_COMPILE/.test(l)), 15_000, 'the rejection of a broken edit');
    } finally {
      await daemon.stop();
      await cap.close();
    }
    expect(logs.some((l) => new RegExp(`version ${shortHash(tweaked)} accepted`).test(l))).toBe(true);
  });
});
