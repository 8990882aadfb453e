import type { ChannelType, FrameTypeName } from './frames.js';
import { FrameType } from './frames.js';

/**
 * Byte-level constants of protocol v1 (firmware-bridge/PROTOCOL.md). The C++
 * side mirrors these in firmware-bridge/src/rewardd_protocol.h; the golden
 * vectors keep the two honest.
 *
 * Raw frame (before COBS): header (7) | payload (0..MAX_PAYLOAD) | crc16 (2).
 */
export const HEADER_SIZE = 7;
export const CRC_SIZE = 2;
/** Largest raw frame (header + payload + CRC): fits an Uno's 2 KiB of RAM twice over. */
export const MAX_RAW_FRAME = 512;
export const MAX_PAYLOAD = MAX_RAW_FRAME - HEADER_SIZE - CRC_SIZE;
/** COBS adds one code byte per 254 bytes plus one; the 0x00 delimiter is not counted. 515. */
export const MAX_ENCODED_FRAME = MAX_RAW_FRAME + Math.floor(MAX_RAW_FRAME / 254) + 1;
/** Smallest raw frame: header + CRC, empty payload (ARM, DISARM). */
export const MIN_RAW_FRAME = HEADER_SIZE + CRC_SIZE;

/** Wire codes for channel types in HELLO's channel table. */
export const ChannelTypeCode: Readonly<Record<ChannelType, number>> = { i16: 0, u16: 1, i32: 2, f32: 3 };
export const channelTypeByCode: readonly ChannelType[] = ['i16', 'u16', 'i32', 'f32'];
export const channelTypeSize: Readonly<Record<ChannelType, number>> = { i16: 2, u16: 2, i32: 4, f32: 4 };

/** Frame type name by wire code; undefined for unknown codes. */
export const frameTypeByCode: readonly (FrameTypeName | undefined)[] = (() => {
  const out: (FrameTypeName | undefined)[] = new Array<FrameTypeName | undefined>(256).fill(undefined);
  for (const [name, code] of Object.entries(FrameType)) out[code] = name as FrameTypeName;
  return out;
})();

/** Heartbeat status bits (frames.ts HeartbeatFrame.status). */
export const HeartbeatStatus = { ARMED: 1, WATCHDOG_TRIPPED: 2, FAULTED: 4 } as const;

/** FAULT codes the reference firmware sends; others are firmware-specific. */
export const FaultCode = {
  WATCHDOG: 0x0001,
  BAD_COMMAND: 0x0002,
  SENSOR: 0x0003,
  HOST_PROTOCOL: 0x0004,
} as const;

/** LOG levels. */
export const LogLevel = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 } as const;
