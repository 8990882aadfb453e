import { RECORD_MAGIC, parseRecord, type DecodedRecord } from './record-format.js';

/**
 * Reads a whole segment's bytes into valid records and bad byte ranges.
 * A bad record (wrong magic, impossible length, CRC mismatch) is skipped by
 * searching forward for the next offset where a whole valid record parses, so
 * one flipped bit costs one record, not the rest of the segment. Bytes that end
 * inside a record are a torn tail (a crash mid-append).
 */
export interface ScannedRecord extends DecodedRecord {
  offset: number;
}

export interface BadRange {
  offset: number;
  length: number;
  reason: 'magic' | 'length' | 'crc' | 'body' | 'torn';
}

export interface SegmentScan {
  records: ScannedRecord[];
  bad: BadRange[];
}

const MAGIC_BYTES = Buffer.alloc(4);
MAGIC_BYTES.writeUInt32LE(RECORD_MAGIC, 0);

export function scanSegment(buf: Buffer): SegmentScan {
  const records: ScannedRecord[] = [];
  const bad: BadRange[] = [];
  let off = 0;
  while (off < buf.length) {
    const r = parseRecord(buf, off);
    if (r.ok) {
      records.push({ ...r.record, offset: off });
      off += r.record.size;
      continue;
    }
    // Resynchronise: the next magic from which a whole record parses.
    let next = off + 1;
    for (;;) {
      next = buf.indexOf(MAGIC_BYTES, next);
      if (next < 0) break;
      if (parseRecord(buf, next).ok) break;
      next += 1;
    }
    const end = next < 0 ? buf.length : next;
    bad.push({ offset: off, length: end - off, reason: r.reason === 'short' && next < 0 ? 'torn' : r.reason === 'short' ? 'length' : r.reason });
    off = end;
  }
  return { records, bad };
}
