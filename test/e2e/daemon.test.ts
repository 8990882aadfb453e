import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/hash.js';
import { loadRobot } from '../../src/core/robot.js';
import { StepFlag, RewardStatus } from '../../src/core/records.js';
import { loadCalibration } from '../../src/calibration/calibration.js';
import { loadPolicyManifest } from '../../src/policy/load.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { RewardRuntime, newRewardOutput } from '../../src/reward/index.js';
import { captureEpisodes, waitFor, type CapturedEpisode } from '../helpers/mqtt-capture.js';

const brokers: Array<[string, string | undefined]> = [['embedded aedes', undefined]];
if (process.env.MQTT_URL) brokers.push(['external broker at MQTT_URL', process.env.MQTT_URL]);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.each(brokers)('rewardd run, end to end against the %s', (_name, url) => {
  it('logs every step of every episode, reproducibly, with provenance', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-e2e-'));
    dirs.push(stateDir);
    const prefix = `rewardd-test-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({
      hz: 200,
      stepLimit: 300,
      episodes: 3,
      prefix,
      stateDir,
      status: false,
      watchReward: false,
      ...(url ? { mqtt: url } : { brokerPort: 0 }),
    });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    // Subscribe before the first episode can finish: the broker does not keep episode topics.
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    let finished = false;
    void daemon.done.then(() => (finished = true));
    try {
      await waitFor(() => [...cap.episodes.values()].filter((e) => e.end).length >= 3 || finished, 60_000, '3 episode end records');
      await daemon.done;
      await waitFor(() => [...cap.episodes.values()].filter((e) => e.end).length >= 3, 10_000, 'the last end record');
    } finally {
      await daemon.stop();
      await cap.close();
    }

    const eps = [...cap.episodes.entries()].filter(([, e]) => e.start && e.end);
    // The first episode may have started before our subscription; every later one must be whole.
    const whole = eps.filter(([, e]) => e.batches.length > 0 && e.batches[0]!.seq0 === 0);
    expect(whole.length).toBeGreaterThanOrEqual(2);

    const source = readFileSync(cfg.reward, 'utf8');
    let okSteps = 0;
    let allSteps = 0;
    const robot = loadRobot(cfg.robot);
    for (const [id, ep] of whole) {
      const steps = stepsOf(ep);
      // No gaps, no duplicates, in order.
      expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i));
      expect(steps.length).toBe(ep.end!.steps);
      expect(steps.filter((s) => s.flags & StepFlag.first).map((s) => s.seq)).toEqual([0]);
      expect(steps.filter((s) => s.flags & StepFlag.last).map((s) => s.seq)).toEqual([steps.length - 1]);
      expect(steps.every((s) => s.episode === id)).toBe(true);
      expect(ep.end!.reason === 'success' || ep.end!.reason === 'step_limit' || ep.end!.reason === 'done' || ep.end!.reason === 'shutdown').toBe(true);

      // Provenance: the hashes in the start record are those of the files used.
      const st = ep.start!;
      expect(st.reward.sha256).toBe(sha256Hex(source));
      expect(st.reward.content).toBe(source);
      expect(st.robotDescription.hash).toBe(robot.hash);
      expect(st.calibration.hash).toBe(loadCalibration(cfg.calibration, robot.robot).hash);
      expect(st.policy.hash).toBe(loadPolicyManifest(cfg.policy, robot.robot).hash);
      expect(st.observationNames).toEqual(robot.robot.observations.map((f) => f.name));

      // The logged reward terms are exactly what the reward file computes from the logged steps.
      const rt = await RewardRuntime.create(source, cfg.reward, {
        observationNames: st.observationNames,
        actionNames: st.actionNames,
      });
      const out = newRewardOutput(rt.info.termNames.length);
      rt.beginEpisode({ index: st.index, id });
      let prevT = 0n;
      let compared = 0;
      for (const s of steps) {
        const dt = s.seq === 0 ? 1 / st.tickHz : Number(s.tNs - prevT) / 1e9;
        prevT = s.tNs;
        expect(s.rewardVersion).toBe(st.reward.hash);
        if (s.rewardStatus === RewardStatus.late) {
          // The host answered after the step was logged (a loaded machine), but it did evaluate
          // the step in order: replay it and compare the steps after it.
          expect(Number.isNaN(s.rewardTotal)).toBe(true);
          rt.evaluate(s.obs, s.actionApplied, dt, out);
          continue;
        }
        if (s.rewardStatus !== RewardStatus.ok) {
          // A failed step carries its reason and no made-up value. A timeout (this machine is
          // shared; the budget is wall time) is not reproducible offline: stop comparing there.
          expect(Number.isNaN(s.rewardTotal)).toBe(true);
          expect(s.rewardReason).toMatch(/^E_REWARD_/);
          break;
        }
        rt.evaluate(s.obs, s.actionApplied, dt, out);
        rt.info.termNames.forEach((name, k) => expect(Object.is(s.rewardTerms[name], out.terms[k])).toBe(true));
        expect(Object.is(s.rewardTotal, out.total)).toBe(true);
        compared++;
      }
      okSteps += compared + steps.filter((s) => s.rewardStatus === RewardStatus.late).length;
      allSteps += steps.length;
      rt.dispose();
    }
    expect(logs.some((l) => /control thread failed/.test(l))).toBe(false);
    expect(okSteps / allSteps).toBeGreaterThan(0.9);
  });
});

function stepsOf(ep: CapturedEpisode) {
  return ep.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]);
}
