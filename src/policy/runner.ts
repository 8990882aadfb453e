/**
 * Runs a policy in its own worker thread at its own rate, off the control
 * tick path. Hold semantics: the action mailbox always holds the newest
 * action, stamped with the time of the observation it was computed from; the
 * tick applies it on every tick until a newer one arrives (zero-order hold).
 * How old is too old is the safety filter's decision, not the runner's.
 */
import type { Worker } from 'node:worker_threads';
import { RewarddError, type ErrorCode } from '../core/errors.js';
import type { Mailbox } from '../core/mailbox.js';
import type { RobotDescription } from '../core/robot.js';
import { startWorker } from '../core/worker-entry.js';
import { policyActionLimits } from './contract.js';
import { loadPolicyManifest } from './load.js';
import type { PolicyManifest } from './manifest.js';
import { Ctl, CTL_WORDS, type RunnerMessage } from './runner-protocol.js';
import type { PolicyBackend } from './session.js';

export interface PolicyRunnerOptions {
  /** Policy folder (policy.json + model files). */
  dir: string;
  robot: RobotDescription;
  /** Written by the control tick: the robot's observation vector, stamped with its sample time (ns). */
  observationMailbox: Mailbox;
  /** Written by the runner: the commanded action in robot order, stamped with the observation's tNs; aux = inference µs. */
  actionMailbox: Mailbox;
  /** Default: the manifest's rate_hz. */
  rateHz?: number;
  /** Default 'auto' (TF.js: tensorflow > wasm > cpu; ONNX if the folder has no TF.js model). */
  backend?: PolicyBackend;
  /** Called for inference errors after start (bounded: the first 3, then only counted in stats()). */
  onError?: (message: string) => void;
  /** Time allowed for loading the model in the worker. Default 30 000 ms. */
  startTimeoutMs?: number;
}

export interface PolicyRunnerStats {
  inferences: number;
  skipped: number;
  errors: number;
  lastInferenceUs: number;
}

export interface PolicyRunner {
  readonly manifest: PolicyManifest;
  /** Content hash of manifest + model files (12 hex) and its full sha256: the start record's policy provenance. */
  readonly hash: string;
  readonly sha256: string;
  /** Runtime in use: 'tensorflow' | 'wasm' | 'cpu' | 'onnx'. */
  readonly backend: string;
  readonly rateHz: number;
  /** The policy's per-actuator limits in robot order: give them to the SafetyFilter. */
  readonly actionLimits: { min: number; max: number }[];
  /** Zeroes recurrent state before the next inference: call at episode start. */
  resetEpisode(): void;
  stats(): PolicyRunnerStats;
  stop(): Promise<void>;
}

export async function startPolicyRunner(opts: PolicyRunnerOptions): Promise<PolicyRunner> {
  // Validate in this thread first: contract errors surface synchronously-ish with the same messages.
  const loaded = loadPolicyManifest(opts.dir, opts.robot);
  const { observationMailbox: obsMb, actionMailbox: actMb, robot } = opts;
  if (obsMb.size !== robot.observations.length) {
    throw new RewarddError('E_CONFIG', `observationMailbox: expected size ${robot.observations.length} (robot observations), found ${obsMb.size}`);
  }
  if (actMb.size !== robot.actions.length) {
    throw new RewarddError('E_CONFIG', `actionMailbox: expected size ${robot.actions.length} (robot actions), found ${actMb.size}`);
  }
  if (opts.rateHz !== undefined && !(opts.rateHz > 0 && opts.rateHz <= 1000)) {
    throw new RewarddError('E_CONFIG', `policy rateHz: expected 0 < rate <= 1000, found ${opts.rateHz}`);
  }
  const ctlSab = new SharedArrayBuffer(CTL_WORDS * 4);
  const ctl = new Int32Array(ctlSab);
  const worker: Worker = startWorker(import.meta.url, 'runner-worker', {
    workerData: {
      dir: opts.dir,
      robot,
      backend: opts.backend ?? 'auto',
      rateHz: opts.rateHz ?? null,
      obsSab: obsMb.sab,
      actSab: actMb.sab,
      ctlSab,
    },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = await new Promise<{ backend: string; rateHz: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RewarddError('E_POLICY', `${opts.dir}: expected the model to load within ${opts.startTimeoutMs ?? 30000} ms, found it still loading`)), opts.startTimeoutMs ?? 30000);
    worker.on('message', (m: RunnerMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m);
      } else if (m.type === 'error') {
        clearTimeout(timer);
        reject(new RewarddError(m.code as ErrorCode, m.message));
      } else if (m.type === 'step-error') {
        opts.onError?.(m.message);
      }
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(new RewarddError('E_POLICY', `policy worker failed: ${e.message}`));
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new RewarddError('E_POLICY', `policy worker exited (code ${code}) before the model loaded`));
    });
  }).catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  let stopping: Promise<void> | null = null;
  return {
    manifest: loaded.manifest,
    hash: loaded.hash,
    sha256: loaded.sha256,
    backend: ready.backend,
    rateHz: ready.rateHz,
    actionLimits: policyActionLimits(loaded.io),
    resetEpisode() {
      Atomics.add(ctl, Ctl.resetGen, 1);
    },
    stats: () => ({
      inferences: Atomics.load(ctl, Ctl.inferences),
      skipped: Atomics.load(ctl, Ctl.skipped),
      errors: Atomics.load(ctl, Ctl.errors),
      lastInferenceUs: Atomics.load(ctl, Ctl.lastInferenceNs) / 1e3,
    }),
    stop() {
      stopping ??= (async () => {
        Atomics.store(ctl, Ctl.stop, 1);
        Atomics.notify(ctl, Ctl.stop);
        // A model stuck inside one inference cannot see the flag: bound the wait, then terminate.
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
