import { describe, expect, it } from 'vitest';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Outbox } from '../../src/outbox/outbox.js';
import { encodeRecord, RecordKind, type OutboxMessage } from '../../src/outbox/record-format.js';
import { tmpDir } from '../transport/helpers.js';

const msg = (kind: 0 | 1 | 2, i: number, size = 100): OutboxMessage => {
  const payload = new Uint8Array(size).fill(i & 0xff);
  new DataView(payload.buffer).setUint32(0, i, true);
  return { kind, topic: `t/${i}`, steps: kind === RecordKind.steps ? 10 : 0, payload };
};
const segments = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();

async function drain(ob: Outbox): Promise<{ id: number; tag: number; topic: string }[]> {
  await ob.flushed();
  const out = [];
  for (let r; (r = await ob.takeNext()); ) out.push({ id: r.id, tag: new DataView(r.payload.buffer, r.payload.byteOffset).getUint32(0, true), topic: r.topic });
  return out;
}

describe('Outbox', () => {
  it('hands records out in order and replays exactly the unacknowledged ones after a restart', async () => {
    const dir = tmpDir('ob');
    const a = await Outbox.open({ dir, ackFlushMs: 0 });
    for (let i = 0; i < 20; i++) expect(a.append(msg(RecordKind.steps, i))).toBe(true);
    const first = await drain(a);
    expect(first.map((r) => r.tag)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of first.slice(0, 12)) a.ack(r.id);
    expect(a.stats()).toMatchObject({ pendingRecords: 8, pendingSteps: 80, ackedSteps: 120 });
    await a.close();

    const b = await Outbox.open({ dir });
    expect(b.stats()).toMatchObject({ replayedRecords: 8, pendingSteps: 80, quarantinedRanges: 0 });
    const replay = await drain(b);
    expect(replay.map((r) => r.tag)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    expect(replay.map((r) => r.topic)).toEqual(replay.map((r) => `t/${r.tag}`));
    // New records continue the id sequence after the replayed ones.
    b.append(msg(RecordKind.end, 99));
    const next = await drain(b);
    expect(next[0]!.id).toBeGreaterThan(replay.at(-1)!.id);
    await b.close();
  });

  it('rewind hands unacknowledged records out again from the first one', async () => {
    const ob = await Outbox.open({ dir: tmpDir('ob') });
    for (let i = 0; i < 5; i++) ob.append(msg(RecordKind.steps, i));
    const got = await drain(ob);
    ob.ack(got[0]!.id);
    ob.rewind();
    expect((await drain(ob)).map((r) => r.tag)).toEqual([1, 2, 3, 4]);
    await ob.close();
  });

  it('hands a record given back (its publish failed) out again in id order, without repeating records still out', async () => {
    const ob = await Outbox.open({ dir: tmpDir('ob-give') });
    for (let i = 1; i <= 8; i++) ob.append(msg(RecordKind.steps, i));
    await ob.flushed();
    const out = [];
    for (let k = 0; k < 6; k++) out.push((await ob.takeNext())!);
    const tag = (r: { payload: Uint8Array }): number => new DataView(r.payload.buffer, r.payload.byteOffset).getUint32(0, true);
    // 3 and 4 failed (their connection dropped); 5 is still out and is acknowledged afterwards.
    ob.giveBack(out[2]!.id);
    ob.giveBack(out[3]!.id);
    ob.ack(out[4]!.id);
    ob.ack(out[0]!.id);
    ob.ack(out[1]!.id);
    const again = await drain(ob);
    expect(again.map((r) => r.tag)).toEqual([3, 4, 7, 8]); // not 5 (acked) or 6 (still out)
    for (const r of again) ob.ack(r.id);
    expect(ob.stats().pendingRecords).toBe(1); // 6
    ob.rewind(); // a new session: 6 goes out again
    expect((await drain(ob)).map((r) => r.tag)).toEqual([6]);
    expect(tag(out[5]!)).toBe(6);
    await ob.close();
  });

  it('drop-oldest after a giveBack drops only what was never handed out, and every other record still arrives', async () => {
    const ob = await Outbox.open({ dir: tmpDir('ob-dog'), maxBytes: 8192, segmentBytes: 9000, memoryBytes: 0, fsync: 'never', fullPolicy: 'drop-oldest' });
    const kinds = [RecordKind.start, RecordKind.steps, RecordKind.steps, RecordKind.start, RecordKind.steps, RecordKind.start, RecordKind.steps] as const;
    for (const [i, k] of kinds.entries()) {
      expect(ob.append(msg(k, i + 1, 400))).toBe(true);
      await ob.flushed(); // memoryBytes 0: unwritten payloads may not pile up
    }
    const out = [];
    for (let k = 0; k < 5; k++) out.push((await ob.takeNext())!);
    for (const r of out.slice(1)) ob.ack(r.id); // 2..5 acknowledged
    ob.giveBack(out[0]!.id); // 1 refused by the broker and offered again
    ob.append(msg(RecordKind.steps, 8, 6960)); // needs room: episode 1..3 is dropped, and of it only record 1
    await ob.flushed();
    expect(ob.stats()).toMatchObject({ droppedRecords: 1, pendingRecords: 3 }); // 6, 7, 8
    const rest = await drain(ob);
    expect(rest.map((r) => r.tag)).toEqual([6, 7, 8]);
    for (const r of rest) ob.ack(r.id);
    expect(ob.stats()).toMatchObject({ pendingRecords: 0, corruptRecords: 0 });
    await ob.close();
  });

  it('quarantines a corrupted record and a torn tail at start-up, counts them, and replays the rest', async () => {
    const dir = tmpDir('ob');
    const a = await Outbox.open({ dir });
    for (let i = 0; i < 10; i++) a.append(msg(RecordKind.steps, i, 200));
    await a.close();
    const [seg] = segments(dir);
    const path = join(dir, seg!);
    const bytes = readFileSync(path);
    const frame = 12 + 8 + 1 + 4 + 2 + 3 + 200; // header + fixed body + "t/N" + payload
    expect(bytes.length).toBe(10 * frame);
    bytes[4 * frame + 100] ^= 0xff; // flip bits inside record 4's payload
    writeFileSync(path, bytes);
    appendFileSync(path, encodeRecord(11, msg(RecordKind.steps, 10, 200)).subarray(0, 50)); // a crash mid-append

    const b = await Outbox.open({ dir });
    expect(b.stats()).toMatchObject({ quarantinedRanges: 2, replayedRecords: 9 });
    expect(b.stats().quarantinedBytes).toBe(frame + 50);
    expect((await drain(b)).map((r) => r.tag)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
    expect(readdirSync(join(dir, 'quarantine')).length).toBe(2);
    await b.close();
  });

  it('refuse-new-episodes: refuses starts inside the reserve, drops steps past the bound, recovers after acks', async () => {
    const alarms: boolean[] = [];
    const ob = await Outbox.open({ dir: tmpDir('ob'), maxBytes: 64 * 1024, episodeReserveBytes: 16 * 1024 });
    ob.onAlarm = (full) => alarms.push(full);
    expect(ob.append(msg(RecordKind.start, 0))).toBe(true);
    let accepted = 0;
    for (let i = 1; i <= 20; i++) if (ob.append(msg(RecordKind.steps, i, 4096))) accepted++;
    expect(ob.acceptingEpisodes).toBe(false);
    expect(ob.append(msg(RecordKind.start, 100))).toBe(false);
    expect(accepted).toBeGreaterThan(12); // the running episode may use the reserve
    expect(accepted).toBeLessThan(20); // but not go past the hard bound
    const s = ob.stats();
    expect(s.pendingBytes).toBeLessThanOrEqual(64 * 1024);
    expect(s).toMatchObject({ full: true, droppedRecords: 1 + (20 - accepted), droppedSteps: 10 * (20 - accepted), acceptingEpisodes: false });
    // The running episode's end record still goes in (tiny; without it the episode could only time out as incomplete).
    expect(ob.append(msg(RecordKind.end, 99))).toBe(true);
    expect(ob.stats().droppedRecords).toBe(s.droppedRecords);
    expect(alarms).toEqual([true]);
    for (const r of await drain(ob)) ob.ack(r.id);
    expect(ob.stats()).toMatchObject({ full: false, acceptingEpisodes: true, pendingBytes: 0 });
    expect(alarms).toEqual([true, false]);
    expect(ob.append(msg(RecordKind.start, 101))).toBe(true);
    await ob.close();
  });

  it('drop-oldest: makes room by dropping the oldest queued episode, keeping the newest', async () => {
    const ob = await Outbox.open({ dir: tmpDir('ob'), maxBytes: 40 * 1024, fullPolicy: 'drop-oldest' });
    for (let e = 0; e < 4; e++) {
      ob.append(msg(RecordKind.start, e * 100));
      for (let i = 1; i <= 3; i++) ob.append(msg(RecordKind.steps, e * 100 + i, 4096));
      ob.append(msg(RecordKind.end, e * 100 + 99));
    }
    const tags = (await drain(ob)).map((r) => r.tag);
    expect(tags.at(-1)).toBe(399); // newest episode whole
    expect(tags).not.toContain(0); // oldest episode gone
    expect(tags.filter((t) => t % 100 === 0).length).toBe(tags.filter((t) => t % 100 === 99).length); // whole episodes only
    expect(ob.stats().droppedSteps % 30).toBe(0);
    expect(ob.stats().droppedSteps).toBeGreaterThan(0);
    await ob.close();
  });

  it('rotates segments and deletes each one when all its records are acknowledged', async () => {
    const dir = tmpDir('ob');
    const ob = await Outbox.open({ dir, segmentBytes: 2048 });
    for (let i = 0; i < 40; i++) {
      ob.append(msg(RecordKind.steps, i, 300));
      if (i % 5 === 4) await ob.flushed(); // several write rounds, so several segments
    }
    const all = await drain(ob);
    expect(segments(dir).length).toBeGreaterThan(3);
    for (const r of all) ob.ack(r.id);
    await ob.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(segments(dir)).toEqual([]);
    const again = await Outbox.open({ dir });
    expect(again.stats().replayedRecords).toBe(0);
    await again.close();
  });

  it('has one writer per directory: a live owner is refused, a dead one is taken over', async () => {
    const dir = tmpDir('ob');
    const a = await Outbox.open({ dir });
    await expect(Outbox.open({ dir })).rejects.toThrow(/E_OUTBOX.*expected no other user/);
    await a.close();
    writeFileSync(join(dir, 'lock'), String(process.ppid)); // a running process that is not us
    await expect(Outbox.open({ dir })).rejects.toThrow(new RegExp(`locked by running process ${process.ppid}`));
    writeFileSync(join(dir, 'lock'), '999999999'); // no such process: a daemon that was killed
    const b = await Outbox.open({ dir });
    await b.close();
  });

  it('loses no record when the disk fills up part-way through a write, and writes on once it has room', () => {
    const dir = tmpDir('ob-full');
    const child = fileURLToPath(new URL('./fixtures/disk-full-child.ts', import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', child, dir], { encoding: 'utf8' })) as {
      errorsWhileFull: number; sent: { topic: string; intact: boolean }[]; corrupt: number; pending: number;
    };
    expect(out.errorsWhileFull).toBeGreaterThanOrEqual(1);
    expect(out.sent.map((r) => r.topic)).toEqual(Array.from({ length: 10 }, (_, i) => `t/${i + 1}`));
    expect(out.sent.every((r) => r.intact)).toBe(true);
    expect({ corrupt: out.corrupt, pending: out.pending }).toEqual({ corrupt: 0, pending: 0 });
  });

  it('rejects bad options with the expected value in the message', async () => {
    await expect(Outbox.open({ dir: tmpDir('ob'), fsync: 'sometimes' as never })).rejects.toThrow(/E_CONFIG.*fsync.*"always"/);
    await expect(Outbox.open({ dir: tmpDir('ob'), maxBytes: 10 })).rejects.toThrow(/E_CONFIG.*maxBytes/);
  });
});
