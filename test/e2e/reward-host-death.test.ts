import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RewardStatus, StepFlag } from '../../src/core/records.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';
import { DaemonProcess } from '../isolation/daemon-process.js';

/**
 * The reward file the daemon starts with is bad, and there is no earlier
 * version to fall back on: the daemon must say why steps fail (once, with the
 * program's line), and when the program kills its host, restore it in a fresh
 * one while the episode goes on with every step logged.
 */
const url = process.env.MQTT_URL ?? null;
const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const GOOD = readFileSync('rewards/reach-beacon.reward.js', 'utf8');

describe('a bad initial reward, with nothing to roll back to', () => {
  it('a program that throws from its first step: the reason and the line are logged once per episode, then counted', async () => {
    const dir = tmp('rewardd-throws-');
    const file = join(dir, 'throws.reward.js');
    writeFileSync(file, GOOD.replace('const dist = beaconDistance(obs);', 'const dist = beaconDistance(obs);\n  throw new Error("calibration table missing");'));
    const d = await DaemonProcess.start(['--reward', file, '--state-dir', dir, '--hz', '200', '--step-limit', '300'], url);
    try {
      await waitFor(() => /failed \d+ steps in episode/.test(d.log), 30_000, 'the end of the first episode');
    } finally {
      await d.stop();
    }
    const first = /reward v[0-9a-f]+ failed in episode (\S+) \(threw\): E_REWARD_THREW: reward "reach-beacon" v[0-9a-f]+ threw at step 0: Error: calibration table missing \(.*throws\.reward\.js:(\d+):\d+\)/.exec(d.log);
    expect(first, d.log).not.toBeNull();
    // Once per episode in full, then a count at its end: not a line per step.
    expect(d.log.match(/calibration table missing/g)!.length).toBeLessThan(10);
    expect(d.log).toMatch(new RegExp(`failed 300 steps in episode ${first![1]}: threw ×300`));
  }, 60_000);

  it('a program that kills its host mid-episode: lost, restored in a fresh host, the episode goes on with no gap', async () => {
    const dir = tmp('rewardd-lost-');
    const file = join(dir, 'bomb.reward.js');
    // Clean for 400 steps (so it counts as having run clean), then one allocation V8 cannot stop.
    writeFileSync(file, GOOD.replace('export function reward(obs, action, ctx) {', 'let calls = 0;\nexport function reward(obs, action, ctx) {\n  if (++calls === 400) new Array(2e8).fill(1.5);'));
    const prefix = `lost-${Math.random().toString(16).slice(2, 8)}/v1`;
    const d = await DaemonProcess.start(['--reward', file, '--state-dir', dir, '--hz', '200', '--step-limit', '100000', '--prefix', prefix, '--no-watch-reward'], url);
    const cap = await captureEpisodes(d.mqttUrl, prefix);
    try {
      await waitFor(() => /activated.*restored|restored after its host died/.test(d.log), 30_000, 'the restore');
      await waitFor(() => /reward version [0-9a-f]+ lost/.test(d.log), 1000, 'the loss logged');
      const n = [...cap.episodes.values()].flatMap((e) => e.batches).length;
      await waitFor(() => [...cap.episodes.values()].flatMap((e) => e.batches).length > n + 5, 20_000, 'steps after the restore');
    } finally {
      await cap.close();
      await d.stop();
    }
    expect(d.alive).toBe(false);
    expect(d.child.exitCode).toBe(0);
    expect(d.log).toMatch(/reward version ([0-9a-f]+) lost because its reward host (ran out of memory|timed out|crashed)/);
    const events = (cap.other.get(`${prefix}/rover/reward/active`) ?? []).map((b) => JSON.parse(b.toString()) as Record<string, unknown>);
    expect(events.some((e) => e.type === 'lost' && typeof e.cause === 'string' && e.restoring === e.version)).toBe(true);
    expect(events.some((e) => e.type === 'activated' && e.restored === true)).toBe(true);
    // The episode the crash happened in: every step logged once, in order; the crashing step says why.
    const ep = [...cap.episodes.values()].find((e) => e.start && e.batches.some((b) => [...batchSteps(b)].some((s) => s.rewardStatus !== RewardStatus.ok)))!;
    const steps = ep.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]);
    expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i));
    expect(steps[0]!.flags & StepFlag.first).toBe(StepFlag.first);
    const dead = steps.find((s) => [RewardStatus.memory, RewardStatus.timeout, RewardStatus.crashed].includes(s.rewardStatus as 1));
    expect(dead?.rewardReason).toMatch(/^E_REWARD_(MEMORY|TIMEOUT|CRASHED): /);
    expect(steps.at(-1)!.rewardStatus).toBe(RewardStatus.ok); // rewards again after the restore, same episode
  }, 90_000);
});
