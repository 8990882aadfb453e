/**
 * `npm run bench -- vision`:
 *  1. image encoder latency (frame → embedding: preprocessing + onnxruntime, 1 thread, as the
 *     encoder worker runs it) for the shipped model, a ViT-B/32-shaped graph and a
 *     TinyCLIP-8M/16-shaped graph (random weights, real shapes; generated into a temp dir);
 *  2. the 1 kHz control tick with vision off and on, in the same run (whole daemon, sim rover,
 *     sim camera at 10 Hz, shipped model), alternated twice: period error p99 and the ratio;
 *  3. offline rescoring of stored embeddings (relabel's path, no file I/O): steps per second.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CLIP_SHAPES, imageEncoderOnnx, type ClipShapeName } from '../src/vision/clip-graph.js';
import { openOrtSession } from '../src/policy/onnx-session.js';
import { preprocessFrame } from '../src/vision/preprocess.js';
import { CLIP_MEAN, CLIP_STD } from '../src/vision/make-model.js';
import { renderScene } from '../src/vision/sim-camera.js';
import { normaliseRunConfig } from '../src/daemon/config.js';
import { startDaemon } from '../src/daemon/daemon.js';
import { relabelVision } from '../src/vision/relabel-vision.js';
import type { StoredVision } from '../src/vision/mcap-vision.js';
import type { PromptSetRecord } from '../src/vision/prompt-set.js';
import { loadRobot } from '../src/core/robot.js';
import { summarise, table } from './stats.js';

async function encoderLatency(shape: ClipShapeName, dir: string, iterations: number): Promise<Record<string, string | number>> {
  const spec = CLIP_SHAPES[shape];
  const t0 = performance.now();
  const g = imageEncoderOnnx(spec);
  const path = join(dir, `${shape}-image.onnx`);
  writeFileSync(path, g.bytes);
  const genS = (performance.now() - t0) / 1000;
  const s = await openOrtSession(ort, g.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const S = spec.image.imageSize;
  const px = new Float32Array(3 * S * S);
  const tensor = new ort.Tensor('float32', px, [1, 3, S, S]);
  const frame = { width: 160, height: 120, rgb: renderScene({ x: 0, y: 0, theta: 0, beaconX: 1.5, beaconY: 0.2, arenaHalf: 3, obstacles: [] }, 160, 120) };
  const pre = { size: S, crop: 'center' as const, mean: CLIP_MEAN, std: CLIP_STD, channels: 'rgb' as const };
  const run = () => {
    preprocessFrame(frame, pre, px);
    s.runSync!({ pixel_values: tensor }, { image_embeds: null });
  };
  for (let i = 0; i < 3; i++) run();
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    run();
    ms.push(performance.now() - t);
  }
  await s.release();
  const r = summarise(ms);
  return { graph: shape, 'input px': S, 'weights MB': +(g.weightBytes / 1e6).toFixed(1), 'made in s': +genS.toFixed(1), 'p50 ms': r.p50, 'p99 ms': r.p99, 'Hz at p50': 1000 / r.p50 };
}

async function tickRun(vision: boolean, seconds: number): Promise<{ hz: number; p99: number; skipped: number }> {
  const state = mkdtempSync(join(tmpdir(), 'rewardd-bench-vision-'));
  const cfg = normaliseRunConfig({ hz: 1000, vision, ...(vision ? {} : { robot: 'robots/rover.json', reward: 'rewards/reach-beacon.reward.js' }), brokerPort: 0, status: false, watchReward: false, stateDir: state, duration: seconds, stepLimit: 100_000_000, visionLogFrames: 10 });
  let line = '';
  const d = await startDaemon(cfg, { log: (l) => l.startsWith('stopped after') && (line = l), status: () => {} });
  await d.done;
  rmSync(state, { recursive: true, force: true });
  const m = /tick ([\d.]+) Hz, p99 period error (\d+) us, (\d+) ticks skipped/.exec(line);
  return { hz: Number(m?.[1]), p99: Number(m?.[2]), skipped: Number(m?.[3]) };
}

async function rescoring(dim: number, steps: number, stepsPerRecord: number): Promise<Record<string, string | number>> {
  const names = loadRobot('robots/rover-vision.json').robot.observations;
  const no = names.length;
  const seqCol = names.findIndex((f) => f.name === 'vision_seq');
  const rnd = (() => {
    let s = 1;
    return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  })();
  const vec = () => Array.from({ length: dim }, rnd);
  const set: PromptSetRecord = { id: 'bench', rewardVersion: null, modelHash: 'm', prompts: { goal: ['g'], baseline: ['b'], goal_images: [], alpha: 0.5 }, goal: [vec()], baseline: [vec()], goalImages: [] };
  const records = new Map();
  const nRec = Math.ceil(steps / stepsPerRecord);
  // 64 distinct embeddings shared by the records: building a million random 512-vectors would take longer than the measurement.
  const pool = Array.from({ length: 64 }, () => Float32Array.from(vec()));
  for (let i = 0; i < nRec; i++) records.set(i, { seq: i, frameSeq: i, tNs: 0n, prompts: 'bench', values: new Float64Array(2), embedding: pool[i % 64]! });
  const stored: StoredVision = { kinds: ['goal_baseline', 'goal_cosine'], embeddingSize: dim, prompts: new Map([['bench', set]]), records, frames: new Map() };
  const obs = new Float32Array(steps * no);
  for (let r = 0; r < steps; r++) obs[r * no + seqCol] = Math.floor(r / stepsPerRecord);
  const ep = { start: { robotDescription: { content: { observations: names } } } as never, observationNames: names.map((f) => f.name), count: steps, seq: Uint32Array.from({ length: steps }, (_, i) => i), obs };
  // CPU time of this (single-threaded) process as well as wall time: on a shared machine the wall
  // clock counts other processes' turns; "per core" is steps per CPU second.
  const t = performance.now();
  const c = process.cpuUsage();
  await relabelVision(ep, '', undefined, {}, stored);
  const cu = process.cpuUsage(c);
  const s = (performance.now() - t) / 1000;
  const cpu = (cu.user + cu.system) / 1e6;
  return { 'embedding size': dim, steps, 'steps per frame': stepsPerRecord, 'M steps/s wall': steps / s / 1e6, 'M steps/s per CPU s': steps / cpu / 1e6 };
}

export async function run(): Promise<void> {
  const parts = (process.env.REWARDD_BENCH_VISION ?? 'encoders,tick,rescore').split(',');
  if (parts.includes('encoders')) await encoders();
  if (parts.includes('tick')) await ticks();
  if (parts.includes('rescore')) {
    const resc = [await rescoring(512, 300_000, 1), await rescoring(512, 1_000_000, 10), await rescoring(32, 1_000_000, 10)];
    process.stdout.write(`offline rescoring from stored embeddings (relabel's path, in memory, 1 thread; target >= 1 M steps/s)\n${table(resc)}\n`);
  }
}

async function encoders(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rewardd-bench-vision-graphs-'));
  try {
    const rows = [await encoderLatency('tiny', dir, 300), await encoderLatency('tinyclip-8m-16', dir, 30), await encoderLatency('vit-b-32', dir, 30)];
    process.stdout.write(`image encoder, frame -> embedding, onnxruntime-node CPU 1 thread, random weights (target: ViT-B/32 >= 8 Hz)\n${table(rows)}\n\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ticks(): Promise<void> {
  const secs = 8;
  const runs: Array<{ run: string } & Awaited<ReturnType<typeof tickRun>>> = [];
  for (let k = 0; k < 2; k++) {
    runs.push({ run: `vision off #${k + 1}`, ...(await tickRun(false, secs)) });
    runs.push({ run: `vision on #${k + 1} (sim camera 10 Hz, clip-tiny)`, ...(await tickRun(true, secs)) });
  }
  const off = runs.filter((r) => r.run.startsWith('vision off')).map((r) => r.p99);
  const on = runs.filter((r) => r.run.startsWith('vision on')).map((r) => r.p99);
  process.stdout.write(`1 kHz control tick, whole daemon (sim rover, policy, reward), ${secs} s per run, alternated\n${table(runs.map((r) => ({ run: r.run, 'achieved Hz': r.hz, 'period err p99 us': r.p99, skipped: r.skipped })))}\n`);
  process.stdout.write(`p99 period error, vision on / off: ${(Math.max(...on) / Math.max(...off)).toFixed(2)} (worst of each), ${(Math.min(...on) / Math.min(...off)).toFixed(2)} (best of each) (target <= 1.2)\n\n`);
}
