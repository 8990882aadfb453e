/** The host side of the MCU wire protocol (firmware-bridge/PROTOCOL.md): frames, codec, stream decoder. */
export * from './frames.js';
export * from './wire.js';
export { crc16, CRC16_INIT } from './crc16.js';
export { cobsEncode, cobsDecode, cobsEncodeInto, cobsDecodeInto, cobsMaxEncodedLength } from './cobs.js';
export { compileLayout, channelTableProblem, MAX_NAME_BYTES, MAX_UNIT_BYTES, MAX_FIRMWARE_ID_BYTES, type SampleLayout } from './layout.js';
export { encodeFrame, encodeFrameInto, encodeRawFrame, decodeFramePayload, decodeFrame, type ChannelsOrLayout } from './codec.js';
export { FrameDecoder, type DecoderCounters } from './decoder.js';
export { ROVER_CHANNELS } from './rover-channels.js';
export { channelTableMismatches, observationIndex } from './robot-check.js';
