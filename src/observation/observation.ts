import { RewarddError } from '../core/errors.js';
import type { RobotDescription } from '../core/robot.js';
import { channelFieldNames, type ChannelInfo, type SampleFrame } from '../protocol/frames.js';
import type { CalibrateFn } from '../calibration/apply.js';

/**
 * The newest calibrated observation, in the robot description's field order,
 * with the host monotonic time each field was sampled. Values are rounded to
 * float32 once here, so the reward, the policy and the log all see exactly the
 * same numbers (which is what makes offline relabelling reproduce bit for bit).
 */
export interface Observation {
  readonly names: readonly string[];
  /** Calibrated values, float32-exact. */
  readonly values: Float32Array;
  /** Raw physical values (wire value × channel scale) before calibration. */
  readonly raw: Float64Array;
  /**
   * `raw` rounded to float32 once, like `values`: what reward programs read as
   * ctx.raw and what every step record logs as obsRaw, so relabelling sees the
   * same numbers bit for bit.
   */
  readonly rawValues: Float32Array;
  /** Host monotonic ns at which each field was last sampled (0 = never). */
  readonly sampledAtNs: BigInt64Array;
  /** Number of SAMPLE frames folded in so far. */
  samples: number;
}

/**
 * Folds SAMPLE frames into the Observation. Built from the MCU's HELLO
 * channel table, checked against the robot description: every field the robot
 * declares must come from some channel, and a channel the robot does not
 * declare is ignored (and reported by `unusedFields`).
 */
export class ObservationAssembler {
  readonly observation: Observation;
  readonly unusedFields: string[];
  private readonly map: Int32Array; // sample value index -> robot field index (-1 = unused)
  private readonly wireScale: Float64Array;
  private readonly calibrated: Float64Array;
  /** 1 for fields the MCU sends; 0 for vision fields (not sampled here, so not in oldestSampleNs). */
  private readonly mcuField: Uint8Array;

  constructor(
    robot: RobotDescription,
    channels: readonly ChannelInfo[],
    private readonly calibrate: CalibrateFn,
  ) {
    const names = robot.observations.map((f) => f.name);
    const wireNames = channelFieldNames(channels);
    const index = new Map(names.map((n, i) => [n, i]));
    // Vision fields (source "vision.*") are written by the tick from the encoder's mailbox, not sent by the MCU.
    const fromMcu = robot.observations.map((f) => f.source === undefined);
    this.mcuField = Uint8Array.from(fromMcu, (b) => (b ? 1 : 0));
    const missing = names.filter((n, i) => fromMcu[i] && !wireNames.includes(n));
    if (missing.length > 0) {
      throw new RewarddError(
        'E_ROBOT',
        `robot "${robot.name}" expects observation fields the MCU does not send: ${missing.join(', ')} (MCU sends: ${wireNames.join(', ')})`,
      );
    }
    this.map = Int32Array.from(wireNames, (w) => index.get(w) ?? -1);
    this.unusedFields = wireNames.filter((w) => !index.has(w));
    this.wireScale = Float64Array.from(channels.flatMap((c) => Array<number>(c.count).fill(c.scale)));
    this.calibrated = new Float64Array(names.length);
    this.observation = {
      names,
      values: new Float32Array(names.length),
      raw: new Float64Array(names.length),
      rawValues: new Float32Array(names.length),
      sampledAtNs: new BigInt64Array(names.length),
      samples: 0,
    };
  }

  /** Folds one SAMPLE frame in; hostNs is when it was decoded. */
  fold(frame: SampleFrame, hostNs: bigint): void {
    const o = this.observation;
    const v = frame.values;
    const n = Math.min(v.length, this.map.length);
    for (let k = 0; k < n; k++) {
      const i = this.map[k]!;
      if (i < 0) continue;
      o.raw[i] = v[k]! * this.wireScale[k]!;
      o.sampledAtNs[i] = hostNs;
    }
    this.calibrate(o.raw, this.calibrated);
    o.values.set(this.calibrated);
    o.rawValues.set(o.raw);
    o.samples++;
  }

  /** The oldest sample time among all fields: how stale the observation is at worst. */
  oldestSampleNs(): bigint {
    const t = this.observation.sampledAtNs;
    let m = -1n;
    for (let i = 0; i < t.length; i++) if (this.mcuField[i] === 1 && (m < 0n || t[i]! < m)) m = t[i]!;
    return m < 0n ? 0n : m;
  }
}
