import { encodeFrameInto } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/decoder.js';
import { PROTOCOL_VERSION, type Frame, type HelloFrame } from '../protocol/frames.js';
import { MAX_ENCODED_FRAME, HeartbeatStatus } from '../protocol/wire.js';
import { ROVER_CHANNELS } from '../protocol/rover-channels.js';
import type { Link, LinkCounters, LinkSink } from './link.js';
import { RoverModel, ROVER_SENSOR_COUNT, type RoverOptions } from './sim/rover-model.js';

export interface SimLinkOptions {
  rover?: Partial<RoverOptions>;
  /** Firmware-side watchdog: motors stop when no COMMAND arrived for this long (ms). */
  watchdogMs?: number;
  /** Heartbeat period of the simulated firmware (ms). */
  heartbeatMs?: number;
  /** Longest physics step taken in one poll (s): a stalled host does not teleport the rover. */
  maxStepS?: number;
}

/**
 * The simulated rover behind the same wire protocol as real firmware: every
 * poll() advances the physics by the elapsed time, encodes the sensors as a
 * SAMPLE frame, and pushes the bytes through the real FrameDecoder, so the
 * default run exercises the decode path the serial link uses. Commands obey
 * the firmware's rules: nothing moves until ARM, and motors stop by
 * themselves when commands stop arriving (the MCU watchdog).
 */
export class SimLink implements Link {
  readonly kind = 'sim';
  readonly detail: Record<string, unknown>;
  readonly model: RoverModel;
  private readonly decoder = new FrameDecoder();
  private readonly wire = new Uint8Array(MAX_ENCODED_FRAME + 1);
  private readonly sensors = new Float64Array(ROVER_SENSOR_COUNT);
  private readonly values: number[] = new Array<number>(ROVER_SENSOR_COUNT).fill(0);
  private sink: LinkSink | null = null;
  private readonly bootId = (Math.random() * 0xffffffff) >>> 0;
  private seq = 0;
  private lastNs: bigint | null = null;
  private lastCommandNs = 0n;
  private lastHeartbeatNs = 0n;
  private command: [number, number] = [0, 0];
  private armed = false;
  private watchdogTrips = 0;
  private tripReported = false;
  private readonly watchdogNs: bigint;
  private readonly heartbeatNs: bigint;
  private readonly maxStepS: number;
  private readonly startNs = process.hrtime.bigint();

  constructor(opts: SimLinkOptions = {}) {
    this.model = new RoverModel(opts.rover ?? {});
    this.watchdogNs = BigInt(Math.round((opts.watchdogMs ?? 150) * 1e6));
    this.heartbeatNs = BigInt(Math.round((opts.heartbeatMs ?? 100) * 1e6));
    this.maxStepS = opts.maxStepS ?? 0.05;
    this.detail = { seed: this.model.opts.seed, watchdogMs: opts.watchdogMs ?? 150 };
  }

  open(sink: LinkSink): Promise<HelloFrame> {
    this.sink = sink;
    const hello: HelloFrame = {
      type: 'HELLO',
      seq: this.nextSeq(),
      timeUs: this.mcuMicros(process.hrtime.bigint()),
      protocolVersion: PROTOCOL_VERSION,
      firmwareId: 'rewardd-sim-rover/1',
      bootId: this.bootId,
      watchdogMs: Number(this.watchdogNs / 1_000_000n),
      channels: ROVER_CHANNELS,
    };
    let received: HelloFrame | null = null;
    this.transmit(hello, process.hrtime.bigint(), (f) => {
      if (f.type === 'HELLO') received = f;
    });
    if (received === null) return Promise.reject(new Error(`sim HELLO did not decode: ${this.decoder.lastError}`));
    sink.onHello(received, false);
    return Promise.resolve(received);
  }

  poll(nowNs: bigint): void {
    const dt = this.lastNs === null ? 0 : Math.min(this.maxStepS, Number(nowNs - this.lastNs) / 1e9);
    this.lastNs = nowNs;
    // The MCU watchdog: no command for watchdogMs -> motors off, reported once in a heartbeat.
    if (this.armed && nowNs - this.lastCommandNs > this.watchdogNs && (this.command[0] !== 0 || this.command[1] !== 0)) {
      this.command = [0, 0];
      this.watchdogTrips++;
      this.tripReported = false;
    }
    const [l, r] = this.armed ? this.command : [0, 0];
    if (dt > 0) this.model.step(dt, l, r);
    this.model.sense(this.sensors);
    for (let i = 0; i < ROVER_SENSOR_COUNT; i++) this.values[i] = this.sensors[i]!;
    this.transmit({ type: 'SAMPLE', seq: this.nextSeq(), timeUs: this.mcuMicros(nowNs), values: this.values }, nowNs);
    if (nowNs - this.lastHeartbeatNs >= this.heartbeatNs) {
      this.lastHeartbeatNs = nowNs;
      const status = (this.armed ? HeartbeatStatus.ARMED : 0) | (this.tripReported ? 0 : this.watchdogTrips > 0 ? HeartbeatStatus.WATCHDOG_TRIPPED : 0);
      this.tripReported = true;
      this.transmit({ type: 'HEARTBEAT', seq: this.nextSeq(), timeUs: this.mcuMicros(nowNs), status }, nowNs);
    }
  }

  // Commands are stamped with the time of the latest poll (the simulated MCU's clock), so a
  // caller driving poll() with a virtual clock gets a watchdog on that same clock.
  sendCommand(values: Float32Array): void {
    this.command = [values[0] ?? 0, values[1] ?? 0];
    this.lastCommandNs = this.lastNs ?? process.hrtime.bigint();
  }

  arm(): void {
    this.armed = true;
    this.lastCommandNs = this.lastNs ?? process.hrtime.bigint();
  }

  disarm(): void {
    this.armed = false;
    this.command = [0, 0];
  }

  resetScenario(episodeIndex: number): Record<string, unknown> {
    const s = this.model.reset(episodeIndex);
    return { kind: 'sim-rover', ...s };
  }

  counters(): LinkCounters {
    return { ...this.decoder.counters(), watchdogTrips: this.watchdogTrips };
  }

  close(): Promise<void> {
    this.disarm();
    this.sink = null;
    return Promise.resolve();
  }

  private transmit(frame: Frame, hostNs: bigint, direct?: (f: Frame) => void): void {
    const n = encodeFrameInto(frame, this.wire, 0, ROVER_CHANNELS);
    this.decoder.push(this.wire.subarray(0, n), (f) => {
      if (direct) direct(f);
      else this.sink?.onFrame(f, hostNs);
    });
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    return s;
  }

  private mcuMicros(nowNs: bigint): number {
    return Number(((nowNs - this.startNs) / 1000n) & 0xffffffffn);
  }
}
