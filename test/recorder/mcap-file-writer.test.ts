import { describe, expect, it } from 'vitest';
import { McapIndexedReader, McapStreamReader, McapWriter, type IWritable } from '@mcap/core';
import { McapFileWriter } from '../../src/recorder/mcap-file-writer.js';

/** Collects what a writer writes. */
class Memory implements IWritable {
  readonly parts: Uint8Array[] = [];
  private pos = 0n;
  position(): bigint {
    return this.pos;
  }
  async write(b: Uint8Array): Promise<void> {
    this.parts.push(Buffer.from(b)); // a copy (Buffer#slice would be a view)
    this.pos += BigInt(b.byteLength);
    await new Promise((r) => setImmediate(r)); // a real file write completes later
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const te = new TextEncoder();
const att = (name: string, t: bigint) => ({ name, logTime: t, createTime: t, mediaType: 'application/json', data: te.encode(`{"name":"${name}"}`) });

/** The calls the recorder makes, with the edge cases that change bytes: several chunks, a channel first used late, a schemaless channel, time going backwards, attachments between chunks. */
async function writeEpisode(w: {
  start(h: { profile: string; library: string }): Promise<void>;
  registerSchema(s: { name: string; encoding: string; data: Uint8Array }): number | Promise<number>;
  registerChannel(c: { schemaId: number; topic: string; messageEncoding: string; metadata: Map<string, string> }): number | Promise<number>;
  add(channelId: number, sequence: number, logTime: bigint, publishTime: bigint, data: Uint8Array): Promise<void> | undefined;
  addAttachment(a: ReturnType<typeof att>): Promise<void>;
  addMetadata(m: { name: string; metadata: Map<string, string> }): Promise<void>;
  end(): Promise<void>;
}): Promise<void> {
  await w.start({ profile: '', library: 'rewardd' });
  await w.addAttachment(att('start.json', 5n));
  const obsSchema = await w.registerSchema({ name: 'rewardd/Observation', encoding: 'ros1msg', data: te.encode('uint32 seq\nfloat32 x') });
  const obs = await w.registerChannel({ schemaId: obsSchema, topic: '/observation', messageEncoding: 'ros1', metadata: new Map([['episode', 'ep'], ['names', '["x"]']]) });
  const act = await w.registerChannel({ schemaId: obsSchema, topic: '/action', messageEncoding: 'ros1', metadata: new Map() });
  const log = await w.registerChannel({ schemaId: 0, topic: '/log', messageEncoding: 'json', metadata: new Map() });
  let seq = 0;
  let late = -1;
  for (let i = 0; i < 400; i++) {
    const t = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n - (i % 7 === 3 ? 5_000_000n : 0n);
    const data = new Uint8Array(40 + (i % 13)).fill(i & 0xff);
    await w.add(obs, seq++, t, BigInt(i), data);
    await w.add(act, seq++, t, BigInt(i), data.subarray(0, 9));
    if (i % 50 === 0) await w.add(log, seq++, t, BigInt(i), te.encode(`{"i":${i}}`));
    if (i === 200) {
      await w.addAttachment(att('mid.json', t));
      const s2 = await w.registerSchema({ name: 'rewardd/Reward_v2', encoding: 'ros1msg', data: te.encode('float64 total') });
      late = await w.registerChannel({ schemaId: s2, topic: '/reward', messageEncoding: 'ros1', metadata: new Map([['version', 'v2']]) });
    }
    if (late >= 0) await w.add(late, seq++, t, BigInt(i), new Uint8Array(8).fill(7));
  }
  await w.addAttachment(att('end.json', 9n));
  await w.addMetadata({ name: 'rewardd.episode', metadata: new Map([['episode', 'ep'], ['steps', '400']]) });
  await w.end();
}

describe('McapFileWriter', () => {
  it('writes the same bytes as @mcap/core McapWriter for the same calls, across several chunks', async () => {
    const ref = new Memory();
    const mw = new McapWriter({ writable: ref, chunkSize: 4096 });
    await writeEpisode({
      start: (h) => mw.start(h), registerSchema: (s) => mw.registerSchema(s), registerChannel: (c) => mw.registerChannel(c),
      add: (channelId, sequence, logTime, publishTime, data) => mw.addMessage({ channelId, sequence, logTime, publishTime, data }),
      addAttachment: (a) => mw.addAttachment(a), addMetadata: (m) => mw.addMetadata(m), end: () => mw.end(),
    });
    const mine = new Memory();
    const fw = new McapFileWriter({ writable: mine, chunkSize: 4096 });
    await writeEpisode({
      start: (h) => fw.start(h), registerSchema: (s) => fw.registerSchema(s), registerChannel: (c) => fw.registerChannel(c),
      add: (...a) => fw.addMessage(...a), addAttachment: (a) => fw.addAttachment(a), addMetadata: (m) => fw.addMetadata(m), end: () => fw.end(),
    });
    const want = ref.bytes();
    const got = mine.bytes();
    expect(want.byteLength).toBeGreaterThan(40_000); // several 4 KiB chunks
    const firstDiff = got.findIndex((b, i) => b !== want[i]);
    expect({ length: got.byteLength, firstDiff }).toEqual({ length: want.byteLength, firstDiff: -1 });

    // And @mcap/core reads it back: CRCs checked, the indexes find every message.
    const stream = new McapStreamReader({ validateCrcs: true });
    stream.append(got);
    let streamed = 0;
    for (let r; (r = stream.nextRecord()); ) if (r.type === 'Message') streamed += 1;
    const indexed = await McapIndexedReader.Initialize({ readable: { size: async () => BigInt(got.byteLength), read: async (o, n) => got.subarray(Number(o), Number(o + n)) } });
    let viaIndex = 0;
    for await (const m of indexed.readMessages({ topics: ['/reward'] })) viaIndex += m.data[0] === 7 ? 1 : 0;
    expect(indexed.chunkIndexes.length).toBeGreaterThan(5);
    expect(streamed).toBe(Number(indexed.statistics!.messageCount));
    expect(viaIndex).toBe(200); // i = 200..399
  });

  it('writes the same bytes as McapWriter for random call sequences (seeded), with writes completing late', async () => {
    let seed = 20261127;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    for (let run = 0; run < 60; run++) {
      const chunkSize = [0, 1, 100, 700, 4096, 20000][rnd(6)]!;
      type Call = (w: McapWriter | McapFileWriter) => Promise<unknown> | unknown;
      const calls: Call[] = [];
      let schemas = 0;
      let channels = 0;
      let t = 1000n;
      for (let i = 0, n = rnd(400); i < n; i++) {
        const r = rnd(100);
        const k = i;
        // Every value is drawn here, once, so both writers get the same calls.
        if (r < 4) {
          const data = new Uint8Array(rnd(50)).fill(k & 255);
          schemas += 1;
          calls.push((w) => w.registerSchema({ name: `s${k}`, encoding: 'e', data }));
        }
        else if (r < 9) {
          const schemaId = rnd(schemas + 1); // 0: a schemaless channel
          channels += 1;
          calls.push((w) => w.registerChannel({ schemaId, topic: `/c${k}`, messageEncoding: 'm', metadata: new Map([['k', String(k)]]) }));
        } else if (r < 11) {
          const a = att(`a${k}`, t);
          calls.push((w) => w.addAttachment(a));
        }
        else if (r < 13) calls.push((w) => w.addMetadata({ name: `m${k}`, metadata: new Map([['i', String(k)]]) }));
        else if (channels > 0) {
          const step = BigInt(rnd(100)) - 30n; // sometimes backwards
          t = t + step > 0n ? t + step : 0n;
          const channelId = rnd(channels);
          const data = new Uint8Array(rnd(300)).map((_, j) => (j * 7 + k) & 255);
          const logTime = t;
          calls.push((w) => (w instanceof McapWriter ? w.addMessage({ channelId, sequence: k, logTime, publishTime: 7n, data }) : w.addMessage(channelId, k, logTime, 7n, data)));
        }
      }
      const outputs: Buffer[] = [];
      for (const make of [(m: Memory) => new McapWriter({ writable: m, chunkSize }), (m: Memory) => new McapFileWriter({ writable: m, chunkSize })]) {
        const mem = new Memory();
        const writer = make(mem);
        await writer.start({ profile: 'p', library: 'l' });
        for (const call of calls) await call(writer);
        await writer.end();
        outputs.push(mem.bytes());
      }
      expect({ run, chunkSize, same: outputs[1]!.equals(outputs[0]!) }).toEqual({ run, chunkSize, same: true });
    }
  });

  it('writes the same bytes as McapWriter for an episode with no steps (closed incomplete before its first batch)', async () => {
    const ref = new Memory();
    const mw = new McapWriter({ writable: ref });
    const mine = new Memory();
    const fw = new McapFileWriter({ writable: mine });
    for (const w of [mw, fw]) {
      await w.start({ profile: '', library: 'rewardd' });
      await w.addAttachment(att('start.json', 1n));
      await w.addMetadata({ name: 'rewardd.episode', metadata: new Map([['steps', '0']]) });
      await w.end();
    }
    expect(mine.bytes().equals(ref.bytes())).toBe(true);
  });

  it('refuses what McapWriter would write wrongly: a time outside uint64, a call while a full chunk is being written', async () => {
    const fw = new McapFileWriter({ writable: new Memory(), chunkSize: 256 });
    await fw.start({ profile: '', library: 'rewardd' });
    const ch = fw.registerChannel({ schemaId: 0, topic: '/x', messageEncoding: 'json', metadata: new Map() });
    expect(() => fw.addMessage(ch, 0, -1n, 0n, new Uint8Array(4))).toThrow(/expected logTime and publishTime in 0\.\.2\^64-1 ns, found -1 and 0/);
    expect(() => fw.addMessage(ch, 0, 0n, 1n << 64n, new Uint8Array(4))).toThrow(/found 0 and 18446744073709551616/);
    let full: Promise<void> | undefined;
    for (let i = 0; !full; i++) full = fw.addMessage(ch, i, BigInt(i), 0n, new Uint8Array(100));
    expect(() => fw.addMessage(ch, 99, 99n, 0n, new Uint8Array(100))).toThrow(/await the promise the previous addMessage returned/);
    await full;
    expect(fw.addMessage(ch, 100, 100n, 0n, new Uint8Array(100))).toBeUndefined(); // fine once awaited
    await fw.end();
  });

  it('reports a failed file write from end(), not as an unhandled rejection', async () => {
    let writes = 0;
    const failing: IWritable = {
      position: () => 0n,
      write: async () => {
        if (++writes === 2) throw new Error('ENOSPC: no space left on device');
      },
    };
    const fw = new McapFileWriter({ writable: failing, chunkSize: 1024 });
    await fw.start({ profile: '', library: 'rewardd' });
    const ch = fw.registerChannel({ schemaId: 0, topic: '/x', messageEncoding: 'json', metadata: new Map() });
    const run = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) await fw.addMessage(ch, i, BigInt(i), 0n, new Uint8Array(100));
      await fw.end();
    };
    await expect(run()).rejects.toThrow(/ENOSPC/);
  });

  it('leaves no unhandled rejection when its caller gives up after a failed write (the episode writer closes and unlinks)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const fw = new McapFileWriter({ writable: { position: () => 0n, write: async () => Promise.reject(new Error('EIO')) }, chunkSize: 256 });
      const ch = fw.registerChannel({ schemaId: 0, topic: '/x', messageEncoding: 'json', metadata: new Map() });
      let i = 0;
      while (!fw.addMessage(ch, i, BigInt(i), 0n, new Uint8Array(100))) i++; // a chunk is queued; its write fails
      await new Promise((r) => setTimeout(r, 20)); // the caller failed elsewhere and never calls end()
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
