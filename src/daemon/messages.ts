import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import type { HostDeath } from '../reward/host/death.js';
import type { LiveHostHandle } from '../reward/host/live-reward.js';
import type { RunConfig } from './config.js';
import type { LoopStatus } from './control-loop.js';
import type { RewardSlotEvent, SwapMode } from './reward-slot.js';
import type { TickStats } from './tick-scheduler.js';
import type { VisionControlData } from '../vision/vision-runner.js';

/** What the main thread gives the control worker at start. */
export interface ControlWorkerData {
  config: RunConfig;
  observationSab: SharedArrayBuffer;
  actionSab: SharedArrayBuffer;
  policy: EpisodeStart['policy'];
  policyRateHz: number;
  /** The reward host already serving the initial reward file (the daemon's process runs no reward code). */
  initialReward: LiveHostHandle;
  /** Fingerprint of the key that signed the initial reward file (null: a trusted local file). */
  rewardSigner: string | null;
  /** The policy's per-actuator limits (robot order), tighter or equal to the robot's. */
  actionLimits: { min: number; max: number }[];
  software: EpisodeStart['software'];
  /** The encoder's mailboxes and prompts port, when the robot has a camera (src/vision). */
  vision: VisionControlData | null;
}

/** Control worker -> main thread. */
export type FromControl =
  | { type: 'ready'; robot: string; firmwareId: string; rewardVersion: string; rewardName: string; termNames: string[] }
  | { type: 'episode-start'; start: EpisodeStart }
  | { type: 'batch'; episode: string; seq0: number; count: number; bytes: Uint8Array }
  | { type: 'episode-end'; end: EpisodeEnd }
  | { type: 'status'; loop: LoopStatus; tick: TickStats }
  | { type: 'live'; snapshot: Record<string, unknown> }
  | { type: 'reward'; event: RewardSlotEvent }
  | { type: 'swap-result'; id: number; ok: boolean; version: string; error: string }
  | { type: 'notice'; message: string }
  /** The control thread's verdict on an operator's "next" (episode/next). */
  | { type: 'episode-next-result'; id: number; ok: boolean; detail: string; error: string }
  /** A reward version was retired: its host process can go. */
  | { type: 'host-release'; pid: number }
  | { type: 'stopped'; tick: TickStats; episodesDone: number }
  | { type: 'fatal'; message: string };

/** Main thread -> control worker. */
export type ToControl =
  | { type: 'stop' }
  /** An admitted version, live in its own host; `restored` replaces a lost version (no fallback kept). */
  | { type: 'swap'; id: number; host: LiveHostHandle; mode: SwapMode; signer: string | null; restored?: boolean }
  /** The main thread's classification of a live host's exit. */
  | { type: 'host-died'; pid: number; death: HostDeath }
  | { type: 'estop'; reason: string }
  | { type: 'estop-reset' }
  | { type: 'arm' }
  | { type: 'disarm' }
  /** The operator's "next", already verified by the main thread (signer null: unsigned under --auth open). */
  | { type: 'episode-next'; id: number; signer: string | null; reason: string };
