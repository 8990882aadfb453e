import type { Frame, HelloFrame } from '../protocol/frames.js';

/**
 * The one contract every link to a robot's microcontroller implements: the
 * simulated rover, a serial port running our firmware, a Firmata board via
 * johnny-five. One integration suite runs against all of them.
 *
 * Threading: a link lives in the control worker. The tick calls poll() once per
 * tick; a link may also deliver frames from its own I/O callbacks between
 * ticks (serial). It never throws out of poll(): garbage is counted, a lost
 * MCU is reported through onLost.
 */
export interface LinkSink {
  /** A decoded frame; hostNs is the host monotonic time it was decoded. */
  onFrame(frame: Frame, hostNs: bigint): void;
  /** The MCU went silent, was unplugged, or rebooted. The link tries to reconnect by itself. */
  onLost(reason: string): void;
  /** A (re)connected MCU said HELLO; bootChanged is true when it rebooted since the last HELLO. */
  onHello(hello: HelloFrame, bootChanged: boolean): void;
}

export interface LinkCounters {
  readonly [name: string]: number;
}

export interface Link {
  /** "sim", "serial", "johnny-five". */
  readonly kind: string;
  /** Human-readable detail for the status line and episode start record (port, baud, seed...). */
  readonly detail: Record<string, unknown>;
  /** Opens the link and resolves with the MCU's first HELLO (or rejects with E_LINK after its timeout). */
  open(sink: LinkSink): Promise<HelloFrame>;
  /** Called once per control tick with the host monotonic time. */
  poll(nowNs: bigint): void;
  /** Actuator command, one value per actuator in [-1, 1], in the robot description's action order. */
  sendCommand(values: Float32Array): void;
  arm(): void;
  disarm(): void;
  /** Starts a new episode's scenario where the link has one (the sim places a new beacon); returns its facts. */
  resetScenario(episodeIndex: number): Record<string, unknown>;
  counters(): LinkCounters;
  close(): Promise<void>;
}
