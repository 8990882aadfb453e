import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RewardStatus, type StepRecord } from '../../src/core/records.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { readEpisodeSteps } from '../../src/recorder/episode-reader.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { readEpisodeColumnsGeneric } from '../../src/relabel/episode-columns.js';
import { readEpisodeColumnsFast } from '../../src/relabel/mcap-columns.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { until } from '../helpers/wait.js';
import { tempDirs } from '../helpers/temp.js';

/**
 * Raw values end to end: the daemon runs the sim rover with a calibration that
 * doubles range_front, and a reward whose terms are obs.range_front
 * (calibrated) and ctx.raw.range_front (raw). The recorded terms differ by
 * exactly the calibration, the step records carry the raw observation, and
 * relabel --verify on the store reproduces the terms bit for bit.
 */
const REWARD = fileURLToPath(new URL('../reward/fixtures/raw-range.reward.js', import.meta.url));
const tmp = tempDirs();


describe('raw values in reward programs, daemon to relabel', () => {
  it('logs calibrated and raw terms that differ by the calibration, and relabels them bit for bit', async () => {
    const prefix = `rewardd-raw-${Math.random().toString(16).slice(2, 8)}/v1`;
    const store = tmp('rewardd-raw-store-');
    const calDir = tmp('rewardd-raw-cal-');
    const calibration = join(calDir, 'rover.json');
    // Scale 2 (a power of two) commutes with float32 rounding, so calibrated = 2 × raw exactly.
    writeFileSync(calibration, JSON.stringify({ schema: 'rewardd.calibration/1', robot: 'rover', note: 'test: range_front doubled', channels: { range_front: { scale: 2 } } }));
    const cfg = normaliseRunConfig({ hz: 200, stepLimit: 120, episodes: 2, prefix, reward: REWARD, calibration, stateDir: tmp('rewardd-raw-state-'), status: false, watchReward: false, brokerPort: 0 });
    const daemon = await startDaemon(cfg, { log: () => {}, status: () => {} });
    const rec = new Recorder({ mqttUrl: daemon.mqttUrl, outDir: store, prefix, finalizeIntervalMs: 50 });
    let file = '';
    try {
      await until(() => rec.catalog.list({ status: 'complete' }).length >= 1, 'a recorded episode', 60_000);
      file = rec.catalog.list({ status: 'complete' })[0]!.file!;
    } finally {
      await daemon.stop();
      await rec.close();
    }

    const steps: StepRecord[] = [];
    for await (const s of readEpisodeSteps(file)) steps.push(s);
    const ok = steps.filter((s) => s.rewardStatus === RewardStatus.ok);
    expect(ok.length).toBeGreaterThan(steps.length * 0.9);
    const generic = await readEpisodeColumnsGeneric(file, 1e6);
    const names = generic.observationNames;
    const iFront = names.indexOf('range_front');
    const iBeacon = names.indexOf('beacon_x');
    expect(iFront).toBeGreaterThanOrEqual(0);
    let differ = 0;
    for (const s of ok) {
      const { calibrated, raw } = s.rewardTerms as { calibrated: number; raw: number };
      expect(s.obsRaw).toBeDefined();
      expect(calibrated).toBe(s.obs[iFront]);
      expect(raw).toBe(s.obsRaw![iFront]);
      expect(calibrated).toBe(2 * raw);
      expect(s.obsRaw![iBeacon]).toBe(s.obs[iBeacon]); // identity elsewhere
      if (calibrated !== raw) differ++;
    }
    expect(differ).toBe(ok.length); // the sim's front range is never 0

    // Both column readers carry obsRaw, and agree.
    const fast = await readEpisodeColumnsFast(file, 1e6);
    expect(fast.obsRaw).toBeDefined();
    expect(Buffer.from(fast.obsRaw!.buffer, fast.obsRaw!.byteOffset, fast.obsRaw!.byteLength).equals(Buffer.from(generic.obsRaw!.buffer, generic.obsRaw!.byteOffset, generic.obsRaw!.byteLength))).toBe(true);

    const rep = await relabelStore({ storeDir: store, reward: { source: readFileSync(REWARD, 'utf8'), filename: REWARD }, verify: true, save: false });
    expect(rep.errors).toEqual([]);
    expect(rep.episodes.length).toBeGreaterThanOrEqual(1);
    expect(rep.verify!.mismatched).toBe(0);
    expect(rep.verify!.matched).toBe(rep.episodes.length);
    const compared = rep.episodes.reduce((a, e) => a + e.verify!.comparedSteps, 0);
    expect(compared / rep.steps).toBeGreaterThan(0.9);
  }, 90_000);
});
