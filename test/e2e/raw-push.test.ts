import { RewardStatus } from '../../src/core/records.js';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { pushReward } from '../../src/cli/reward-push.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('hot swap of a program that reads raw values', () => {
  it('dry-runs it on the logged raw values and activates it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-rawpush-'));
    dirs.push(stateDir);
    const prefix = `rewardd-test-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({ prefix, stateDir, status: false, watchReward: false, hz: 200, stepLimit: 100_000, auth: 'open', brokerPort: 0 });
    const daemon = await startDaemon(cfg, { log: () => {}, status: () => {} });
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    const source = readFileSync('test/reward/fixtures/raw-range.reward.js', 'utf8');
    const all = () => [...cap.episodes.values()].flatMap((e) => e.batches.flatMap((b) => [...batchSteps(b)]));
    try {
      await waitFor(() => all().length > 300, 20_000, 'logged steps for the dry run');
      const r = await pushReward({ source, robot: 'rover', mqttUrl: daemon.mqttUrl, prefix });
      expect(r).toMatchObject({ ok: true, version: shortHash(source) });
      await waitFor(() => all().filter((s) => s.rewardVersion === shortHash(source)).length > 50, 10_000, 'steps of the raw-reading version');
    } finally {
      await daemon.stop();
      await cap.close();
    }
    const steps = all().filter((s) => s.rewardVersion === shortHash(source));
    // ok, or late (the reward host answered after the step was logged: a loaded machine), never a failure.
    expect(steps.filter((s) => s.rewardStatus !== RewardStatus.ok && s.rewardStatus !== RewardStatus.late)).toEqual([]);
    expect(steps.filter((s) => s.rewardStatus === RewardStatus.ok).length).toBeGreaterThan(0.9 * steps.length);
  });
});
