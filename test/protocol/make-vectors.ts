import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  FrameDecoder, FrameType, ROVER_CHANNELS, cobsEncode, crc16, encodeFrame, encodeRawFrame, type ChannelInfo, type Frame,
} from '../../src/protocol/index.js';
import { MIXED } from './helpers.js';
import { describeFrame, formatVector, type Vector } from './vectors-format.js';

/**
 * Writes firmware-bridge/test-vectors/ts-encoded.txt (frames encoded by the
 * TypeScript codec) and malformed.txt (bad input built byte by byte). The
 * expected outcome of each line is what FrameDecoder does with it, and the
 * generator refuses to write a vector whose outcome is not the intended kind.
 * The C++ test decodes both files and must agree line by line.
 *
 * Regenerate: npx tsx test/protocol/make-vectors.ts
 */
export const VECTOR_DIR = fileURLToPath(new URL('../../firmware-bridge/test-vectors/', import.meta.url));

const hello = (seq: number, channels: readonly ChannelInfo[], bootId: number): Frame => ({
  type: 'HELLO', seq, timeUs: 100 + seq, protocolVersion: 1, firmwareId: 'rewardd ts vectors', bootId, watchdogMs: 150, channels,
});

/** A raw frame with a correct CRC around any header+payload bytes, COBS-encoded with its delimiter. */
export function wireOf(headerAndPayload: number[]): Uint8Array {
  const raw = new Uint8Array(headerAndPayload.length + 2);
  raw.set(headerAndPayload);
  const crc = crc16(raw, 0, headerAndPayload.length);
  raw[raw.length - 2] = crc & 0xff;
  raw[raw.length - 1] = crc >> 8;
  return withDelimiter(cobsEncode(raw));
}

function withDelimiter(enc: Uint8Array): Uint8Array {
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

function run(items: [name: string, bytes: Uint8Array, intended: string][]): Vector[] {
  const d = new FrameDecoder();
  return items.map(([name, bytes, intended]) => {
    const before = d.counters();
    const got: Frame[] = [];
    d.push(bytes, (f) => got.push(f));
    const c = d.counters();
    const errs = { '!crc': c.crcErrors - before.crcErrors, '!malformed': c.malformed - before.malformed, '!oversize': c.oversize - before.oversize };
    const events = got.length + errs['!crc'] + errs['!malformed'] + errs['!oversize'];
    if (events > 1) throw new Error(`vector ${name}: expected one outcome, found ${events}`);
    const expected = got[0] ? describeFrame(got[0], d.channels) : (Object.entries(errs).find(([, n]) => n === 1)?.[0] ?? '!none');
    const kind = expected.startsWith('!') ? expected : 'frame';
    if (!intended.split('|').includes(kind)) throw new Error(`vector ${name}: intended ${intended}, found ${expected}`);
    return { name, bytes, expected };
  });
}

export function tsEncodedVectors(): Vector[] {
  const rover = ROVER_CHANNELS;
  const ms: Frame[] = [
    hello(0, rover, 0x01020304),
    { type: 'SAMPLE', seq: 1, timeUs: 2, values: [0.5, -0.5, 9.80665, 0, 0, -3.25, 12, -12, 1.25, 11.1, 0.3, -0.3] },
    hello(2, MIXED, 0xfffffffe),
    { type: 'SAMPLE', seq: 3, timeUs: 0xffffffff, values: [-32768, 32767, 0, -1, Math.PI, -0, 1e-40] },
    { type: 'COMMAND', seq: 4, timeUs: 5, values: [1, -1] },
    { type: 'COMMAND', seq: 5, timeUs: 6, values: [0.25, 0, -0.75, 0.001] },
    { type: 'COMMAND', seq: 6, timeUs: 7, values: [] },
    { type: 'HEARTBEAT', seq: 7, timeUs: 8, status: 0 },
    { type: 'ARM', seq: 8, timeUs: 9 },
    { type: 'DISARM', seq: 9, timeUs: 10 },
    { type: 'FAULT', seq: 10, timeUs: 11, code: 0x8000, message: 'e-stop: operator' },
    { type: 'LOG', seq: 0xffff, timeUs: 12, level: 3, message: 'x'.repeat(260) },
  ];
  let table: readonly ChannelInfo[] = rover;
  return run(ms.map((f, i) => {
    if (f.type === 'HELLO') table = f.channels;
    return [`ts_${i}_${f.type.toLowerCase()}`, encodeFrame(f, table), 'frame'];
  }));
}

export function malformedVectors(): Vector[] {
  const sample = (seq: number): Frame => ({ type: 'SAMPLE', seq, timeUs: seq, values: [1, 2, 3, 4, 5, 6, 7] });
  const good = (seq: number) => encodeFrame(sample(seq), MIXED);
  const raw = encodeRawFrame(sample(2), MIXED);
  raw[9] ^= 0x10; // one payload bit flipped on the line, after the CRC was computed
  const flipped = withDelimiter(cobsEncode(raw));
  const hdr = (type: number, seq: number) => [type, seq & 0xff, seq >> 8, 1, 0, 0, 0];
  return run([
    ['lead_in_garbage', Uint8Array.of(0x13, 0x37, 0xff, 0x00), '!malformed|!crc'],
    ['empty_frame', Uint8Array.of(0), '!none'],
    ['hello_mixed', encodeFrame(hello(0, MIXED, 7)), 'frame'],
    ['sample_ok', good(1), 'frame'],
    ['crc_flipped_payload_byte', flipped, '!crc'],
    ['sample_ok_after_crc_error', good(2), 'frame'],
    ['truncated_no_delimiter', good(3).slice(0, 10), '!none'],
    ['delimiter_ends_truncated', Uint8Array.of(0), '!malformed|!crc'],
    ['oversize_run', Uint8Array.of(...new Array<number>(600).fill(0x42), 0), '!oversize'],
    ['cobs_code_past_end', Uint8Array.of(0x05, 0x01, 0x02, 0x00), '!malformed'],
    ['too_short', wireOf([FrameType.ARM, 1, 0]), '!malformed'],
    ['unknown_type_0x99', wireOf(hdr(0x99, 4)), '!malformed'],
    ['heartbeat_two_bytes', wireOf([...hdr(FrameType.HEARTBEAT, 5), 1, 2]), '!malformed'],
    ['arm_with_payload', wireOf([...hdr(FrameType.ARM, 6), 1]), '!malformed'],
    ['command_odd_length', wireOf([...hdr(FrameType.COMMAND, 7), 1, 2, 3]), '!malformed'],
    ['sample_one_byte_short', wireOf([...hdr(FrameType.SAMPLE, 8), ...new Array<number>(21).fill(1)]), '!malformed'],
    ['hello_channel_id_not_index', wireOf([...hdr(FrameType.HELLO, 9), 1, 1, 0, 0, 0, 150, 0, 0, 1, 5, 3, 1, 0, 0, 0x80, 0x3f, 1, 0x61, 0]), '!malformed'],
    ['hello_type_code_9', wireOf([...hdr(FrameType.HELLO, 10), 1, 1, 0, 0, 0, 150, 0, 0, 1, 0, 9, 1, 0, 0, 0x80, 0x3f, 1, 0x61, 0]), '!malformed'],
    ['hello_trailing_byte', wireOf([...hdr(FrameType.HELLO, 11), 1, 1, 0, 0, 0, 150, 0, 0, 1, 0, 3, 1, 0, 0, 0x80, 0x3f, 1, 0x61, 0, 0xee]), '!malformed'],
    ['fault_one_byte', wireOf([...hdr(FrameType.FAULT, 12), 1]), '!malformed'],
    ['sample_ok_at_end', good(13), 'frame'],
  ]);
}

const header = (who: string) =>
  `# rewardd protocol v1 golden vectors ${who} (npx tsx test/protocol/make-vectors.ts).\n` +
  '# One stream: lines are decoded in order (HELLO sets the channel table). name | wire bytes (hex) | expected\n';

export const tsEncodedText = (): string => header('encoded by the TypeScript codec') + tsEncodedVectors().map(formatVector).join('\n') + '\n';
export const malformedText = (): string => header('of malformed input, built byte by byte in TypeScript') + malformedVectors().map(formatVector).join('\n') + '\n';

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(`${VECTOR_DIR}ts-encoded.txt`, tsEncodedText());
  writeFileSync(`${VECTOR_DIR}malformed.txt`, malformedText());
  console.log(`wrote ${VECTOR_DIR}ts-encoded.txt and malformed.txt`);
}
