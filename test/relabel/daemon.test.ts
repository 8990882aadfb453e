import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { until } from '../helpers/wait.js';
import { tempDirs } from '../helpers/temp.js';

/**
 * The whole path: `rewardd run` (sim rover, policy, safety filter, reward in
 * the control thread) -> MQTT -> `rewardd record` -> relabel --verify. The
 * relabel reproduces what the daemon logged, bit for bit.
 */
const tmp = tempDirs();


describe('relabel of episodes recorded from the running daemon', () => {
  it('reproduces the daemon\'s logged rewards bit for bit', async () => {
    const prefix = `rewardd-relabel-${Math.random().toString(16).slice(2, 8)}/v1`;
    const store = tmp('rewardd-relabel-daemon-store-');
    const cfg = normaliseRunConfig({ hz: 200, stepLimit: 200, episodes: 3, prefix, stateDir: tmp('rewardd-relabel-daemon-'), status: false, watchReward: false, brokerPort: 0 });
    const daemon = await startDaemon(cfg, { log: () => {}, status: () => {} });
    const rec = new Recorder({ mqttUrl: daemon.mqttUrl, outDir: store, prefix, finalizeIntervalMs: 50 });
    try {
      await until(() => rec.catalog.list({ status: 'complete' }).length >= 2, 'two recorded episodes', 60_000);
    } finally {
      await daemon.stop();
      await rec.close();
    }
    const source = readFileSync(cfg.reward, 'utf8');
    const rep = await relabelStore({ storeDir: store, reward: { source, filename: cfg.reward }, verify: true, save: false });
    expect(rep.errors).toEqual([]);
    expect(rep.episodes.length).toBeGreaterThanOrEqual(2);
    expect(rep.verify!.mismatched).toBe(0);
    expect(rep.verify!.matched).toBe(rep.episodes.length);
    // The daemon ran reward() step by step; relabel ran the file's rewardColumns: the same bits.
    expect(rep.form).toMatchObject({ hasColumns: true, columnSteps: rep.steps, perStepSteps: 0 });
    // Most steps were compared: only a (load-dependent) timeout on this shared machine stops a comparison early.
    const compared = rep.episodes.reduce((a, e) => a + e.verify!.comparedSteps, 0);
    expect(compared / rep.steps).toBeGreaterThan(0.9);
  }, 90_000);
});
