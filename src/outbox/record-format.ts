import { crc32 } from 'node:zlib';

/**
 * One outbox record on disk (little endian), framed so that a torn write or
 * flipped bits are detected record by record:
 *
 *   0  u32  magic 0x424F5752 ("RWOB")
 *   4  u32  body length in bytes
 *   8  u32  CRC-32 of the body
 *  12  body:
 *        f64  record id (strictly increasing across segments; exact below 2^53)
 *        u8   kind (0 start, 1 steps, 2 end)
 *        u32  steps carried (0 for start/end records)
 *        u16  topic length, then the topic (UTF-8)
 *        payload (rest of the body)
 *
 * Pure: bytes in, records out; no I/O (the scanner and the writer wrap it).
 */
export const RECORD_MAGIC = 0x424f5752;
export const HEADER_BYTES = 12;
const BODY_FIXED = 8 + 1 + 4 + 2;
/** Upper bound of one record's body; a length above it is corruption, not data. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export const RecordKind = { start: 0, steps: 1, end: 2 } as const;
export type RecordKindCode = (typeof RecordKind)[keyof typeof RecordKind];

export interface OutboxMessage {
  kind: RecordKindCode;
  topic: string;
  /** Steps this record carries (counts toward published / pending). */
  steps: number;
  payload: Uint8Array;
}

export interface DecodedRecord extends OutboxMessage {
  id: number;
  /** Whole frame size on disk. */
  size: number;
}

export function encodeRecord(id: number, m: OutboxMessage): Buffer {
  return Buffer.concat([encodeRecordHead(id, m), m.payload]);
}

/**
 * Everything of a record's frame but its payload (header, fixed fields, topic), CRC included:
 * writing `[head, payload]` with writev stores the same bytes as encodeRecord without copying
 * the payload into a new buffer.
 */
export function encodeRecordHead(id: number, m: OutboxMessage): Buffer {
  const topicLen = Buffer.byteLength(m.topic, 'utf8');
  const buf = Buffer.allocUnsafe(HEADER_BYTES + BODY_FIXED + topicLen);
  buf.writeUInt32LE(RECORD_MAGIC, 0);
  buf.writeUInt32LE(BODY_FIXED + topicLen + m.payload.byteLength, 4);
  let o = HEADER_BYTES;
  buf.writeDoubleLE(id, o);
  o += 8;
  buf.writeUInt8(m.kind, o);
  o += 1;
  buf.writeUInt32LE(m.steps, o);
  o += 4;
  buf.writeUInt16LE(topicLen, o);
  o += 2;
  buf.write(m.topic, o, 'utf8');
  buf.writeUInt32LE(crc32(m.payload, crc32(buf.subarray(HEADER_BYTES))), 8);
  return buf;
}

export type ParseResult =
  | { ok: true; record: DecodedRecord }
  /** The bytes end inside this record: a torn tail (or more data to come). */
  | { ok: false; reason: 'short' }
  | { ok: false; reason: 'magic' | 'length' | 'crc' | 'body' };

/** Parses the record at `offset`. The returned payload is a view into `buf`. */
export function parseRecord(buf: Buffer, offset: number): ParseResult {
  if (buf.length - offset < HEADER_BYTES) return { ok: false, reason: 'short' };
  if (buf.readUInt32LE(offset) !== RECORD_MAGIC) return { ok: false, reason: 'magic' };
  const bodyLen = buf.readUInt32LE(offset + 4);
  if (bodyLen < BODY_FIXED || bodyLen > MAX_BODY_BYTES) return { ok: false, reason: 'length' };
  const end = offset + HEADER_BYTES + bodyLen;
  if (end > buf.length) return { ok: false, reason: 'short' };
  const body = buf.subarray(offset + HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32LE(offset + 8)) return { ok: false, reason: 'crc' };
  const id = body.readDoubleLE(0);
  const kind = body.readUInt8(8);
  const steps = body.readUInt32LE(9);
  const topicLen = body.readUInt16LE(13);
  if (!Number.isSafeInteger(id) || id < 1 || kind > 2 || BODY_FIXED + topicLen > bodyLen) return { ok: false, reason: 'body' };
  const topic = body.toString('utf8', BODY_FIXED, BODY_FIXED + topicLen);
  return {
    ok: true,
    record: { id, kind: kind as RecordKindCode, steps, topic, payload: body.subarray(BODY_FIXED + topicLen), size: HEADER_BYTES + bodyLen },
  };
}
