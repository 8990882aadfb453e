import { RewarddError } from '../../core/errors.js';
import { nsFromHz } from '../../core/clock.js';
import type { RobotDescription } from '../../core/robot.js';
import type { Link } from '../../link/link.js';
import { ObservationAssembler } from '../../observation/observation.js';
import { compileCalibration } from '../apply.js';
import { identityCalibration } from '../calibration.js';
import type { Pacer } from './pacer.js';

export interface CaptureHooks {
  /** Before each poll: where a procedure sends its drive command (the MCU watchdog wants one per tick). */
  beforePoll?(nowNs: bigint): void;
  /** Every SAMPLE folded during the capture, as raw physical values in robot order (a view: copy to keep). */
  onSample?(raw: Float64Array, hostNs: bigint): void;
  /** Every PROGRESS_S seconds of capture time: long captures say they are alive. */
  progress?(elapsedS: number, totalS: number): void;
}

const PROGRESS_S = 2;

/** A link goes quiet for this long (procedure time) before a capture gives up. */
const SILENCE_NS = 1_000_000_000n;

/**
 * A live link opened for calibration: frames are folded with the IDENTITY
 * calibration, so procedures measure raw physical values (wire value × the
 * channel's wire scale), never values already corrected by an old file.
 * The link is polled at a fixed rate on the pacer's monotonic clock.
 */
export class CalibrationSession {
  readonly names: readonly string[];
  private readonly asm: ObservationAssembler;
  private hooks: CaptureHooks | null = null;
  private lost: string | null = null;
  private lastSampleNs = 0n;
  private lastPollNs: bigint | null = null;

  private constructor(
    readonly link: Link,
    readonly robot: RobotDescription,
    readonly pacer: Pacer,
    readonly rateHz: number,
    asm: ObservationAssembler,
  ) {
    this.asm = asm;
    this.names = asm.observation.names;
  }

  static async open(link: Link, robot: RobotDescription, pacer: Pacer, rateHz: number): Promise<CalibrationSession> {
    if (!(rateHz >= 1 && rateHz <= 2000)) throw new RewarddError('E_CONFIG', `calibration rate: expected 1..2000 Hz, found ${rateHz}`);
    const names = robot.observations.map((f) => f.name);
    const identity = compileCalibration(identityCalibration(robot).file, names);
    let session: CalibrationSession | null = null;
    const opening = link.open({
      onFrame: (frame, hostNs) => {
        if (frame.type !== 'SAMPLE' || session === null) return;
        session.asm.fold(frame, hostNs);
        session.lastSampleNs = session.pacer.clock.nowNs();
        session.hooks?.onSample?.(session.asm.observation.raw, hostNs);
      },
      onLost: (reason) => {
        if (session) session.lost = reason;
      },
      onHello: (_hello, bootChanged) => {
        if (bootChanged && session) session.lost = 'the microcontroller rebooted';
      },
    });
    try {
      const hello = await opening;
      session = new CalibrationSession(link, robot, pacer, rateHz, new ObservationAssembler(robot, hello.channels, identity));
    } catch (e) {
      // No HELLO, or an MCU that does not match the robot: do not leave the port open (or reconnecting).
      await link.close().catch(() => {});
      throw e;
    }
    return session;
  }

  index(field: string): number {
    const i = this.names.indexOf(field);
    if (i < 0) throw new RewarddError('E_CONFIG', `expected an observation of robot "${this.robot.name}" (${this.names.join(', ')}), found "${field}"`);
    return i;
  }

  /**
   * Polls the link for `seconds` at the session rate. Fails with E_LINK when
   * the MCU is lost or reboots (a calibration spanning a reboot measures two
   * different boards' states) or sends no SAMPLE for a second.
   */
  async capture(seconds: number, hooks: CaptureHooks = {}): Promise<void> {
    const period = nsFromHz(this.rateHz);
    const ticks = Math.max(1, Math.round(seconds * this.rateHz));
    const clock = this.pacer.clock;
    // Back-to-back captures keep the fixed rate instead of polling twice at one instant.
    const now0 = clock.nowNs();
    let next = this.lastPollNs !== null && this.lastPollNs + period > now0 ? this.lastPollNs + period : now0;
    this.lastSampleNs = now0;
    this.hooks = hooks;
    try {
      for (let k = 0; k < ticks; k++) {
        await this.pacer.sleepUntil(next);
        const now = clock.nowNs();
        hooks.beforePoll?.(now);
        this.link.poll(now);
        this.lastPollNs = now;
        if (this.lost !== null) throw new RewarddError('E_LINK', `calibration stopped: ${this.lost}`);
        if (now - this.lastSampleNs > SILENCE_NS) {
          throw new RewarddError('E_LINK', `calibration stopped: expected SAMPLE frames at least every 1 s, found none for ${Number(now - this.lastSampleNs) / 1e9} s`);
        }
        next += period;
        if (hooks.progress && k > 0 && (k + 1) % Math.round(PROGRESS_S * this.rateHz) === 0 && k + 1 < ticks) hooks.progress((k + 1) / this.rateHz, seconds);
      }
    } finally {
      this.hooks = null;
    }
  }

  async close(): Promise<void> {
    this.link.disarm();
    await this.link.close();
  }
}
