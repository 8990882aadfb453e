import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RewardStatus } from '../../src/core/records.js';
import { startWorker } from '../../src/core/worker-entry.js';
import { ACT, OBS, REWARDS_DIR } from './helpers.js';

describe('RewardRuntime inside a worker thread', () => {
  it('evaluates the default program and stops a runaway one', async () => {
    const w = startWorker(import.meta.url, 'reward-worker-fixture', {
      workerData: { file: join(REWARDS_DIR, 'reach-beacon.reward.js'), obsNames: OBS, actNames: ACT },
    });
    const msg = await new Promise<Record<string, unknown>>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
    });
    // Terminating a worker that owns sandboxes must not take the process down (isolated-vm
    // aborts if an async result lands in a dying isolate; the watchdog never posts one).
    await w.terminate();
    expect(msg.okStatus).toBe(RewardStatus.ok);
    expect(msg.version).toMatch(/^[0-9a-f]{12}$/);
    expect((msg.totals as number[]).every(Number.isFinite)).toBe(true);
    expect(msg.loopStatus).toBe(RewardStatus.timeout);
    expect(msg.loopReason).toMatch(/^E_REWARD_TIMEOUT: reward "loop"/);
  });
});
