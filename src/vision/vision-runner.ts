/**
 * Starts the encoder worker for a robot with a camera (main thread), and is
 * the daemon's one handle on vision: what the control thread needs (the
 * fields mailbox, the scene mailbox, the prompts port), status for the status
 * line, vision batches to log with each step batch, and the per-episode
 * counters of the end record.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { LoadedRobot } from '../core/robot.js';
import { Mailbox } from '../core/mailbox.js';
import { RewarddError } from '../core/errors.js';
import { startWorker } from '../core/worker-entry.js';
import { parseCameraSource, type CameraSpec } from './camera-spec.js';
import { readVisionManifest } from './model.js';
import { createRingBuffer, RecordRing, type RingShape } from './record-ring.js';
import { createSceneMailbox } from './sim-camera.js';
import { scoreKinds } from './tick-fields.js';
import { cameraTopic } from './mqtt-source.js';
import { VisionLog, type EpisodeVisionCounters } from './vision-log.js';
import type { VisionBatch } from './vision-batch.js';
import type { FromVision, VisionStats, VisionWorkerData } from './worker-protocol.js';

export interface VisionOptions {
  robot: LoadedRobot;
  modelDir: string;
  /** Overrides the camera's source ("sim", "mqtt", "ffmpeg:..."). */
  camera: string | null;
  /** Link in use: the sim camera needs the sim link. */
  link: string;
  mqttUrl: string;
  prefix: string;
  threads: number;
  logFramesEvery: number;
  frameMaxSide: number;
  jpegQuality: number;
  maxRecordsPerEpisode: number;
  /** Largest JPEG logged, bytes. */
  maxJpegBytes: number;
  log(line: string): void;
}

export interface VisionControlData {
  fieldsSab: SharedArrayBuffer;
  sceneSab: SharedArrayBuffer | null;
  promptsPort: MessagePort;
}

export interface EpisodeVision extends EpisodeVisionCounters {
  framesReceived: number;
  framesDropped: number;
  framesGarbage: number;
  encoded: number;
  encodeErrors: number;
  sourceRestarts: number;
  lastError: string;
}

export interface VisionRunner {
  readonly control: VisionControlData;
  readonly provenance: { model: { name: string; hash: string; weights: string }; camera: CameraSpec & { source: string } };
  statusPart(): string;
  startEpisode(episode: string): void;
  flush(episode: string): VisionBatch | null;
  endEpisode(episode: string): { batch: VisionBatch | null; counters: EpisodeVision };
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

export async function startVision(o: VisionOptions): Promise<VisionRunner | null> {
  const robot = o.robot.robot;
  const cam0 = robot.camera;
  const hasFields = robot.observations.some((f) => f.source !== undefined);
  if (!cam0 || !hasFields) {
    if (o.camera) throw new RewarddError('E_CONFIG', `--camera: expected a robot description with a camera section and vision fields, found none in ${o.robot.path}`);
    return null;
  }
  const camera: CameraSpec = { ...cam0, source: o.camera ?? cam0.source };
  const source = parseCameraSource(o.camera ? '--camera' : 'camera.source', camera.source);
  if (source.kind === 'sim' && o.link !== 'sim') throw new RewarddError('E_CONFIG', `camera source sim: expected --link sim, found ${o.link} (use --camera ffmpeg:... or mqtt)`);
  const manifest = readVisionManifest(o.modelDir); // a bad vision.json fails here, before any thread starts
  const kinds = scoreKinds(robot);
  const shape: RingShape = { fields: kinds.length, embedding: manifest.embedding_size, maxJpeg: o.logFramesEvery > 0 ? o.maxJpegBytes : 0 };
  const fields = Mailbox.create(2 + kinds.length);
  const ringSab = createRingBuffer(shape);
  const scene = source.kind === 'sim' ? createSceneMailbox() : null;
  const channel = new MessageChannel();
  const data: VisionWorkerData = {
    modelDir: o.modelDir,
    threads: o.threads,
    camera,
    source,
    mqttUrl: source.kind === 'mqtt' ? o.mqttUrl : null,
    cameraTopic: source.kind === 'mqtt' ? cameraTopic(o.prefix, robot.name, camera.name) : null,
    kinds,
    fieldsSab: fields.sab,
    ringSab,
    ringShape: shape,
    sceneSab: scene?.sab ?? null,
    logFramesEvery: o.logFramesEvery,
    frameMaxSide: o.frameMaxSide,
    jpegQuality: o.jpegQuality,
    promptsPort: channel.port2,
  };
  const worker: Worker = startWorker(import.meta.url, 'vision-worker', { workerData: data, transferList: [channel.port2] });
  const log = new VisionLog(new RecordRing(ringSab, shape), robot.name, kinds, o.maxRecordsPerEpisode);
  let stats: VisionStats | null = null;
  let atStart: VisionStats | null = null;
  let ready!: (m: Extract<FromVision, { type: 'ready' }>) => void;
  let failed!: (e: Error) => void;
  const started = new Promise<Extract<FromVision, { type: 'ready' }>>((res, rej) => ((ready = res), (failed = rej)));
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  worker.on('message', (m: FromVision) => {
    switch (m.type) {
      case 'ready':
        ready(m);
        break;
      case 'prompts':
        log.addPromptSet(m.n, m.record);
        o.log(`vision prompts ${m.record.id}${m.record.rewardVersion ? ` (reward ${m.record.rewardVersion} meta.vision)` : ' (model defaults)'}: goal ${JSON.stringify(m.record.prompts.goal)}, baseline ${JSON.stringify(m.record.prompts.baseline)}, alpha ${m.record.prompts.alpha}`);
        break;
      case 'stats':
        stats = m.stats;
        break;
      case 'notice':
        o.log(`vision: ${m.message}`);
        break;
      case 'fatal':
        failed(new RewarddError('E_VISION', m.message.replace(/^E_VISION: /, '')));
        o.log(`vision encoder failed: ${m.message}`);
        break;
    }
  });
  worker.on('error', (e) => failed(e));
  const timer = setTimeout(() => failed(new RewarddError('E_VISION', `the encoder did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
  let r: Extract<FromVision, { type: 'ready' }>;
  try {
    r = await started;
  } catch (e) {
    await worker.terminate();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  o.log(`vision: ${r.modelName} (${r.weights}) v ${r.modelHash}, camera ${camera.name} from ${camera.source} at ${camera.hz} Hz`);
  const counters = (): EpisodeVision => {
    const s = stats;
    const a = atStart;
    const d = (f: (x: VisionStats) => number): number => (s ? f(s) - (a ? f(a) : 0) : 0);
    return {
      ...log.counters(),
      framesReceived: d((x) => x.source.received),
      framesDropped: d((x) => x.source.dropped),
      framesGarbage: d((x) => x.source.garbage),
      encoded: d((x) => x.encoded),
      encodeErrors: d((x) => x.encodeErrors),
      sourceRestarts: d((x) => x.source.restarts),
      lastError: s?.lastError ?? '',
    };
  };
  return {
    control: { fieldsSab: fields.sab, sceneSab: scene?.sab ?? null, promptsPort: channel.port1 },
    provenance: { model: { name: r.modelName, hash: r.modelHash, weights: r.weights }, camera },
    statusPart() {
      const s = stats;
      if (!s) return `vision ${r.sourceKind} starting`;
      // The reason in full up to 240 characters: a bad frame's message ends with the bytes it found.
      const err = s.hz === 0 && s.lastError ? ` (${s.lastError.length > 240 ? `${s.lastError.slice(0, 239)}…` : s.lastError})` : '';
      // No frame encoded yet: no figure, not NaN.
      const enc = Number.isFinite(s.encodeMsP50) ? `${s.encodeMsP50.toFixed(1)} ms` : '- ms';
      return `vision ${r.sourceKind} ${s.hz.toFixed(0)} Hz enc ${enc} drop ${s.source.dropped} garbage ${s.source.garbage}${s.source.restarts ? ` restarts ${s.source.restarts}` : ''}${s.hz === 0 ? ' STALE' : ''}${err}`;
    },
    startEpisode(episode) {
      atStart = stats;
      log.startEpisode(episode);
    },
    flush: (episode) => log.flush(episode),
    endEpisode(episode) {
      const batch = log.flush(episode);
      return { batch, counters: counters() };
    },
    async stop() {
      worker.postMessage({ type: 'stop' });
      channel.port1.close();
      const t = setTimeout(() => void worker.terminate(), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
