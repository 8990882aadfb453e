import { cobsMaxEncodedLength } from '../protocol/cobs.js';
import type { ChannelInfo } from '../protocol/frames.js';
import { CRC_SIZE, HEADER_SIZE, channelTypeSize } from '../protocol/wire.js';

/**
 * What a UART at a given baud rate carries for one firmware's frames: how many
 * SAMPLEs per second fit from the MCU, how many COMMANDs per second fit to it,
 * and so the largest control tick rate the link supports when every tick wants
 * a fresh sample and sends one command (PROTOCOL.md; docs/firmware.md has the
 * rover's figures). 8N1 framing: 10 bits on the line per byte.
 *
 * The budget is a property of a real UART (an FTDI/CH340/16U2 bridge, or the
 * emulated MCU's UART). USB CDC boards (Leonardo, Teensy, ESP32-S3...) and
 * pseudo-terminals ignore the baud rate, so the daemon only warns (serialTickWarning).
 */
export const BITS_PER_BYTE = 10;
/** The MCU sends a HEARTBEAT every 100 ms (PROTOCOL.md section 5). */
export const MCU_HEARTBEAT_MS = 100;

/** Bytes one frame with this payload takes on the wire: header, payload, CRC, COBS overhead, delimiter. */
export function frameWireBytes(payloadBytes: number): number {
  return cobsMaxEncodedLength(HEADER_SIZE + payloadBytes + CRC_SIZE) + 1;
}

export function samplePayloadBytes(channels: readonly ChannelInfo[]): number {
  return channels.reduce((n, c) => n + channelTypeSize[c.type] * c.count, 0);
}

export interface SerialBudget {
  readonly baudRate: number;
  /** Bytes per second each way. */
  readonly bytesPerSecond: number;
  readonly sampleWireBytes: number;
  readonly commandWireBytes: number;
  /** SAMPLEs per second the MCU -> host direction carries, after the MCU's heartbeats. */
  readonly samplesPerSecond: number;
  /** COMMANDs per second the host -> MCU direction carries, after the host's heartbeats. */
  readonly commandsPerSecond: number;
  /** The smaller of the two: the largest --hz at which every tick gets a fresh sample and sends a command. */
  readonly maxTickHz: number;
}

export function serialBudget(o: { baudRate: number; channels: readonly ChannelInfo[]; motors: number; hostHeartbeatMs: number; mcuHeartbeatMs?: number }): SerialBudget {
  const bytesPerSecond = o.baudRate / BITS_PER_BYTE;
  const heartbeat = frameWireBytes(1);
  const sampleWireBytes = frameWireBytes(samplePayloadBytes(o.channels));
  const commandWireBytes = frameWireBytes(2 * o.motors);
  const up = bytesPerSecond - (1000 / (o.mcuHeartbeatMs ?? MCU_HEARTBEAT_MS)) * heartbeat;
  const down = bytesPerSecond - (1000 / o.hostHeartbeatMs) * heartbeat;
  const samplesPerSecond = Math.max(0, up / sampleWireBytes);
  const commandsPerSecond = Math.max(0, down / commandWireBytes);
  return { baudRate: o.baudRate, bytesPerSecond, sampleWireBytes, commandWireBytes, samplesPerSecond, commandsPerSecond, maxTickHz: Math.min(samplesPerSecond, commandsPerSecond) };
}

/**
 * The warning `rewardd run` logs at start (once the MCU's HELLO gave the frame sizes) when --hz is
 * above what the serial link's baud rate carries, or null when it fits. A warning, not a refusal:
 * the baud rate means nothing to USB CDC boards and pseudo-terminals, which carry far more.
 */
export function serialTickWarning(hz: number, budget: SerialBudget, path: string): string | null {
  if (hz <= budget.maxTickHz) return null;
  const which = budget.samplesPerSecond <= budget.commandsPerSecond
    ? `${Math.floor(budget.samplesPerSecond)} samples/s of ${budget.sampleWireBytes} bytes`
    : `${Math.floor(budget.commandsPerSecond)} commands/s of ${budget.commandWireBytes} bytes`;
  return `warning: serial ${path}: --hz ${hz} is above what ${budget.baudRate} baud carries for this firmware (${which} at 10 bits a byte, `
    + `heartbeats included): at most ${Math.floor(budget.maxTickHz)} ticks/s get a fresh sample each; the rest reuse the last one. `
    + `Lower --hz, raise the baud rate (serial:<path>@<baud> and the sketch's REWARDD_BAUD), or ignore this on a USB CDC board, which ignores the baud rate`;
}
