import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { McapStreamReader } from '@mcap/core';
import { spawn } from 'node:child_process';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { Recorder } from '../../src/recorder/recorder.js';
import { Catalog } from '../../src/store/catalog.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { readEpisodeColumns } from '../../src/relabel/episode-columns.js';
import { readStoredVision } from '../../src/vision/mcap-vision.js';
import { decodeImage } from '../../src/vision/image-codec.js';
import { until } from '../helpers/wait.js';
import { tempDirs } from '../helpers/temp.js';

/**
 * The whole vision path with the sim camera and the shipped model: `rewardd run --vision`
 * (encoder worker, fields in the tick) -> MQTT -> `rewardd record` (vision channels in the
 * MCAP) -> relabel: the logged VLM fields and terms reproduce bit for bit from the stored
 * embeddings alone, and new prompts rescore them.
 */
const tmp = tempDirs();
const url = process.env.MQTT_URL;

describe('vision end to end: daemon, recorder, relabel', () => {
  it('logs embeddings, frames and prompts, and relabel reproduces the VLM terms bit for bit', async () => {
    const prefix = `rewardd-vision-${Math.random().toString(16).slice(2, 8)}/v1`;
    const store = tmp('rewardd-vision-store-');
    const cfg = normaliseRunConfig({ vision: true, hz: 100, stepLimit: 300, episodes: 3, prefix, stateDir: tmp('rewardd-vision-state-'), status: false, watchReward: false, visionLogFrames: 3, ...(url ? { mqtt: url } : { brokerPort: 0 }) });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    const rec = new Recorder({ mqttUrl: daemon.mqttUrl, outDir: store, prefix, finalizeIntervalMs: 50 });
    // The logged frames also reach the live views: a viewer on camera/front gets JPEGs. The viewer
    // is mosquitto_sub (a client nobody here wrote): one message, its raw bytes on stdout.
    const u = new URL(daemon.mqttUrl);
    const viewer = spawn('mosquitto_sub', ['-h', u.hostname, '-p', u.port, '-t', `${prefix}/rover/camera/front`, '-C', '1', '-N'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    viewer.stdout.on('data', (b: Buffer) => chunks.push(b));
    const viewerDone = new Promise<void>((r) => viewer.on('close', () => r()));
    try {
      await until(() => rec.catalog.list({ status: 'complete' }).length >= 2, 'two recorded episodes', 60_000);
    } finally {
      await daemon.stop();
      await rec.close();
      await Promise.race([viewerDone, new Promise((r) => setTimeout(r, 5000))]);
      viewer.kill();
    }
    const frames = [Buffer.concat(chunks)];
    expect(frames[0]!.length).toBeGreaterThan(0);
    expect([...frames[0]!.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect(decodeImage(new Uint8Array(frames[0]!)).width).toBeGreaterThan(0);
    expect(logs.some((l) => l.startsWith('vision: clip-tiny-random'))).toBe(true);
    const cat = new Catalog(store, { readonly: true });
    const rows = cat.list({ status: 'complete' });
    const end = cat.records(rows[0]!.episode).end!;
    cat.close();
    const file = rows[0]!.file!;

    // The file: embeddings, prompt sets, Foxglove-readable JPEG frames; the end record's counters.
    const topics = new Set<string>();
    const schemas = new Map<number, string>();
    const reader = new McapStreamReader();
    reader.append(readFileSync(file));
    for (let r; (r = reader.nextRecord()); ) {
      if (r.type === 'Schema') schemas.set(r.id, r.name);
      if (r.type === 'Channel') topics.add(`${r.topic} ${schemas.get(r.schemaId)}`);
    }
    expect(topics).toContain('/vision/embedding rewardd/VisionEmbedding');
    expect(topics).toContain('/camera/front/compressed foxglove.CompressedImage');
    const stored = readStoredVision(file);
    expect(stored.embeddingSize).toBe(32);
    expect(stored.kinds).toEqual(['goal_baseline', 'goal_cosine']);
    expect(stored.records.size).toBeGreaterThan(2);
    expect(stored.frames.size).toBeGreaterThan(0);
    const img = decodeImage([...stored.frames.values()][0]!);
    expect([img.width, img.height]).toEqual([96, 72]);
    expect(end.vision!.encoded).toBeGreaterThan(0);
    expect(end.vision!.recordsLogged).toBe([...stored.records.keys()].length);

    // Each step says which embedding it used and how old its frame was.
    const ep = await readEpisodeColumns(file);
    const no = ep.observationNames.length;
    const col = (n: string) => ep.observationNames.indexOf(n);
    const seqs = new Set<number>();
    for (let r = 0; r < ep.count; r++) {
      const seq = ep.obs[r * no + col('vision_seq')]!;
      const age = ep.obs[r * no + col('vision_age_ms')]!;
      if (seq >= 0) {
        seqs.add(seq);
        expect(stored.records.has(seq)).toBe(true);
        expect(age).toBeGreaterThanOrEqual(0);
        expect(age).toBeLessThan(10_000);
        expect(ep.obs[r * no + col('vlm_goal')]).toBe(Math.fround(stored.records.get(seq)!.values[0]!));
      } else expect(age).toBe(Infinity);
    }
    expect(seqs.size).toBeGreaterThan(2);

    // Relabel with the same program: VLM fields from the stored embeddings only, bit for bit.
    const source = readFileSync(cfg.reward, 'utf8');
    const same = await relabelStore({ storeDir: store, reward: { source, filename: cfg.reward }, verify: true, save: false });
    expect(same.errors).toEqual([]);
    expect(same.verify!.mismatched).toBe(0);
    expect(same.verify!.matched).toBe(same.episodes.length);
    for (const e of same.episodes) {
      expect(e.vision!.prompts).toBe('logged');
      expect(e.vision!.rescored).toBeGreaterThan(0); // steps after the first frame (few when an episode ends early on a loaded machine)
      expect(e.vision!.mismatch).toBeUndefined();
    }

    // New prompts: rescored from the stored embeddings with the model's text encoder alone.
    const edited = source.replace("goal: ['a red beacon right in front of the camera']", "goal: ['a green door far away']");
    expect(edited).not.toBe(source);
    // ...which it must be given: the logged embeddings carry no text encoder.
    const noModel = await relabelStore({ storeDir: store, reward: { source: edited, filename: 'new.reward.js' }, save: false });
    expect(noModel.errors.length).toBeGreaterThanOrEqual(2);
    expect(noModel.episodes).toEqual([]);
    for (const e of noModel.errors) expect(e.error).toMatch(/^E_CONFIG: --vision-model: expected the model folder that embedded these frames \(hash [0-9a-f]{12}\)/);
    const model = join(process.cwd(), 'models/clip-tiny');
    const fresh = await relabelStore({ storeDir: store, reward: { source: edited, filename: 'new.reward.js' }, save: false, vision: { modelDir: model } });
    expect(fresh.errors).toEqual([]);
    const vlm = (r: typeof same) => r.terms.find((t) => t.term === 'vlm')!.mean;
    expect(fresh.episodes[0]!.vision!.prompts).not.toBe('logged');
    expect(vlm(fresh)).not.toBe(vlm(same));
  }, 120_000);
});
