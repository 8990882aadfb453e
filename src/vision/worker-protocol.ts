import type { MessagePort } from 'node:worker_threads';
import type { CameraSource, CameraSpec, VisionKind } from './camera-spec.js';
import type { PartialPrompts } from './manifest.js';
import type { PromptSetRecord } from './prompt-set.js';
import type { RingShape } from './record-ring.js';
import type { SourceCounters } from './frame-source.js';

/** What the encoder worker is started with. */
export interface VisionWorkerData {
  modelDir: string;
  threads: number;
  camera: CameraSpec;
  source: CameraSource;
  /** MQTT source: broker and topic. */
  mqttUrl: string | null;
  cameraTopic: string | null;
  /** Score kinds, in the order of their fields in the robot description. */
  kinds: VisionKind[];
  /** Mailbox (core/mailbox.ts) of [recordSeq, frameSeq, ...scores], stamped with the frame time. */
  fieldsSab: SharedArrayBuffer;
  ringSab: SharedArrayBuffer;
  ringShape: RingShape;
  /** Sim source: the scene the control thread publishes. */
  sceneSab: SharedArrayBuffer | null;
  /** Log a JPEG of every Nth record (0 = none), its longer side at most frameMaxSide px. */
  logFramesEvery: number;
  frameMaxSide: number;
  jpegQuality: number;
  /** Prompt changes from the control thread (the active reward's meta.vision). */
  promptsPort: MessagePort;
}

/** Control thread → encoder worker, on promptsPort. */
export interface PromptsMessage {
  type: 'prompts';
  rewardVersion: string;
  /** meta.vision of that reward version; null = the model's default prompts. */
  vision: PartialPrompts | null;
}

export interface VisionStats {
  source: SourceCounters;
  encoded: number;
  encodeErrors: number;
  /** Encodes per second over the last interval. */
  hz: number;
  encodeMsP50: number;
  encodeMsP99: number;
  lastError: string;
}

/** Encoder worker → main thread. */
export type FromVision =
  | { type: 'ready'; modelHash: string; modelName: string; weights: string; sourceKind: string }
  | { type: 'prompts'; n: number; record: PromptSetRecord }
  | { type: 'stats'; stats: VisionStats }
  | { type: 'notice'; message: string }
  | { type: 'fatal'; message: string };
