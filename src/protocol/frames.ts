/**
 * Frames of the host <-> MCU wire protocol (firmware-bridge/PROTOCOL.md).
 * A tagged union so every switch over frame types is checked exhaustive.
 * Every frame carries the sender's sequence number (u16, wraps) and the
 * sender's clock in microseconds (u32, wraps ~71 min).
 */
export const PROTOCOL_VERSION = 1;

export const FrameType = {
  HELLO: 0x01,
  SAMPLE: 0x02,
  COMMAND: 0x03,
  HEARTBEAT: 0x04,
  ARM: 0x05,
  DISARM: 0x06,
  FAULT: 0x07,
  LOG: 0x08,
} as const;
export type FrameTypeName = keyof typeof FrameType;

/** Wire type of a channel's values in a SAMPLE frame. */
export type ChannelType = 'i16' | 'u16' | 'i32' | 'f32';

export interface ChannelInfo {
  /** 0..255, index into the SAMPLE layout order. */
  readonly id: number;
  /** Base name; count > 1 expands to name_x/_y/_z (count 3) or name_0.. otherwise. */
  readonly name: string;
  readonly type: ChannelType;
  readonly count: number;
  /** Physical value = raw × scale. */
  readonly scale: number;
  readonly unit: string;
}

interface FrameBase {
  /** Sender's sequence number, u16. */
  readonly seq: number;
  /** Sender's clock, µs, u32. */
  readonly timeUs: number;
}

export interface HelloFrame extends FrameBase {
  readonly type: 'HELLO';
  readonly protocolVersion: number;
  readonly firmwareId: string;
  /** Random per MCU boot: a new boot id means the MCU reset. u32. */
  readonly bootId: number;
  /** Watchdog timeout the firmware enforces, ms. */
  readonly watchdogMs: number;
  readonly channels: readonly ChannelInfo[];
}

/** All channels, in channel-table order, raw wire values already widened to numbers. */
export interface SampleFrame extends FrameBase {
  readonly type: 'SAMPLE';
  readonly values: readonly number[];
}

/** Actuator command: one value per motor channel, in [-1, 1] scaled to i16 (×32767). */
export interface CommandFrame extends FrameBase {
  readonly type: 'COMMAND';
  readonly values: readonly number[];
}

export interface HeartbeatFrame extends FrameBase {
  readonly type: 'HEARTBEAT';
  /** Bit 0: armed; bit 1: watchdog tripped since last heartbeat; bit 2: faulted. */
  readonly status: number;
}

export interface ArmFrame extends FrameBase {
  readonly type: 'ARM';
}
export interface DisarmFrame extends FrameBase {
  readonly type: 'DISARM';
}

export interface FaultFrame extends FrameBase {
  readonly type: 'FAULT';
  readonly code: number;
  readonly message: string;
}

export interface LogFrame extends FrameBase {
  readonly type: 'LOG';
  readonly level: number;
  readonly message: string;
}

export type Frame =
  | HelloFrame
  | SampleFrame
  | CommandFrame
  | HeartbeatFrame
  | ArmFrame
  | DisarmFrame
  | FaultFrame
  | LogFrame;

/** Expand a channel table into scalar observation field names, in SAMPLE order. */
export function channelFieldNames(channels: readonly ChannelInfo[]): string[] {
  const out: string[] = [];
  for (const c of channels) {
    if (c.count === 1) out.push(c.name);
    else if (c.count === 3) out.push(`${c.name}_x`, `${c.name}_y`, `${c.name}_z`);
    else for (let i = 0; i < c.count; i++) out.push(`${c.name}_${i}`);
  }
  return out;
}
