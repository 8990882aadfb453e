import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanSegment } from './segment-scan.js';
import type { RecordKindCode } from './record-format.js';

/**
 * Start-up of an outbox directory: reads the persisted acknowledgement mark,
 * scans every segment, quarantines bad byte ranges (copied to quarantine/,
 * counted) and returns the unacknowledged records to replay, in id order.
 * Fully acknowledged segments are deleted here.
 */
export const SEGMENT_RE = /^seg-(\d{16})\.rwob$/;
export const segmentName = (n: number): string => `seg-${String(n).padStart(16, '0')}.rwob`;
export const ACK_FILE = 'acked';

export interface RecoveredRecord {
  id: number;
  kind: RecordKindCode;
  topic: string;
  steps: number;
  size: number;
  segment: number;
  offset: number;
}

export interface RecoveredSegment {
  n: number;
  path: string;
  bytes: number;
}

export interface Recovery {
  ackedId: number;
  lastId: number;
  lastSegment: number;
  records: RecoveredRecord[];
  segments: RecoveredSegment[];
  quarantinedRanges: number;
  quarantinedBytes: number;
}

export async function readAckMark(dir: string): Promise<number> {
  try {
    const n = Number((await readFile(join(dir, ACK_FILE), 'utf8')).trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch {
    return 0;
  }
}

/** Atomic replace, so a crash leaves the old mark or the new one, never half of one. */
export async function writeAckMark(dir: string, id: number): Promise<void> {
  const tmp = join(dir, `${ACK_FILE}.tmp`);
  await writeFile(tmp, String(id));
  await rename(tmp, join(dir, ACK_FILE));
}

export async function recoverOutbox(dir: string): Promise<Recovery> {
  await mkdir(join(dir, 'quarantine'), { recursive: true });
  const ackedId = await readAckMark(dir);
  const names = (await readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
  const out: Recovery = { ackedId, lastId: ackedId, lastSegment: 0, records: [], segments: [], quarantinedRanges: 0, quarantinedBytes: 0 };
  for (const name of names) {
    const n = Number(SEGMENT_RE.exec(name)![1]);
    out.lastSegment = Math.max(out.lastSegment, n);
    const path = join(dir, name);
    const buf = await readFile(path);
    const scan = scanSegment(buf);
    for (const b of scan.bad) {
      out.quarantinedRanges += 1;
      out.quarantinedBytes += b.length;
      await writeFile(join(dir, 'quarantine', `${name}.${b.offset}.${b.reason}`), buf.subarray(b.offset, b.offset + b.length));
    }
    let live = 0;
    for (const r of scan.records) {
      out.lastId = Math.max(out.lastId, r.id);
      // Ids are increasing; a record at or below the last one kept is a duplicate of bad history.
      const prev = out.records[out.records.length - 1];
      if (r.id <= ackedId || (prev && r.id <= prev.id)) continue;
      live += 1;
      out.records.push({ id: r.id, kind: r.kind, topic: r.topic, steps: r.steps, size: r.size, segment: n, offset: r.offset });
    }
    if (live === 0) await unlink(path);
    else out.segments.push({ n, path, bytes: buf.length });
  }
  return out;
}
