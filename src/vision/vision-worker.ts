/**
 * The encoder thread: takes the newest frame from the camera source at the
 * camera's rate, embeds it (onnxruntime, synchronous: this thread has nothing
 * else to do), scores it against the active prompt set, and publishes the
 * fields to the tick (a seqlock mailbox, newest wins) and the full record to
 * the main thread (a ring). It never talks to the control thread except by
 * those two buffers and the prompts port, so a dead, slow or garbage camera
 * can only make the fields older, never a tick later.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Mailbox } from '../core/mailbox.js';
import { RewarddError } from '../core/errors.js';
import { parsePrompts } from './manifest.js';
import { loadVisionModel, type VisionModel } from './model.js';
import { PromptSet } from './prompt-set.js';
import { RecordRing, type VisionRecord } from './record-ring.js';
import { downscale, encodeJpeg } from './image-codec.js';
import { FfmpegSource } from './ffmpeg-source.js';
import { MqttSource } from './mqtt-source.js';
import { SimSource } from './sim-source.js';
import { SCENE_SIZE } from './sim-camera.js';
import type { FrameSource } from './frame-source.js';
import type { Frame } from './frame.js';
import type { FromVision, PromptsMessage, VisionWorkerData } from './worker-protocol.js';

if (!parentPort) throw new Error('vision-worker must run as a worker thread');
const port = parentPort;
const d = workerData as VisionWorkerData;
const post = (m: FromVision): void => port.postMessage(m);
/** Encode times kept for the percentiles in the status (a ring). */
const TIMES = 128;

function openSource(): FrameSource {
  const s = d.source;
  if (s.kind === 'sim') {
    if (!d.sceneSab) throw new RewarddError('E_VISION', 'camera source sim: expected the sim link (--link sim), found another link');
    return new SimSource(d.camera, new Mailbox(d.sceneSab, SCENE_SIZE));
  }
  if (s.kind === 'ffmpeg') return new FfmpegSource(d.camera, s.args);
  return new MqttSource(d.mqttUrl!, d.cameraTopic!);
}

async function main(): Promise<void> {
  const model: VisionModel = await loadVisionModel(d.modelDir, { threads: d.threads });
  if (model.manifest.embedding_size !== d.ringShape.embedding) throw new RewarddError('E_VISION', `embedding size: expected ${d.ringShape.embedding}, found ${model.manifest.embedding_size}`);
  const source = openSource();
  const fields = new Mailbox(d.fieldsSab, 2 + d.kinds.length);
  const ring = new RecordRing(d.ringSab, d.ringShape);
  let prompts = PromptSet.embed(model, model.manifest.prompts, null);
  let promptsN = 1;
  post({ type: 'prompts', n: promptsN, record: prompts.record });
  let pending: PromptsMessage | null = null;
  d.promptsPort.on('message', (m: PromptsMessage) => (pending = m));
  let recordSeq = 0;
  let last: { frame: Frame; embedding: Float32Array } | null = null;
  let encoded = 0;
  let encodeErrors = 0;
  let lastError = '';
  const times = new Float64Array(TIMES);
  let nTimes = 0;
  const values = new Float64Array(d.kinds.length);
  const out = new Float64Array(2 + d.kinds.length);

  const publish = (frame: Frame, embedding: Float32Array, encodeMs: number): void => {
    prompts.score(d.kinds, embedding, values);
    const seq = ++recordSeq;
    let jpeg: Uint8Array | null = null;
    if (d.logFramesEvery > 0 && seq % d.logFramesEvery === 1 % d.logFramesEvery) jpeg = encodeJpeg(downscale(frame, d.frameMaxSide), d.jpegQuality);
    const rec: VisionRecord = { seq, frameSeq: frame.seq, promptsN, tNs: frame.tNs, encodeMs, values, embedding, jpeg };
    ring.write(rec);
    // float32 sequence numbers are exact to 2^24: the step logs seq mod 2^24 (docs/vision.md).
    out[0] = seq % 16777216;
    out[1] = frame.seq % 16777216;
    out.set(values, 2);
    fields.write(out, frame.tNs);
  };

  const changePrompts = (m: PromptsMessage): void => {
    try {
      const p = m.vision ? parsePrompts(`reward ${m.rewardVersion} meta.vision`, m.vision, model.manifest.prompts) : model.manifest.prompts;
      const next = PromptSet.embed(model, p, m.vision ? m.rewardVersion : null);
      if (next.id === prompts.id) return;
      prompts = next;
      promptsN++;
      post({ type: 'prompts', n: promptsN, record: next.record });
      // Rescore the newest frame at once: the new version's fields need not wait for the next frame.
      if (last) publish(last.frame, last.embedding, 0);
    } catch (e) {
      lastError = (e as Error).message;
      post({ type: 'notice', message: `vision prompts of reward ${m.rewardVersion} refused, keeping ${prompts.id}: ${lastError}` });
    }
  };

  const periodMs = 1000 / d.camera.hz;
  let stop = false;
  port.on('message', (m: { type: string }) => {
    if (m.type === 'stop') stop = true;
  });
  let encodedAtLastStats = 0;
  const statsTimer = setInterval(() => {
    const sorted = Array.from(times.subarray(0, Math.min(nTimes, TIMES))).sort((a, b) => a - b);
    const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
    post({ type: 'stats', stats: { source: source.counters(), encoded, encodeErrors, hz: encoded - encodedAtLastStats, encodeMsP50: q(0.5), encodeMsP99: q(0.99), lastError: lastError || source.lastError } });
    encodedAtLastStats = encoded;
  }, 1000);
  post({ type: 'ready', modelHash: model.hash, modelName: model.manifest.name, weights: model.manifest.weights, sourceKind: source.kind });

  let next = performance.now();
  while (!stop) {
    if (pending) {
      const m: PromptsMessage = pending;
      pending = null;
      changePrompts(m);
    }
    const frame = source.take();
    if (frame) {
      const t0 = performance.now();
      try {
        const embedding = model.encodeImage(frame);
        const ms = performance.now() - t0;
        times[nTimes++ % TIMES] = ms;
        encoded++;
        last = { frame, embedding };
        publish(frame, embedding, ms);
      } catch (e) {
        encodeErrors++;
        lastError = (e as Error).message;
      }
    }
    // Paced by the camera's rate; I/O (ffmpeg's pipe, MQTT, the prompts port) runs in the wait.
    next = Math.max(next + periodMs, performance.now());
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  clearInterval(statsTimer);
  await source.close();
  await model.dispose();
  d.promptsPort.close();
  port.close();
}

main().catch((e: unknown) => {
  post({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
  port.close();
});
