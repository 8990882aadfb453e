import type { Clock } from '../core/clock.js';
import type { LoadedRobot } from '../core/robot.js';
import type { Mailbox } from '../core/mailbox.js';
import { RECORD_SCHEMA, RewardStatus, rewardStatusName, SafetyFlag, StepFlag, type EpisodeEnd, type EpisodeEndReason, type EpisodeStart } from '../core/records.js';
import type { LoadedCalibration } from '../calibration/calibration.js';
import { compileCalibration } from '../calibration/apply.js';
import type { Link } from '../link/link.js';
import { ObservationAssembler } from '../observation/observation.js';
import { StepBatcher, type EncodedBatch } from '../episode/step-batcher.js';
import type { HelloFrame } from '../protocol/frames.js';
import type { ActionFilter } from './ports.js';
import type { RewardSlot } from './reward-slot.js';
import { episodeIdFactory } from './episode-ids.js';
import { RewardFailureLog } from './reward-failure-log.js';
import { PendingSteps, type PendingStep } from './pending-steps.js';
import type { RewardEvaluator, RewardOutputLike } from './ports.js';
import { EpisodeGate, type GateStatus, type NextVerdict } from './episode-gate.js';

export interface ControlLoopEvents {
  episodeStart(start: EpisodeStart): void;
  batch(batch: EncodedBatch): void;
  episodeEnd(end: EpisodeEnd): void;
  /** Link and safety happenings worth a log line: lost link, MCU reboot, estop. */
  notice(message: string): void;
}

export interface ControlLoopOptions {
  robot: LoadedRobot;
  calibration: LoadedCalibration;
  link: Link;
  reward: RewardSlot;
  safety: ActionFilter;
  /** Where the tick publishes the newest observation for the policy (robot order). */
  observationMailbox: Mailbox | null;
  /** Where the policy leaves its newest action (robot action order), stamped with the observation time it used. */
  actionMailbox: Mailbox | null;
  tickHz: number;
  stepLimit: number;
  batchCapacity: number;
  /** A partial batch is handed over once its first step is this old, so subscribers see steps within about this delay. */
  batchMaxAgeNs: bigint;
  /** Stop after this many episodes (0 = run until stopped). */
  maxEpisodes: number;
  /** Arm the link and the safety filter as soon as the MCU says HELLO (the sim's default). */
  autoArm: boolean;
  policy: EpisodeStart['policy'];
  software: EpisodeStart['software'];
  /**
   * A step whose reward has not come back from the reward host after this long is logged with
   * status `late`, ms. The tick never waits for a reward; this bounds how long a step may stay
   * unlogged (and sizes the pending ring: rewardLateMs × tickHz steps). Default 250.
   */
  rewardLateMs?: number;
  /** Who signed a reward version (key fingerprint), null for a trusted local file. */
  rewardSigner: (version: string) => string | null;
  /**
   * The reset phase between episodes and the minimum episode length (episode-gate.ts). Default:
   * no reset phase and no minimum, as a simulator wants.
   */
  gate?: EpisodeGate;
  /** Vision fields from the encoder's mailbox, when the robot has a camera (src/vision/tick-fields.ts). */
  vision?: { fill(values: Float32Array, raw: Float32Array, nowNs: bigint): void; rewardActive(info: { version: string }): void } | null;
  clock: Clock;
  events: ControlLoopEvents;
}

export interface LoopStatus {
  episode: string;
  episodeIndex: number;
  step: number;
  rewardVersion: string;
  rewardStatus: number;
  rewardTotal: number;
  termNames: readonly string[];
  terms: number[];
  safety: number;
  armed: boolean;
  estopped: boolean;
  linkUp: boolean;
  episodesDone: number;
  linkCounters: Record<string, number>;
  /** Running, or resetting between episodes and waiting for what (episode-gate.ts). */
  gate: GateStatus;
}

/**
 * One control tick, start to end: poll the link, fold samples into the
 * calibrated observation, hand it to the policy, filter the policy's newest
 * action and send it, *then* evaluate the reward (so reward code never delays
 * the actuators), and append the step to the episode. No I/O here: batches,
 * start and end records leave through `events`.
 */
export class ControlLoop {
  private assembler: ObservationAssembler | null = null;
  private readonly batcher: StepBatcher;
  private readonly nextId = episodeIdFactory();
  private readonly na: number;
  private readonly cmd64: Float64Array;
  private readonly commanded: Float32Array;
  private readonly applied: Float32Array;
  /** The current episode (index -1 before the first): one object per episode, handed as it is to the reward slot and runtime. */
  private episode: { readonly index: number; readonly id: string } = { index: -1, id: '' };
  private step = 0;
  private inEpisode = false;
  private scenario: Record<string, unknown> = {};
  private prevTNs = 0n;
  private batchFirstNs = 0n;
  private stopReason: EpisodeEndReason | null = null;
  private linkUp = false;
  /**
   * The link dropped (or the MCU rebooted) since the episode's last step. A loss and a HELLO can
   * both land between two ticks (a reboot reports onLost then onHello at once), so linkUp alone
   * would miss it and the episode would go on across the MCU's reset.
   */
  private linkDropped = false;
  /** open() has returned: a HELLO after this is a reconnect. */
  private opened = false;
  private lastSafety = 0;
  private hello: HelloFrame | null = null;
  private acc = { ret: 0, byTerm: new Map<string, number>(), failures: 0, byStatus: {} as Record<string, number>, versions: new Set<string>(), interventions: 0 };
  private readonly pending: PendingSteps;
  private readonly rewardLateMs: number;
  private readonly failureLog: RewardFailureLog;
  /** The episode's last step is taken (an end known at the time); no more steps until it is logged. */
  private closing = false;
  /** Steps of the current episode logged so far. */
  private logged = 0;
  /** Steps taken after their episode turned out (from a late reward) to have ended: not logged. */
  private discarded = 0;
  /** Output buffers by version (term counts differ); a pending step may outlive a swap. */
  private readonly outs = new WeakMap<RewardEvaluator, RewardOutputLike>();
  /** The last step's reward as logged: what status() and live() show. */
  private lastOut: RewardOutputLike = { status: RewardStatus.unavailable, total: NaN, terms: new Float64Array(0), success: false, done: false, reason: '' };
  private lastRt: RewardEvaluator | null = null;
  private readonly gate: EpisodeGate;
  /** The one reward evaluation in flight during a reset phase (not a step: never logged). */
  private probe: { rt: RewardEvaluator; ticket: number; submittedMs: number } | null = null;
  private probePrevNs = 0n;
  episodesDone = 0;
  /** True once maxEpisodes are done or a stop was requested and the episode ended. */
  finished = false;

  constructor(private readonly o: ControlLoopOptions) {
    this.na = o.robot.robot.actions.length;
    this.cmd64 = new Float64Array(this.na);
    this.commanded = new Float32Array(this.na);
    this.applied = new Float32Array(this.na);
    this.rewardLateMs = o.rewardLateMs ?? REWARD_LATE_MS;
    this.pending = new PendingSteps(Math.max(4, Math.ceil((this.rewardLateMs * o.tickHz) / 1000)), o.robot.robot.observations.length, this.na);
    this.failureLog = new RewardFailureLog((line) => o.events.notice(line));
    this.gate = o.gate ?? new EpisodeGate({ kind: 'immediate' }, 1, (line) => o.events.notice(line));
    this.batcher = new StepBatcher(
      {
        robot: o.robot.robot.name,
        observationNames: o.robot.robot.observations.map((f) => f.name),
        actionNames: o.robot.robot.actions.map((f) => f.name),
        capacity: o.batchCapacity,
      },
      (b) => o.events.batch(b),
    );
  }

  /** Opens the link and waits for the MCU's HELLO; its channels are checked against the robot. */
  async open(): Promise<HelloFrame> {
    const calibrate = compileCalibration(this.o.calibration.file, this.o.robot.robot.observations.map((f) => f.name));
    const hello = await this.o.link.open({
      onHello: (h, bootChanged) => {
        this.hello = h;
        this.assembler = new ObservationAssembler(this.o.robot.robot, h.channels, calibrate);
        this.linkUp = true;
        if (bootChanged) {
          // A rebooted MCU lost its state: nothing moves until someone arms again.
          this.linkDropped = true;
          this.o.safety.disarm();
          this.o.events.notice(`MCU rebooted (boot id ${h.bootId.toString(16)}): disarmed until an explicit arm`);
        }
        if (this.opened && !bootChanged && this.o.autoArm && !this.o.safety.estopLatched && !this.o.safety.state().armed) {
          // --arm start: arms whenever the link comes back to the same boot; a rebooted MCU never
          // re-arms by itself (`--arm` help, PROTOCOL.md section 5).
          this.o.safety.arm();
          this.o.link.arm();
        }
      },
      onFrame: (f, hostNs) => {
        if (f.type === 'SAMPLE') this.assembler?.fold(f, hostNs);
        else if (f.type === 'FAULT') this.o.events.notice(`MCU fault ${f.code}: ${f.message}`);
      },
      onLost: (reason) => {
        this.linkUp = false;
        this.linkDropped = true;
        // Both disarm: the link holds its commands until arm() (the Link interface does not promise
        // it disarms itself on a loss), and the safety filter follows, or the steps would log actions
        // as applied that never reached the motors.
        const wasArmed = this.o.safety.state().armed;
        this.o.safety.disarm();
        this.o.link.disarm();
        this.o.events.notice(`link lost: ${reason}${wasArmed ? '; disarmed until an explicit arm' : ''}`);
      },
    });
    if (this.o.autoArm && !this.o.safety.estopLatched) {
      this.o.safety.arm();
      this.o.link.arm();
    } else if (this.o.safety.estopLatched) {
      this.o.events.notice('e-stop is latched (from before this start): nothing moves until it is reset and the robot is armed');
    }
    this.scenario = this.o.link.resetScenario(0);
    this.opened = true;
    return hello;
  }

  /** Ends the current episode at the next tick (its last step is logged), then finishes. */
  requestStop(reason: EpisodeEndReason = 'shutdown'): void {
    this.stopReason = reason;
    // Between episodes (a reset phase included) nothing is pending but a reset evaluation: done.
    if (!this.inEpisode && this.pending.count === 0) {
      this.probe = null;
      this.finished = true;
    }
  }

  /**
   * The operator's "next" (episode/next): lets the next episode start if the robot is in a reset
   * phase and could start one now. The verdict is what the sender is told.
   */
  next(by: { signer: string | null; reason: string }): NextVerdict {
    if (this.o.safety.estopLatched) return { ok: false, error: 'E_EPISODE: next: expected a robot that may start an episode, found the e-stop latched: reset it first (rewardd estop reset)' };
    if (!this.linkUp) return { ok: false, error: 'E_EPISODE: next: expected the link to the MCU up, found it lost; no episode starts until it is back' };
    if (this.finished || this.stopReason) return { ok: false, error: 'E_EPISODE: next: expected a running robot, found it stopping' };
    const v = this.gate.next(by);
    if (v.ok && !this.o.safety.state().armed) return { ok: true, detail: `${v.detail} (the robot is disarmed: its actuators stay at their stop values until armed)` };
    return v;
  }

  tick(nowNs: bigint): void {
    if (this.finished) return;
    const o = this.o;
    // Rewards that came in while the thread waited for this deadline: log those steps first. One
    // may end the episode (and place the next scenario), so this precedes the observation.
    this.drain();
    if (this.finished) return;
    o.link.poll(nowNs);
    const asm = this.assembler;
    if (!asm || asm.observation.samples === 0) return;
    if (this.closing || !this.inEpisode) {
      // Between episodes, or waiting for the reward of an episode's last step, or with the link down
      // or the e-stop latched: the robot holds still (zero commands keep a live MCU's watchdog fed).
      if (this.closing || !this.linkUp || o.safety.estopLatched) {
        this.applied.fill(0);
        o.link.sendCommand(this.applied);
        return;
      }
      if (!this.gate.mayStart(performance.now())) {
        this.resetTick(nowNs);
        return;
      }
      this.startEpisode(nowNs);
    }
    const obs = asm.observation;
    o.vision?.fill(obs.values, obs.rawValues, nowNs);
    o.observationMailbox?.write(obs.values, nowNs);

    // Actuator path first: newest policy action -> safety filter -> link.
    let cmdAt: bigint | null = null;
    if (o.actionMailbox && o.actionMailbox.read(this.cmd64)) {
      for (let i = 0; i < this.na; i++) this.commanded[i] = this.cmd64[i]!;
      cmdAt = BigInt(Math.round(o.actionMailbox.lastTNs));
    } else {
      this.commanded.fill(0);
    }
    let safety = o.safety.apply(this.commanded, cmdAt, nowNs, this.applied);
    if (cmdAt === null) safety |= SafetyFlag.no_action_yet;
    if (!this.linkUp) this.applied.fill(0);
    o.link.sendCommand(this.applied);
    this.lastSafety = safety;

    // Reward, off the actuator path: sent to the reward host now, logged when it comes back.
    if (this.pending.full) this.giveUp(this.pending.oldest()!);
    const first = this.step === 0;
    o.reward.beforeStep(first, this.episode);
    const rt = o.reward.active;
    o.vision?.rewardActive(rt.info);
    const dt = first ? 1 / o.tickHz : Number(nowNs - this.prevTNs) / 1e9;
    const p = this.pending.push();
    // The raw row goes to every program; only those that declare meta.raw read it.
    p.ticket = rt.submit(obs.values, this.applied, dt, obs.rawValues);
    p.rt = rt;
    p.submittedMs = performance.now();
    p.index = this.step;
    p.tNs = nowNs;
    p.wallMs = o.clock.wallMs();
    p.obsTNs = asm.oldestSampleNs();
    p.obs.set(obs.values);
    p.obsRaw.set(obs.rawValues);
    p.commanded.set(this.commanded);
    p.applied.set(this.applied);
    p.safety = safety;
    p.end = !this.linkUp || this.linkDropped ? 'link_lost' : o.safety.estopLatched ? 'estop' : this.stopReason ? this.stopReason : this.step + 1 >= o.stepLimit ? 'step_limit' : null;
    if (p.end) this.closing = true;
    this.prevTNs = nowNs;
    this.step++;
    // An evaluator that answers at once (in-thread) is logged in the same tick, as before hosts.
    this.drain();
  }

  /** Logs every pending step whose reward is in, oldest first; gives up on those past the late limit. */
  private drain(): void {
    const now = performance.now();
    for (let p = this.pending.oldest(); p !== null; p = this.pending.oldest()) {
      const rt = p.rt!;
      const out = this.outFor(rt);
      if (!rt.result(p.ticket, out)) {
        if (now - p.submittedMs < this.rewardLateMs) return;
        fail(out, RewardStatus.late, `E_REWARD_LATE: reward "${rt.info.name}" v${rt.info.version}: no answer from the reward host within ${this.rewardLateMs} ms for step ${p.index}`);
      }
      this.finishStep(p, rt, out);
      if (this.finished) return;
    }
  }

  /** The pending ring is full: the oldest step is logged as late now, to make room. */
  private giveUp(p: PendingStep): void {
    const rt = p.rt!;
    const out = this.outFor(rt);
    if (!rt.result(p.ticket, out)) fail(out, RewardStatus.late, `E_REWARD_LATE: reward "${rt.info.name}" v${rt.info.version}: ${this.pending.capacity} steps were waiting for the reward host; step ${p.index} was logged without its reward`);
    this.finishStep(p, rt, out);
  }

  /** Logs one step with its reward, decides whether the episode ends there, and frees its slot. */
  private finishStep(p: PendingStep, rt: RewardEvaluator, out: RewardOutputLike): void {
    const o = this.o;
    const ep = this.episode;
    const ok = out.status === RewardStatus.ok;
    if (!ok) this.failureLog.note(ep.id, rt.info.version, out.status, out.reason);
    let end: EpisodeEndReason | null = null;
    if (ok && out.success) end = 'success';
    else if (ok && out.done) end = 'done';
    // The minimum length: an end the task claims this early is a world that did not reset.
    if (end !== null && this.gate.holdsEnd(p.index, end as 'success' | 'done')) end = null;
    end ??= p.end;
    let flags = p.index === 0 ? StepFlag.first : 0;
    if (end) flags |= StepFlag.last;
    if (end === 'success' || end === 'done') flags |= StepFlag.terminal;
    if (ok && out.success) flags |= StepFlag.success;

    this.batcher.push({
      tNs: p.tNs,
      wallMs: p.wallMs,
      obsTNs: p.obsTNs,
      obs: p.obs,
      obsRaw: p.obsRaw,
      actionCommanded: p.commanded,
      actionApplied: p.applied,
      safety: p.safety,
      flags,
      rewardVersion: rt.info.version,
      termNames: rt.info.termNames,
      rewardStatus: out.status,
      rewardTotal: out.total,
      rewardTerms: out.terms,
      rewardReason: out.reason,
    });
    this.logged++;
    this.lastOut = out;
    this.lastRt = rt;
    this.accumulate(rt.info.version, rt.info.termNames, out, p.safety);
    o.reward.afterStep(rt, out, ep);
    const tNs = p.tNs;
    this.pending.shift();
    if (end) {
      // Steps taken after this one (their rewards were not in yet) belong to no episode.
      this.discarded += this.pending.clear();
      this.endEpisode(end, tNs);
    } else if (this.batcher.pendingRows === 1) this.batchFirstNs = tNs;
    else if (this.batcher.pendingRows > 1 && tNs - this.batchFirstNs >= o.batchMaxAgeNs) this.batcher.flush();
  }

  private outFor(rt: RewardEvaluator): RewardOutputLike {
    let out = this.outs.get(rt);
    if (!out) {
      const n = rt.info.termNames.length;
      out = { status: RewardStatus.unavailable, total: NaN, terms: new Float64Array(n).fill(NaN), success: false, done: false, reason: '' };
      this.outs.set(rt, out);
    }
    return out;
  }

  /**
   * A tick of the reset phase: the actuators are held at their stop values (which also feeds a
   * live MCU's watchdog) and, for until-clear, the reward is evaluated on what the sensors see,
   * one evaluation in flight at a time. Nothing here is logged as a step.
   */
  private resetTick(nowNs: bigint): void {
    const o = this.o;
    this.applied.fill(0);
    o.link.sendCommand(this.applied);
    this.lastSafety = 0;
    if (!this.gate.evaluatesDuringReset) return;
    if (this.probe && !this.collectProbe()) return;
    o.reward.beforeStep(false, this.episode);
    const rt = o.reward.active;
    const obs = this.assembler!.observation;
    const dt = this.probePrevNs === 0n ? 1 / o.tickHz : Number(nowNs - this.probePrevNs) / 1e9;
    this.probePrevNs = nowNs;
    this.probe = { rt, ticket: rt.submit(obs.values, this.applied, dt, obs.rawValues), submittedMs: performance.now() };
    // An in-thread evaluator answers at once.
    this.collectProbe();
  }

  /** Reads the reset evaluation's result if it is in (true; a late one counts as not clear). */
  private collectProbe(): boolean {
    const p = this.probe!;
    const out = this.outFor(p.rt);
    if (!p.rt.result(p.ticket, out)) {
      if (performance.now() - p.submittedMs < this.rewardLateMs) return false;
      fail(out, RewardStatus.late, `E_REWARD_LATE: reward "${p.rt.info.name}" v${p.rt.info.version}: no answer from the reward host within ${this.rewardLateMs} ms during the reset phase`);
    }
    this.probe = null;
    this.lastOut = out;
    this.lastRt = p.rt;
    this.o.reward.afterStep(p.rt, out, this.episode);
    this.gate.observe(out.status === RewardStatus.ok, out.success, out.done);
    return true;
  }

  private startEpisode(nowNs: bigint): void {
    const o = this.o;
    // A loss between episodes ended nothing; it must not end the new one.
    this.linkDropped = false;
    // A reset evaluation still in flight is dropped: its result belongs to no step.
    this.probe = null;
    this.probePrevNs = 0n;
    this.step = 0;
    this.logged = 0;
    this.discarded = 0;
    this.inEpisode = true;
    const wall = o.clock.wallMs();
    const index = this.episode.index + 1;
    this.episode = { index, id: this.nextId(index, wall) };
    const reset = this.gate.episodeStarted(this.episode.id, performance.now());
    this.batcher.beginEpisode(this.episode.id);
    this.acc = { ret: 0, byTerm: new Map(), failures: 0, byStatus: {}, versions: new Set(), interventions: 0 };
    // A swap queued for "next episode" lands here, so the start record names the version in force.
    o.reward.beforeStep(true, this.episode);
    const rt = o.reward.active;
    rt.beginEpisode(this.episode);
    const r = o.robot;
    o.events.episodeStart({
      schema: RECORD_SCHEMA,
      episode: this.episode.id,
      robot: r.robot.name,
      index: this.episode.index,
      startedWallMs: wall,
      startedNs: nowNs.toString(),
      tickHz: o.tickHz,
      stepLimit: o.stepLimit,
      observationNames: r.robot.observations.map((f) => f.name),
      actionNames: r.robot.actions.map((f) => f.name),
      robotDescription: { hash: r.hash, sha256: r.sha256, content: r.robot },
      calibration: { hash: o.calibration.hash, sha256: o.calibration.sha256, content: o.calibration.file },
      policy: o.policy,
      reward: {
        hash: rt.info.version,
        sha256: rt.info.sha256,
        content: rt.info.source,
        name: rt.info.name,
        weights: { ...rt.info.weights },
        termNames: [...rt.info.termNames],
        signer: o.rewardSigner(rt.info.version),
      },
      link: { kind: o.link.kind, detail: { ...o.link.detail, firmwareId: this.hello?.firmwareId, bootId: this.hello?.bootId, protocolVersion: this.hello?.protocolVersion } },
      software: o.software,
      scenario: this.scenario,
      ...(reset ? { reset } : {}),
    });
  }

  private accumulate(version: string, termNames: readonly string[], out: { status: number; total: number; terms: Float64Array }, safety: number): void {
    const a = this.acc;
    a.versions.add(version);
    if (safety & ~SafetyFlag.no_action_yet) a.interventions++;
    if (out.status !== RewardStatus.ok) {
      a.failures++;
      const name = rewardStatusName(out.status);
      a.byStatus[name] = (a.byStatus[name] ?? 0) + 1;
      return;
    }
    a.ret += out.total;
    for (let k = 0; k < termNames.length; k++) a.byTerm.set(termNames[k]!, (a.byTerm.get(termNames[k]!) ?? 0) + out.terms[k]!);
  }

  private endEpisode(reason: EpisodeEndReason, nowNs: bigint): void {
    const o = this.o;
    this.batcher.flush();
    this.inEpisode = false;
    this.closing = false;
    this.failureLog.endEpisode(this.episode.id);
    this.episodesDone++;
    o.events.episodeEnd({
      schema: RECORD_SCHEMA,
      episode: this.episode.id,
      robot: o.robot.robot.name,
      steps: this.logged,
      ...(this.discarded > 0 ? { stepsAfterEnd: this.discarded } : {}),
      ...(this.gate.heldBack > 0 ? { endsHeldBack: this.gate.heldBack } : {}),
      endedWallMs: o.clock.wallMs(),
      endedNs: nowNs.toString(),
      reason,
      success: reason === 'success',
      return: this.acc.ret,
      returnByTerm: Object.fromEntries(this.acc.byTerm),
      rewardFailures: this.acc.failures,
      rewardFailuresByStatus: { ...this.acc.byStatus },
      rewardVersions: [...this.acc.versions],
      safetyInterventions: this.acc.interventions,
      linkCounters: { ...o.link.counters() },
    });
    this.gate.episodeEnded(performance.now());
    if (this.stopReason || (o.maxEpisodes > 0 && this.episodesDone >= o.maxEpisodes)) {
      this.finished = true;
      this.applied.fill(0);
      o.link.sendCommand(this.applied);
      return;
    }
    // Place the next scenario now, so the next tick already observes it.
    this.scenario = o.link.resetScenario(this.episode.index + 1);
  }

  /** A small snapshot for the `live` topic (QoS 0, downsampled): names with values, no arrays to decode. */
  live(): Record<string, unknown> | null {
    const asm = this.assembler;
    if (!asm || !this.inEpisode) return null;
    const out = this.lastOut;
    const rt = this.lastRt ?? this.o.reward.active;
    const names = asm.observation.names;
    return {
      episode: this.episode.id,
      step: this.step,
      obs: Object.fromEntries(names.map((n, i) => [n, asm.observation.values[i]])),
      commanded: Object.fromEntries(this.o.robot.robot.actions.map((a, i) => [a.name, this.commanded[i]])),
      applied: Object.fromEntries(this.o.robot.robot.actions.map((a, i) => [a.name, this.applied[i]])),
      safety: this.lastSafety,
      reward: { version: rt.info.version, status: out.status, total: out.total, terms: Object.fromEntries(rt.info.termNames.map((n, k) => [n, out.terms[k]])) },
    };
  }

  status(): LoopStatus {
    const out = this.lastOut;
    const rt = this.lastRt ?? this.o.reward.active;
    return {
      episode: this.episode.id,
      episodeIndex: this.episode.index,
      step: this.logged,
      rewardVersion: rt.info.version,
      rewardStatus: out.status,
      rewardTotal: out.total,
      termNames: rt.info.termNames,
      terms: Array.from(out.terms),
      safety: this.lastSafety,
      armed: this.o.safety.state().armed,
      estopped: this.o.safety.estopLatched,
      linkUp: this.linkUp,
      episodesDone: this.episodesDone,
      linkCounters: { ...this.o.link.counters() },
      gate: this.gate.status(performance.now()),
    };
  }
}

/** Default of ControlLoopOptions.rewardLateMs. */
export const REWARD_LATE_MS = 250;

function fail(out: RewardOutputLike, status: number, reason: string): void {
  out.status = status;
  out.total = NaN;
  out.terms.fill(NaN);
  out.success = false;
  out.done = false;
  out.reason = reason;
}
