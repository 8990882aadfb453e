import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ErrorCodes, RewarddError, type ErrorCode } from '../core/errors.js';
import type { Worker } from 'node:worker_threads';
import { Mailbox } from '../core/mailbox.js';
import { loadRobot } from '../core/robot.js';
import { rewarddVersion } from '../core/version.js';
import { startWorker } from '../core/worker-entry.js';
import type { EpisodeStart } from '../core/records.js';
import { startPolicyRunner, type PolicyRunner } from '../policy/runner.js';
import { loadPolicyManifest } from '../policy/load.js';
import { loadCalibration } from '../calibration/calibration.js';
import { pushedFilename } from '../reward/language.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../transport/embedded-broker.js';
import { EpisodePublisher } from '../transport/publisher.js';
import type { EpisodeNextResult, RewardSetResult } from '../transport/commands.js';
import type { RunConfig } from './config.js';
import type { ControlWorkerData, FromControl, ToControl } from './messages.js';
import type { RewardSlotEvent } from './reward-slot.js';
import { formatStatus } from './status-line.js';
import { parseResetMode, resetModeLabel } from './episode-gate.js';
import { RewardFileWatcher } from './reward-watcher.js';
import { RecentSteps } from './reward-admission.js';
import { RewardHosts } from './reward-hosts.js';
import { LatchFileWatcher } from './latch-watcher.js';
import { RewardSourceBook } from './reward-sources.js';
import { PushVerifier, RewardFilePolicy, decideArm, decideEpisodeNext, decideEstop, defaultAllowedKeysPath, signaturePathFor } from '../trust/index.js';
import { sha256Hex } from '../core/hash.js';
import { NAME_RE } from '../trust/envelope.js';
import { decodeStepBatch } from '../episode/batch-codec.js';
import { startVision, type VisionRunner } from '../vision/vision-runner.js';
import { encodeVisionBatch, type VisionBatch } from '../vision/vision-batch.js';
import { startLiveOutputs, type LiveOutputs } from '../live/live-outputs.js';

/** Reward pushes that may wait for their check; more are refused with E_REWARD_BUSY. */
const MAX_WAITING_SWAPS = 4;
/** First pause before a lost version is restored again after another loss; doubles up to the max. */
const RESTORE_PAUSE_MS = 500;
const RESTORE_PAUSE_MAX_MS = 60_000;
/** How long a rollback's announcement may wait for the dead host's exit to be classified. */
const DEATH_CLASSIFY_WAIT_MS = 1000;
/** "next" commands waiting for the control thread's verdict, at most; more are refused. */
const MAX_WAITING_NEXTS = 8;
/** How long a "next" waits for the control thread's verdict before its sender is told there was none. */
const NEXT_VERDICT_WAIT_MS = 2000;
/** How long the control thread may take to end by itself after it stopped. */
const WORKER_EXIT_GRACE_MS = 3000;

export interface DaemonIo {
  /** Log lines (events, errors): stderr in the CLI. */
  log(line: string): void;
  /** The status line, once a second. */
  status(line: string): void;
}

export interface RunningDaemon {
  /** Broker URL in use (the embedded broker's, or the one given). */
  readonly mqttUrl: string;
  /** Ends the current episode cleanly, flushes the outbox, and stops everything. */
  stop(): Promise<void>;
  /** Resolves when the daemon has stopped by itself (episodes/duration done) or via stop(). */
  readonly done: Promise<{ episodes: number }>;
  /** Sends a command to the control thread (e-stop, arm...). */
  command(msg: ToControl): void;
  /** The dashboard, the Foxglove bridge and the health topic (src/live). */
  readonly live: LiveOutputs;
}

/**
 * The main thread of `rewardd run`: owns the network and the disk (broker,
 * publisher with its outbox, reward file watch), starts the policy worker and
 * the control worker, and relays between them. Nothing here is on the tick path.
 */
export async function startDaemon(cfg: RunConfig, io: DaemonIo): Promise<RunningDaemon> {
  // Fail fast on bad files, before a broker or a thread is started.
  const robot = loadRobot(cfg.robot);
  if (cfg.calibration !== 'identity') loadCalibration(cfg.calibration, robot.robot);
  loadPolicyManifest(cfg.policy, robot.robot);
  const allowedKeysFile = defaultAllowedKeysPath(cfg.stateDir);
  // Messages to the control thread; set once it exists (a host that dies before then has no one to tell).
  let send: (m: ToControl) => void = () => {};
  let latchWatcher: LatchFileWatcher | undefined;
  const verifier = new PushVerifier({ robot: robot.robot.name, allowedKeysFile });
  const filePolicy = new RewardFilePolicy({ mode: cfg.rewardFileAuth === 'signed' ? 'signatureRequired' : 'trustedLocalPath', allowedKeysFile });
  const initialFile = filePolicy.verifyRewardFile(cfg.reward);
  if (!initialFile.ok) throw new RewarddError('E_REWARD_EXPORTS', `--reward ${cfg.reward}: ${initialFile.error}`);
  // Every reward version runs in a host process of its own, from the first one on (docs/sandbox.md).
  const hosts = new RewardHosts({
    runtime: {
      observationNames: robot.robot.observations.map((f) => f.name),
      actionNames: robot.robot.actions.map((f) => f.name),
      budgetMs: cfg.rewardBudgetMs,
      memoryMb: cfg.rewardMemoryMb,
    },
    hostMemoryMb: cfg.rewardHostMemoryMb,
    onLiveDeath: (pid, death) => {
      send({ type: 'host-died', pid, death });
      io.log(`reward host ${pid} died (${death.reason}): ${death.detail}`);
    },
  });
  const firstAdmission = await hosts.admit(initialFile.source, cfg.reward, null);
  if (!firstAdmission.ok) {
    hosts.close();
    const code = /^(E_[A-Z_]+):/.exec(firstAdmission.error)?.[1] ?? 'E_REWARD_COMPILE';
    throw new RewarddError(code as 'E_REWARD_COMPILE', `--reward ${cfg.reward}: ${firstAdmission.error.replace(/^E_[A-Z_]+: /, '')}`);
  }
  const versionPids = new Map<string, number>([[firstAdmission.handle.info.version, firstAdmission.handle.pid]]);
  const sources = new RewardSourceBook();
  sources.remember(firstAdmission.handle.info, initialFile.signer);
  hosts.warm();
  mkdirSync(cfg.stateDir, { recursive: true });
  let broker: EmbeddedBroker | null = null;
  let mqttUrl = cfg.mqtt;
  if (cfg.mqtt === 'embedded') {
    broker = await startEmbeddedBroker({ host: cfg.brokerHost, port: cfg.brokerPort, wsPort: cfg.brokerWsPort >= 0 ? cfg.brokerWsPort : null });
    mqttUrl = broker.url;
    io.log(`embedded MQTT broker listening on ${broker.url}`);
  }
  const version = rewarddVersion();
  const publisher = await EpisodePublisher.open({
    mqttUrl,
    robot: robot.robot.name,
    prefix: cfg.prefix,
    outboxDir: `${cfg.stateDir}/outbox/${robot.robot.name}`,
    versions: { rewardd: version },
  });

  const observationMailbox = Mailbox.create(robot.robot.observations.length);
  const actionMailbox = Mailbox.create(robot.robot.actions.length);
  let policy: PolicyRunner;
  try {
    policy = await startPolicyRunner({
      dir: cfg.policy,
      robot: robot.robot,
      observationMailbox,
      actionMailbox,
      backend: cfg.policyBackend,
      onError: (m) => io.log(`policy: ${m}`),
    });
  } catch (e) {
    await publisher.close(500);
    await broker?.close();
    hosts.close();
    throw e;
  }
  let vision: VisionRunner | null;
  try {
    vision = await startVision({
      robot,
      modelDir: cfg.visionModel,
      camera: cfg.camera === '' ? null : cfg.camera,
      link: cfg.link,
      mqttUrl,
      prefix: cfg.prefix,
      threads: cfg.visionThreads,
      logFramesEvery: cfg.visionLogFrames,
      frameMaxSide: cfg.visionFrameSize,
      jpegQuality: 70,
      maxRecordsPerEpisode: cfg.visionLogMax,
      maxJpegBytes: 256 * 1024,
      log: io.log,
    });
  } catch (e) {
    await policy.stop();
    await publisher.close(500);
    await broker?.close();
    hosts.close();
    throw e;
  }
  const publishVision = (b: VisionBatch | null): void => {
    if (!b) return;
    publisher.publishVision(b.episode, encodeVisionBatch(b));
    // The frames logged with the episode also feed the live views (dashboard camera panel, Foxglove
    // /camera/<name>): bounded by --vision-log-frames. An mqtt camera's frames are on camera/<name> already.
    const cam = vision?.provenance.camera;
    if (!cam) return;
    for (const r of b.records) {
      if (!r.jpeg) continue;
      live.cameraFrame(cam.name, r.jpeg, 'jpeg', Date.now());
      if (cam.source !== 'mqtt') publisher.publishCamera(cam.name, r.jpeg);
    }
  };
  const policyProvenance: EpisodeStart['policy'] = {
    hash: policy.hash,
    sha256: policy.sha256,
    content: policy.manifest,
    backend: policy.backend,
  };
  const workerData: ControlWorkerData = {
    config: cfg,
    observationSab: observationMailbox.sab,
    actionSab: actionMailbox.sab,
    policy: policyProvenance,
    policyRateHz: policy.rateHz,
    initialReward: firstAdmission.handle,
    rewardSigner: initialFile.signer,
    actionLimits: policy.actionLimits,
    software: { rewardd: version, node: process.version },
    vision: vision?.control ?? null,
  };
  const worker: Worker = startWorker(import.meta.url, 'control-worker', { workerData, transferList: vision ? [vision.control.promptsPort] : [] });
  send = (m: ToControl): void => {
    // Every route that latches or resets (MQTT, the dashboard, the latch file) tells the latch watcher
    // what the filter now holds: it compares the file with that, not with its own last read, so a
    // stop and a local reset within its debounce are not taken for "no change" (seen: the latch could
    // then never be reset locally again).
    if (m.type === 'estop') latchWatcher?.note(true);
    else if (m.type === 'estop-reset') latchWatcher?.note(false);
    worker.postMessage(m);
  };
  const workerExit = new Promise<boolean>((r) => worker.once('exit', () => r(true)));
  const statusSuffix = (): string => (vision ? ` | ${vision.statusPart()}` : '');
  const live = startLiveOutputs(cfg, { robot: robot.robot.name, publisher, policy, broker, command: send, log: io.log, statusSuffix });

  // "next" verdicts come back from the control thread by id; bounded, and each one times out.
  let nextSeq = 0;
  const nextReplies = new Map<number, { reply: (r: EpisodeNextResult) => void; timer: NodeJS.Timeout }>();
  const answerNext = (id: number, r: EpisodeNextResult): void => {
    const w = nextReplies.get(id);
    if (!w) return;
    nextReplies.delete(id);
    clearTimeout(w.timer);
    io.log(r.ok ? `next accepted: ${r.detail}` : `next refused: ${r.error}`);
    w.reply(r);
  };
  let swapSeq = 0;
  const swapReplies = new Map<number, (r: RewardSetResult) => void>();
  const recent = new RecentSteps(Math.max(1, cfg.dryRunSteps), robot.robot.observations.length, robot.robot.actions.length, cfg.hz);
  // One admission at a time; a few may wait (bound), more are refused rather than queued forever.
  let admitting: Promise<void> = Promise.resolve();
  let waiting = 0;
  const offerReward = (source: string, filename: string, signer: string | null, reply: (r: RewardSetResult) => void): void => {
    if (waiting >= MAX_WAITING_SWAPS) {
      reply({ ok: false, error: `E_REWARD_BUSY: ${waiting} reward versions are already waiting to be checked; try again` });
      return;
    }
    waiting++;
    admitting = admitting.then(async () => {
      const verdict = await hosts.admit(source, filename, cfg.dryRunSteps > 0 ? recent : null);
      waiting--;
      if (!verdict.ok) return reply({ ok: false, error: verdict.error });
      versionPids.set(verdict.handle.info.version, verdict.handle.pid);
      sources.remember(verdict.handle.info, signer);
      const id = ++swapSeq;
      swapReplies.set(id, reply);
      send({ type: 'swap', id, host: verdict.handle, mode: cfg.swap, signer });
    });
  };
  /** A version was lost with nothing warm to fall back on: a fresh host for the last clean version (or the same one). */
  let losses = 0;
  let lastLossMs = -Infinity;
  const restoreReward = (restore: { version: string; source: string; filename: string }, cause: string): void => {
    const now = performance.now();
    if (now - lastLossMs > RESTORE_PAUSE_MAX_MS) losses = 0;
    lastLossMs = now;
    // A version that keeps killing its host is restored after a pause that doubles (0.5 s .. 60 s),
    // so a loop of crashes cannot keep the machine busy starting hosts.
    const pauseMs = losses === 0 ? 0 : Math.min(RESTORE_PAUSE_MAX_MS, RESTORE_PAUSE_MS * 2 ** (losses - 1));
    losses++;
    admitting = admitting.then(async () => {
      if (pauseMs > 0) {
        io.log(`restoring reward version ${restore.version} in ${(pauseMs / 1000).toFixed(1)} s (it lost its host ${losses} times in a row)`);
        await new Promise((r) => setTimeout(r, pauseMs).unref());
      }
      const verdict = await hosts.admit(restore.source, restore.filename, null);
      if (!verdict.ok) {
        io.log(`reward version ${restore.version} could not be restored after ${cause}: ${verdict.error}; no reward until a new version is pushed`);
        return;
      }
      versionPids.set(verdict.handle.info.version, verdict.handle.pid);
      send({ type: 'swap', id: ++swapSeq, host: verdict.handle, mode: 'now', signer: null, restored: true });
    });
  };

  if (cfg.auth === 'open') io.log('--auth open: anyone the broker lets in may push rewards and reset the e-stop (a lab bench only)');
  publisher.subscribeCommands({
    onRewardSet: (source, reply, raw, hint) => {
      let accepted = source;
      let signer: string | null = null;
      let named = hint.filename;
      if (cfg.auth === 'signed') {
        const v = verifier.verify(raw);
        if (!v.ok) {
          io.log(`reward push refused: ${v.error}`);
          reply({ ok: false, error: v.error });
          return;
        }
        accepted = v.source;
        signer = v.signer;
        named = v.filename;
      } else if (named !== undefined && !NAME_RE.test(named)) {
        // The same rule as a signed envelope's (docs/security.md): a base name, never a path.
        const error = `E_CONFIG: field "filename": expected a base name of [A-Za-z0-9_.+-] (at most 200 chars), found ${JSON.stringify(named.slice(0, 80))}`;
        io.log(`reward push refused: ${error}`);
        reply({ ok: false, error });
        return;
      }
      offerReward(accepted, pushedFilename({ filename: named, language: hint.language }, accepted), signer, (r) => {
        io.log(r.ok ? `reward push accepted: version ${r.version}${signer ? ` signed by ${signer}` : ''}` : `reward push rejected: ${r.error}`);
        reply(r);
      });
    },
    onEstop: (_cmd, raw, reply) => {
      // The verdict goes back to the sender (`rewardd estop` waits for it): a refused reset is
      // otherwise only visible in this log.
      const d = decideEstop(raw, verifier, { requireSignedReset: cfg.auth === 'signed' });
      if (d.action === 'stop') {
        io.log(`e-stop over MQTT: ${d.reason}`);
        send({ type: 'estop', reason: d.reason });
        reply({ ok: true, action: 'stop' });
      } else if (d.action === 'reset') {
        io.log(`e-stop reset over MQTT${d.signer ? ` signed by ${d.signer}` : ''}: ${d.reason}`);
        send({ type: 'estop-reset' });
        reply({ ok: true, action: 'reset', ...(d.signer ? { signer: d.signer } : {}) });
      } else {
        io.log(`e-stop reset refused: ${d.error}`);
        reply({ ok: false, action: 'reset', error: d.error });
      }
    },
    onArm: (_cmd, raw) => {
      const d = decideArm(raw, verifier, { requireSignedArm: cfg.auth === 'signed' });
      if (d.action === 'disarm') {
        io.log(`disarm over MQTT: ${d.reason}`);
        send({ type: 'disarm' });
      } else if (d.action === 'arm') {
        io.log(`arm over MQTT${d.signer ? ` signed by ${d.signer}` : ''}: ${d.reason}`);
        send({ type: 'arm' });
      } else {
        io.log(`arm refused: ${d.error}`);
      }
    },
    onEpisodeNext: (_cmd, raw, reply) => {
      const d = decideEpisodeNext(raw, verifier, { requireSigned: cfg.auth === 'signed' });
      if (d.action === 'refused') {
        io.log(`next refused: ${d.error}`);
        reply({ ok: false, error: d.error });
        return;
      }
      if (nextReplies.size >= MAX_WAITING_NEXTS) {
        reply({ ok: false, error: `E_EPISODE: next: ${nextReplies.size} "next" commands are already waiting for a verdict; try again` });
        return;
      }
      const id = ++nextSeq;
      const timer = setTimeout(() => answerNext(id, { ok: false, error: `E_EPISODE: next: expected a verdict from the control thread within ${NEXT_VERDICT_WAIT_MS} ms, found none` }), NEXT_VERDICT_WAIT_MS);
      timer.unref();
      nextReplies.set(id, { reply, timer });
      io.log(`next over MQTT${d.signer ? ` signed by ${d.signer}` : ''}: ${d.reason}`);
      send({ type: 'episode-next', id, signer: d.signer, reason: d.reason });
    },
  });

  // The file's content last accepted: a signature rewritten for it (a re-sign of the active file) offers nothing.
  let fileAccepted = sha256Hex(initialFile.source);
  const watcher = cfg.watchReward
    ? new RewardFileWatcher(
        cfg.reward,
        initialFile.source,
        (source) => {
          const name = basename(cfg.reward);
          if (sha256Hex(source) === fileAccepted) return;
          const v = filePolicy.verifyRewardSource(cfg.reward, source);
          if (!v.ok) {
            io.log(`reward file ${name} changed but was rejected: ${v.error}`);
            return;
          }
          offerReward(v.source, cfg.reward, v.signer, (r) => {
            if (r.ok) fileAccepted = sha256Hex(source);
            io.log(r.ok ? `reward file ${name} changed: version ${r.version} accepted` : `reward file ${name} changed but was rejected: ${r.error}`);
          });
        },
        200,
        cfg.rewardFileAuth === 'signed' ? signaturePathFor(cfg.reward) : undefined,
      )
    : null;
  // A local action on the robot (`rewardd estop stop|reset` writing the latch file) is trusted.
  latchWatcher = new LatchFileWatcher(join(cfg.stateDir, 'estop.json'), (latched, reason) => {
    io.log(latched ? `e-stop latched locally: ${reason}` : 'e-stop reset locally');
    send(latched ? { type: 'estop', reason } : { type: 'estop-reset' });
  });

  let ready!: () => void;
  let failed!: (e: Error) => void;
  let isStarted = false;
  const started = new Promise<void>((res, rej) => {
    ready = () => {
      isStarted = true;
      res();
    };
    failed = rej;
  });
  let resolveDone!: (v: { episodes: number }) => void;
  const done = new Promise<{ episodes: number }>((res) => (resolveDone = res));
  let stopping: Promise<void> | null = null;
  let episodes = 0;

  const shutdown = async (): Promise<void> => {
    watcher?.close();
    hosts.close();
    latchWatcher.close();
    await policy.stop();
    await vision?.stop();
    await live.close();
    await publisher.close(5000);
    await broker?.close();
    // The control thread closes its port after 'stopped' and ends by itself once isolated-vm's
    // pending tasks are done; terminate() only as the fallback (a fatal error, a hang).
    const exited = await Promise.race([
      workerExit,
      new Promise<boolean>((r) => setTimeout(() => r(false), WORKER_EXIT_GRACE_MS).unref()),
    ]);
    if (!exited) await worker.terminate();
  };

  /**
   * Logs and publishes (reward/active, retained) what the slot did. A version lost to a crashed
   * host is published once the host's exit is classified (V8 out of memory, a signal...), which
   * takes a few ms after the control thread saw its results stream end.
   */
  const onRewardEvent = async (e: RewardSlotEvent): Promise<void> => {
    if (e.type === 'activated') {
      if (!e.restored) losses = 0;
      io.log(`reward version ${e.version} active (was ${e.previous}, swap ${e.mode}${e.restored ? ', restored after its host died' : ''})`);
      publisher.setRewardActive({ ...e });
      return;
    }
    const version = e.type === 'rolled-back' ? e.from : e.version;
    let cause: string = e.cause;
    let detail = '';
    if (e.cause !== 'failures') {
      const pid = versionPids.get(version);
      const d = pid === undefined ? null : await hosts.deathOf(pid, DEATH_CLASSIFY_WAIT_MS);
      if (d && (e.cause === 'crashed' || d.reason === e.cause)) {
        cause = d.reason;
        detail = d.detail;
      }
    }
    const why = e.cause === 'failures' ? `after ${e.consecutiveFailures} failed steps` : `because its reward host ${cause === 'crashed' ? 'crashed' : cause === 'timeout' ? 'timed out' : 'ran out of memory'}${detail ? ` (${detail})` : ''}`;
    if (e.type === 'rolled-back') {
      io.log(`reward version ${e.from} rolled back to ${e.to} ${why}: ${e.lastReason}`);
      publisher.setRewardActive({ ...e, cause, ...(detail ? { detail } : {}) });
    } else {
      io.log(`reward version ${e.version} lost ${why}: ${e.lastReason}; no version to roll back to, restarting ${e.restore.version} in a fresh host`);
      publisher.setRewardActive({ type: 'lost', version: e.version, name: e.name, termNames: e.termNames, cause, ...(detail ? { detail } : {}), consecutiveFailures: e.consecutiveFailures, lastReason: e.lastReason, restoring: e.restore.version });
      restoreReward(e.restore, cause);
    }
  };

  worker.on('message', (m: FromControl) => {
    live.observe(m);
    switch (m.type) {
      case 'ready':
        io.log(`running ${m.robot} (${m.firmwareId}) with reward "${m.rewardName}" v ${m.rewardVersion}, policy ${policy.manifest.name} on ${policy.backend}, ${cfg.hz} Hz, reset ${resetModeLabel(parseResetMode(cfg.reset, cfg.link))}${cfg.link !== 'sim' && cfg.reset === 'auto' ? ' (between episodes the robot holds still until `rewardd episode next`)' : ''}`);
        publisher.setRewardActive({ version: m.rewardVersion, name: m.rewardName, termNames: m.termNames });
        ready();
        break;
      case 'episode-start':
        sources.episodeStarted(m.start.reward.hash);
        policy.resetEpisode();
        vision?.startEpisode(m.start.episode);
        publisher.publishStart(vision ? { ...m.start, vision: vision.provenance } : m.start);
        break;
      case 'batch':
        // Records first: every embedding these steps used is in the ring by now.
        publishVision(vision?.flush(m.episode) ?? null);
        publisher.publishBatch(m.episode, m.seq0, m.count, m.bytes);
        if (cfg.dryRunSteps > 0) recent.add(decodeStepBatch(m.bytes));
        break;
      case 'episode-end':
        episodes++;
        sources.addTo(m.end);
        if (vision) {
          const v = vision.endEpisode(m.end.episode);
          publishVision(v.batch);
          m.end.vision = v.counters;
        }
        publisher.publishEnd(m.end);
        io.log(`episode ${m.end.episode} ended: ${m.end.reason} after ${m.end.steps} steps, return ${m.end.return.toFixed(3)}`);
        break;
      case 'status':
        if (cfg.status) {
          const s = publisher.stats();
          io.status(formatStatus({ loop: m.loop, tick: m.tick, broker: s, policyBackend: policy.backend }) + statusSuffix());
        }
        break;
      case 'live':
        publisher.publishLive(m.snapshot);
        break;
      case 'reward':
        void onRewardEvent(m.event);
        break;
      case 'host-release':
        hosts.release(m.pid);
        break;
      case 'swap-result': {
        const reply = swapReplies.get(m.id);
        swapReplies.delete(m.id);
        reply?.(m.ok ? { ok: true, version: m.version } : { ok: false, error: m.error });
        break;
      }
      case 'notice':
        io.log(m.message);
        break;
      case 'episode-next-result':
        answerNext(m.id, m.ok ? { ok: true, detail: m.detail } : { ok: false, error: m.error });
        break;
      case 'stopped':
        io.log(`stopped after ${m.episodesDone} episodes; tick ${m.tick.hz.toFixed(1)} Hz, p99 period error ${m.tick.p99ErrorUs.toFixed(0)} us, ${m.tick.skipped} ticks skipped`);
        void shutdown().then(() => resolveDone({ episodes }));
        break;
      case 'fatal':
        // Before start the caller reports the error (one line, coded); after it, only this log does.
        if (isStarted) io.log(`control thread failed: ${m.message}`);
        failed(codedError(m.message));
        void shutdown().then(() => resolveDone({ episodes }));
        break;
    }
  });
  worker.on('error', (e) => {
    failed(e);
    void shutdown().then(() => resolveDone({ episodes }));
  });

  await started;
  const durationTimer = cfg.duration > 0 ? setTimeout(() => send({ type: 'stop' }), cfg.duration * 1000) : null;
  void done.then(() => durationTimer && clearTimeout(durationTimer));
  return {
    mqttUrl,
    done,
    command: send,
    live,
    stop: () => {
      stopping ??= (async () => {
        send({ type: 'stop' });
        await done;
      })();
      return stopping;
    },
  };
}

/** An error message from the control thread ("E_LINK: ...") as the coded error it was there. */
function codedError(message: string): Error {
  const m = /^(E_[A-Z_]+): ([^]*)$/.exec(message);
  return m && m[1]! in ErrorCodes ? new RewarddError(m[1] as ErrorCode, m[2]!) : new Error(message);
}
