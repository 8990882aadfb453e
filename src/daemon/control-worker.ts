import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { systemClock } from '../core/clock.js';
import { Mailbox } from '../core/mailbox.js';
import { loadRobot } from '../core/robot.js';
import { identityCalibration, loadCalibration } from '../calibration/calibration.js';
import { createLink } from '../link/create-link.js';
import { LiveReward, type LiveHostHandle } from '../reward/host/live-reward.js';
import { SafetyFilter } from '../safety/index.js';
import { ControlLoop } from './control-loop.js';
import { RewardSlot } from './reward-slot.js';
import { TickScheduler } from './tick-scheduler.js';
import { armsItself } from './config.js';
import { EpisodeGate, parseResetMode } from './episode-gate.js';
import type { ControlWorkerData, FromControl, ToControl } from './messages.js';
import { VisionTickFields } from '../vision/tick-fields.js';
import { SimLink } from '../link/sim-link.js';
import { serialBudget, serialTickWarning } from '../link/serial-budget.js';

/**
 * The control thread: link, observation, safety filter, reward sandbox and
 * step batching, ticked by the TickScheduler. It does no network or disk I/O
 * of its own (the e-stop latch file excepted: the safety filter persists it),
 * so a slow broker or disk can never stretch a tick.
 */
if (!parentPort) throw new Error('control-worker must run as a worker thread');
const port = parentPort;
const data = workerData as ControlWorkerData;
const cfg = data.config;
const post = (m: FromControl, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer ?? []);

async function main(): Promise<void> {
  const robot = loadRobot(cfg.robot);
  const calibration = cfg.calibration === 'identity' ? identityCalibration(robot.robot) : loadCalibration(cfg.calibration, robot.robot);
  const observationNames = robot.robot.observations.map((f) => f.name);
  const actionNames = robot.robot.actions.map((f) => f.name);
  // Reward versions live in host processes the main thread started; this thread only talks to them.
  const hosts = new Map<number, LiveReward>();
  const live = (h: LiveHostHandle): LiveReward => {
    const r = new LiveReward(h, (pid) => {
      hosts.delete(pid);
      post({ type: 'host-release', pid });
    });
    hosts.set(h.pid, r);
    return r;
  };
  const initial = live(data.initialReward);
  await until(() => initial.ready, INITIAL_HOST_WAIT_MS);
  if (initial.death) throw new Error(`the reward host of "${initial.info.name}" died before the first tick: ${initial.death.detail}`);
  const slot = new RewardSlot(initial, cfg.rollbackAfter, (event) => post({ type: 'reward', event }));
  const safety = new SafetyFilter(robot.robot, {
    limits: data.actionLimits,
    policyPeriodNs: BigInt(Math.round(1e9 / data.policyRateHz)),
    latchFile: join(cfg.stateDir, 'estop.json'),
    // Nothing moves until the link says HELLO and the loop arms (auto for the sim, explicit otherwise).
    armed: false,
  });
  const link = await createLink(cfg.link, { seed: cfg.seed });
  // Signers of the versions this run has seen; bounded by the versions that can still be active.
  const signers = new Map<string, string | null>([[initial.info.version, data.rewardSigner]]);
  const v = data.vision;
  const vision = v ? new VisionTickFields(robot.robot, v.fieldsSab, v.promptsPort, v.sceneSab, link instanceof SimLink ? link.model : null) : null;
  const loop = new ControlLoop({
    robot,
    calibration,
    link,
    reward: slot,
    safety,
    observationMailbox: new Mailbox(data.observationSab, observationNames.length),
    actionMailbox: new Mailbox(data.actionSab, actionNames.length),
    tickHz: cfg.hz,
    stepLimit: cfg.stepLimit,
    batchCapacity: cfg.batchSteps,
    batchMaxAgeNs: BigInt(Math.round(cfg.batchMaxAgeMs * 1e6)),
    maxEpisodes: cfg.episodes,
    autoArm: armsItself(cfg),
    gate: new EpisodeGate(parseResetMode(cfg.reset, cfg.link), cfg.minEpisodeSteps, (line) => post({ type: 'notice', message: line })),
    policy: data.policy,
    software: data.software,
    rewardSigner: (version) => signers.get(version) ?? null,
    vision,
    clock: systemClock,
    events: {
      episodeStart: (start) => post({ type: 'episode-start', start }),
      batch: (b) => post({ type: 'batch', episode: b.episode, seq0: b.seq0, count: b.count, bytes: b.bytes }, [b.bytes.buffer as ArrayBuffer]),
      episodeEnd: (end) => post({ type: 'episode-end', end }),
      notice: (message) => post({ type: 'notice', message }),
    },
  });
  const hello = await loop.open();
  if (link.kind === 'serial') {
    // A UART's baud rate bounds the tick rate that gets a fresh sample every tick (docs/firmware.md).
    const budget = serialBudget({ baudRate: Number(link.detail.baudRate), channels: hello.channels, motors: actionNames.length, hostHeartbeatMs: Number(link.detail.heartbeatMs) });
    const warning = serialTickWarning(cfg.hz, budget, String(link.detail.path));
    if (warning) post({ type: 'notice', message: warning });
  }
  const scheduler = new TickScheduler({ hz: cfg.hz, clock: systemClock, spinUs: cfg.tickSpinUs }, (now) => {
    loop.tick(now);
    vision?.publishScene(now);
    if (loop.finished) scheduler.stop();
  });
  const statusTimer = setInterval(() => post({ type: 'status', loop: loop.status(), tick: scheduler.stats() }), 1000);
  // The live view: 10 Hz whatever the tick rate (the topic is QoS 0 and for people watching).
  const liveTimer = setInterval(() => {
    const snap = loop.live();
    if (snap) post({ type: 'live', snapshot: snap });
  }, 100);

  port.on('message', (m: ToControl) => {
    try {
      handle(m);
    } catch (e) {
      // A refused command (arm while e-stopped...) is reported, never fatal to the control thread.
      post({ type: 'notice', message: `${m.type} refused: ${(e as Error).message}` });
    }
  });
  const handle = (m: ToControl): void => {
    switch (m.type) {
      case 'stop':
        loop.requestStop('shutdown');
        break;
      case 'swap': {
        const rt = live(m.host);
        if (signers.size > 64) {
          const activeSigner = signers.get(slot.active.info.version) ?? null;
          signers.clear();
          signers.set(slot.active.info.version, activeSigner);
        }
        signers.set(rt.info.version, m.signer);
        slot.offer(rt, m.mode, m.restored === true);
        post({ type: 'swap-result', id: m.id, ok: true, version: rt.info.version, error: '' });
        break;
      }
      case 'host-died':
        hosts.get(m.pid)?.noteDeath(m.death);
        break;
      case 'estop':
        // Latches and disarms the filter; the link is disarmed too, so an MCU that holds its own arm
        // state (the firmware bridge) holds its actuators as well until the next arm.
        safety.estop(m.reason);
        link.disarm();
        break;
      case 'estop-reset':
        safety.resetEstop();
        // A robot that arms itself at start (the sim, by default) does so again; otherwise it
        // stays disarmed until an explicit arm.
        if (armsItself(cfg) && !safety.state().armed) {
          safety.arm();
          link.arm();
        }
        break;
      case 'arm':
        safety.arm(); // throws while the e-stop is latched: reported as "arm refused: ..."
        link.arm();
        post({ type: 'notice', message: 'armed: actions now reach the actuators' });
        break;
      case 'disarm':
        safety.disarm();
        link.disarm();
        post({ type: 'notice', message: 'disarmed: actuators held at their stop values' });
        break;
      case 'episode-next': {
        const v = loop.next({ signer: m.signer, reason: m.reason });
        post(v.ok ? { type: 'episode-next-result', id: m.id, ok: true, detail: v.detail, error: '' } : { type: 'episode-next-result', id: m.id, ok: false, detail: '', error: v.error });
        break;
      }
    }
  };

  post({
    type: 'ready',
    robot: robot.robot.name,
    firmwareId: hello.firmwareId,
    rewardVersion: initial.info.version,
    rewardName: initial.info.name,
    termNames: [...initial.info.termNames],
  });
  await scheduler.run();
  clearInterval(statusTimer);
  clearInterval(liveTimer);
  await link.close();
  slot.dispose();
  v?.promptsPort.close();
  post({ type: 'stopped', tick: scheduler.stats(), episodesDone: loop.episodesDone });
  // Let this thread end by itself: isolated-vm finishes its in-flight tasks (the reward
  // watchdog's loop) on this thread's event loop, and a terminate() racing them aborts the
  // whole process in an isolated-vm assertion.
  port.close();
}

/** How long the first tick waits for the initial reward host to open its FIFOs. */
const INITIAL_HOST_WAIT_MS = 10_000;

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await new Promise((r) => setTimeout(r, 2));
}

main().catch((e: unknown) => {
  post({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
  port.close();
});
