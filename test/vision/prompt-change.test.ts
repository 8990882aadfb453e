import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { Catalog } from '../../src/store/catalog.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { readEpisodeColumns } from '../../src/relabel/episode-columns.js';
import { readStoredVision } from '../../src/vision/mcap-vision.js';
import { until } from '../helpers/wait.js';
import { tempDirs } from '../helpers/temp.js';

/**
 * Prompts changed live: the reward file on the robot is edited (its meta.vision), which
 * is a new reward version like any other; the encoder re-embeds the prompts, the log
 * names the new prompt set and its version, and each step says (through its record)
 * which prompts scored it. --verify still reproduces every logged term bit for bit.
 */
const tmp = tempDirs();
const url = process.env.MQTT_URL;

describe('a live prompt change', () => {
  it('is a new reward version, logged with its prompt set, and relabel --verify reproduces it', async () => {
    const prefix = `rewardd-prompts-${Math.random().toString(16).slice(2, 8)}/v1`;
    const store = tmp('rewardd-prompts-store-');
    const dir = tmp('rewardd-prompts-reward-');
    const rewardFile = join(dir, 'reach-beacon-vision.reward.js');
    const original = readFileSync('rewards/reach-beacon-vision.reward.js', 'utf8');
    writeFileSync(rewardFile, original);
    const cfg = normaliseRunConfig({ vision: true, reward: rewardFile, hz: 100, stepLimit: 100_000, prefix, stateDir: tmp('rewardd-prompts-state-'), status: false, dryRunSteps: 50, ...(url ? { mqtt: url } : { brokerPort: 0 }) });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    const rec = new Recorder({ mqttUrl: daemon.mqttUrl, outDir: store, prefix, finalizeIntervalMs: 50 });
    let newVersion = '';
    try {
      await until(() => logs.some((l) => l.startsWith('running rover')), 'the daemon running', 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      writeFileSync(rewardFile, original.replace("goal: ['a red beacon right in front of the camera']", "goal: ['a blue door at the end of a corridor']"));
      await until(() => logs.some((l) => /^reward version [0-9a-f]{12} active/.test(l)), 'the new version active', 30_000);
      newVersion = /^reward version ([0-9a-f]{12}) active/.exec(logs.find((l) => /^reward version [0-9a-f]{12} active/.test(l))!)![1]!;
      await until(() => logs.some((l) => l.includes(`(reward ${newVersion} meta.vision)`)), 'the new prompt set', 30_000);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await daemon.stop();
    }
    const last = /^episode (\S+) ended: shutdown/.exec(logs.find((l) => / ended: shutdown/.test(l)) ?? '')?.[1];
    await until(() => rec.catalog.list({ status: 'complete' }).some((e) => e.episode === last), 'the last episode written', 30_000);
    await rec.close();
    const promptsLine = logs.find((l) => l.includes(`(reward ${newVersion} meta.vision)`))!;
    expect(promptsLine).toMatch(/^vision prompts [0-9a-f]{12} \(reward [0-9a-f]{12} meta\.vision\): goal \["a blue door at the end of a corridor"\], baseline \["an empty grey room"\], alpha 0\.5$/);
    const newSet = /^vision prompts ([0-9a-f]{12})/.exec(promptsLine)![1]!;

    // Find the episode(s) with the new version; their steps under it use records scored by the new set.
    const cat = new Catalog(store, { readonly: true });
    const files = cat.list({ status: 'complete' }).map((e) => e.file!);
    cat.close();
    let newSteps = 0;
    let scoredByNew = 0;
    for (const file of files) {
      const ep = await readEpisodeColumns(file);
      const stored = readStoredVision(file);
      const no = ep.observationNames.length;
      const seqCol = ep.observationNames.indexOf('vision_seq');
      for (const seg of ep.loggedSegments.filter((s) => s.version === newVersion)) {
        for (let r = seg.from; r < seg.to; r++) {
          newSteps++;
          const rec = stored.records.get(ep.obs[r * no + seqCol]!);
          if (rec?.prompts === newSet) scoredByNew++;
        }
      }
      // Each episode file carries every prompt set its records were scored with (an episode whose
      // new-version steps all came before the encoder had re-embedded the prompts has none by the new set).
      for (const rec of stored.records.values()) if (rec.prompts) expect(stored.prompts.has(rec.prompts), `prompt set ${rec.prompts} in ${file}`).toBe(true);
      if ([...stored.records.values()].some((rec) => rec.prompts === newSet)) expect(stored.prompts.get(newSet)?.rewardVersion).toBe(newVersion);
    }
    expect(newSteps).toBeGreaterThan(50);
    // All but the first steps after the swap (the encoder re-embeds the prompts meanwhile; longer on a loaded machine).
    expect(scoredByNew / newSteps).toBeGreaterThan(0.7);

    const rep = await relabelStore({ storeDir: store, reward: { source: readFileSync(rewardFile, 'utf8'), filename: rewardFile }, verify: true, save: false });
    expect(rep.errors).toEqual([]);
    expect(rep.verify!.compared).toBeGreaterThan(0);
    expect(rep.verify!.mismatched).toBe(0);
  }, 120_000);
});
