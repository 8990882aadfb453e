import { crc32 } from 'node:zlib';
import { McapRecordBuilder, Opcode, type IWritable, type McapTypes } from '@mcap/core';

/**
 * An MCAP writer for the recorder's episode files that produces the same bytes as
 * @mcap/core's McapWriter with its default options (chunked, 1 MiB chunks, uncompressed,
 * message indexes, chunk/attachment/metadata indexes, statistics, summary offsets, repeated
 * schemas and channels); test/recorder/mcap-file-writer.test.ts compares the two byte for byte.
 *
 * Why not McapWriter itself: an episode file holds three messages per step, and McapWriter's
 * generic path cost ~6 µs of CPU per step here (200,000 steps of the transport bench's shape
 * took 1.2 s to write, this writer 0.6 s): a promise per message, BigInt arithmetic for every
 * counter and index offset, CRC-32 in JavaScript over every byte twice, and four copies of each
 * 1 MiB chunk. Here a message is a handful of DataView writes into the chunk buffer, counters
 * and index offsets are plain numbers until a chunk is written, the CRCs use zlib's native
 * crc32, and a full chunk goes to disk as [record head, chunk] with no copy while the next
 * chunk fills the other buffer. Every record other than a message is still built by
 * @mcap/core's McapRecordBuilder. The writer counts file positions itself (it does not call
 * IWritable.position()).
 *
 * Bound: two chunk buffers (chunkSize + 64 KiB each, or chunkSize plus the largest message:
 * one filling, one being written), plus the summary (one index entry per chunk, attachment and metadata record).
 */
export interface McapFileWriterOptions {
  writable: IWritable;
  /** A chunk is written once it holds more than this many bytes (McapWriter's rule). */
  chunkSize?: number;
}

interface ChannelIndex {
  channelId: number;
  /** logTime of each message of this channel in the current chunk. */
  times: bigint[];
  /** Offset of each message inside the chunk's records. */
  offsets: number[];
}

const MESSAGE_HEAD = 1 + 8 + 2 + 4 + 8 + 8;
const U64_MAX = (1n << 64n) - 1n;
/** Room past chunkSize for the message that makes a chunk full, so a chunk buffer rarely grows. */
const CHUNK_HEADROOM = 64 * 1024;

export class McapFileWriter {
  private readonly out: IWritable;
  private readonly chunkSize: number;
  private readonly rb = new McapRecordBuilder();
  private dataCrc = 0;
  private readonly schemas = new Map<number, McapTypes.Schema>();
  private readonly channels = new Map<number, McapTypes.Channel>();
  private readonly writtenSchemas = new Set<number>();
  private readonly writtenChannels = new Set<number>();
  private nextSchemaId = 1;
  private nextChannelId = 0;
  private readonly chunkIndexes: McapTypes.ChunkIndex[] = [];
  private readonly attachmentIndexes: McapTypes.AttachmentIndex[] = [];
  private readonly metadataIndexes: McapTypes.MetadataIndex[] = [];
  // Statistics, as numbers until the summary is written.
  private messageCount = 0;
  private chunkCount = 0;
  private attachmentCount = 0;
  private metadataCount = 0;
  private firstLogTime = 0n;
  private lastLogTime = 0n;
  private readonly perChannel = new Map<number, number>();
  // The open chunk.
  // Sized on first use (chunkSize plus headroom for the message that overflows it).
  private chunk = Buffer.alloc(0);
  private view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
  private chunkBytes = 0;
  private chunkMessages = 0;
  private chunkStart = 0n;
  private chunkEnd = 0n;
  /** In the order McapWriter's ChunkBuilder keeps them: first channel written, then first message. */
  private readonly indexes = new Map<number, ChannelIndex>();
  /** The chunk being written to disk while the next one fills (two chunk buffers at most). */
  private spare = Buffer.alloc(0);
  /** A full chunk is being handed to the write chain: another call now would corrupt it. */
  private flushing = false;
  /** File writes run one after another on this chain; `pos` counts the bytes queued on it. */
  private writing: Promise<void> = Promise.resolve();
  private pos = 0n;

  constructor(o: McapFileWriterOptions) {
    this.out = o.writable;
    this.chunkSize = o.chunkSize ?? 1024 * 1024;
  }

  async start(header: McapTypes.Header): Promise<void> {
    this.rb.writeMagic();
    this.rb.writeHeader(header);
    await this.emitData(this.rb.buffer);
  }

  registerSchema(info: Omit<McapTypes.Schema, 'id'>): number {
    const id = this.nextSchemaId++;
    this.schemas.set(id, { ...info, id });
    return id;
  }

  registerChannel(info: Omit<McapTypes.Channel, 'id'>): number {
    const id = this.nextChannelId++;
    this.channels.set(id, { ...info, id });
    return id;
  }

  /**
   * Adds one message. Returns a promise only when the message filled the chunk and the chunk is
   * being written (await it before the next call); otherwise undefined, so the per-message path
   * costs no promise. `data` is copied before the call returns.
   */
  addMessage(channelId: number, sequence: number, logTime: bigint, publishTime: bigint, data: Uint8Array): Promise<void> | undefined {
    this.notFlushing('addMessage');
    // McapWriter's DataView would wrap these silently; a file with wrapped times sorts wrongly.
    if (logTime < 0n || logTime > U64_MAX || publishTime < 0n || publishTime > U64_MAX) {
      throw new RangeError(`McapFileWriter.addMessage: expected logTime and publishTime in 0..2^64-1 ns, found ${logTime} and ${publishTime}`);
    }
    if (!this.writtenChannels.has(channelId)) this.writeChannelRecords(channelId);
    if (this.chunkMessages === 0 || logTime < this.chunkStart) this.chunkStart = logTime;
    if (this.chunkMessages === 0 || logTime > this.chunkEnd) this.chunkEnd = logTime;
    if (this.messageCount === 0 || logTime < this.firstLogTime) this.firstLogTime = logTime;
    if (this.messageCount === 0 || logTime > this.lastLogTime) this.lastLogTime = logTime;
    this.messageCount += 1;
    this.chunkMessages += 1;
    this.perChannel.set(channelId, (this.perChannel.get(channelId) ?? 0) + 1);
    let index = this.indexes.get(channelId);
    if (!index) this.indexes.set(channelId, (index = { channelId, times: [], offsets: [] }));
    index.times.push(logTime);
    index.offsets.push(this.chunkBytes);

    const at = this.reserve(MESSAGE_HEAD + data.byteLength);
    const v = this.view;
    v.setUint8(at, Opcode.MESSAGE);
    v.setBigUint64(at + 1, BigInt(MESSAGE_HEAD - 9 + data.byteLength), true);
    v.setUint16(at + 9, channelId, true);
    v.setUint32(at + 11, sequence, true);
    v.setBigUint64(at + 15, logTime, true);
    v.setBigUint64(at + 23, publishTime, true);
    this.chunk.set(data, at + MESSAGE_HEAD);
    return this.chunkBytes > this.chunkSize ? this.finishChunk() : undefined;
  }

  async addAttachment(a: McapTypes.Attachment): Promise<void> {
    this.notFlushing('addAttachment');
    const length = this.rb.writeAttachment(a);
    this.attachmentCount += 1;
    this.attachmentIndexes.push({
      logTime: a.logTime, createTime: a.createTime, name: a.name, mediaType: a.mediaType,
      offset: this.pos, dataSize: BigInt(a.data.byteLength), length,
    });
    await this.emitData(this.rb.buffer);
  }

  async addMetadata(m: McapTypes.Metadata): Promise<void> {
    this.notFlushing('addMetadata');
    const length = this.rb.writeMetadata(m);
    this.metadataCount += 1;
    this.metadataIndexes.push({ name: m.name, offset: this.pos, length });
    await this.emitData(this.rb.buffer);
  }

  /** Writes the last chunk, the data end and the summary (schemas, channels, statistics, indexes, offsets) and the footer. */
  async end(): Promise<void> {
    this.notFlushing('end');
    await this.finishChunk();
    this.rb.writeDataEnd({ dataSectionCrc: this.dataCrc });
    await this.emit(this.rb.buffer);
    const summaryStart = this.pos;
    const offsets: McapTypes.SummaryOffset[] = [];
    const summary = new McapRecordBuilder();
    const group = (groupOpcode: Opcode, write: () => bigint): void => {
      const groupStart = summaryStart + BigInt(summary.length);
      const groupLength = write();
      offsets.push({ groupOpcode, groupStart, groupLength });
    };
    let n = 0n;
    group(Opcode.SCHEMA, () => ((n = 0n), this.schemas.forEach((s) => (n += summary.writeSchema(s))), n));
    group(Opcode.CHANNEL, () => ((n = 0n), this.channels.forEach((c) => (n += summary.writeChannel(c))), n));
    group(Opcode.STATISTICS, () => summary.writeStatistics(this.statistics()));
    group(Opcode.METADATA_INDEX, () => ((n = 0n), this.metadataIndexes.forEach((m) => (n += summary.writeMetadataIndex(m))), n));
    group(Opcode.ATTACHMENT_INDEX, () => ((n = 0n), this.attachmentIndexes.forEach((a) => (n += summary.writeAttachmentIndex(a))), n));
    group(Opcode.CHUNK_INDEX, () => ((n = 0n), this.chunkIndexes.forEach((c) => (n += summary.writeChunkIndex(c))), n));
    const summaryOffsetStart = summaryStart + BigInt(summary.length);
    for (const o of offsets) if (o.groupLength !== 0n) summary.writeSummaryOffset(o);
    const summaryStartField = summaryOffsetStart === summaryStart ? 0n : summaryStart;
    summary.writeFooter({ summaryStart: summaryStartField, summaryOffsetStart, summaryCrc: 0 });
    // The summary CRC covers the summary section and the footer up to (not including) the CRC.
    const bytes = summary.buffer;
    const crc = crc32(bytes.subarray(0, bytes.byteLength - 4));
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(bytes.byteLength - 4, crc, true);
    summary.reset();
    summary.writeMagic();
    await this.emit(bytes);
    await this.emit(summary.buffer);
    await this.writing;
  }

  private statistics(): McapTypes.Statistics {
    return {
      messageCount: BigInt(this.messageCount),
      schemaCount: this.schemas.size,
      channelCount: this.channels.size,
      attachmentCount: this.attachmentCount,
      metadataCount: this.metadataCount,
      chunkCount: this.chunkCount,
      messageStartTime: this.firstLogTime,
      messageEndTime: this.lastLogTime,
      channelMessageCounts: new Map([...this.perChannel].map(([id, count]) => [id, BigInt(count)])),
    };
  }

  /** A channel's schema (once) and channel record go into the chunk before its first message, as McapWriter does. */
  private writeChannelRecords(channelId: number): void {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`McapFileWriter.addMessage: no channel ${channelId} was registered`);
    const rb = new McapRecordBuilder();
    if (channel.schemaId !== 0 && !this.writtenSchemas.has(channel.schemaId)) {
      const schema = this.schemas.get(channel.schemaId);
      if (!schema) throw new Error(`McapFileWriter.addMessage: channel ${channelId} names schema ${channel.schemaId}, which was not registered`);
      rb.writeSchema(schema);
      this.writtenSchemas.add(channel.schemaId);
    }
    if (!this.indexes.has(channelId)) this.indexes.set(channelId, { channelId, times: [], offsets: [] });
    rb.writeChannel(channel);
    this.writtenChannels.add(channelId);
    const records = rb.buffer;
    const at = this.reserve(records.byteLength); // before reading this.chunk: reserve may replace it
    this.chunk.set(records, at);
  }

  /** Every call must await the previous one's promise (as with McapWriter); this catches the one that did not. */
  private notFlushing(call: string): void {
    if (this.flushing) throw new Error(`McapFileWriter.${call}: called while a full chunk is being written; await the promise the previous addMessage returned`);
  }

  /** Room for `bytes` more at the end of the chunk; returns where they go. */
  private reserve(bytes: number): number {
    const at = this.chunkBytes;
    if (at + bytes > this.chunk.byteLength) {
      const grown = Buffer.allocUnsafe(Math.max(this.chunk.byteLength * 2, this.chunkSize + CHUNK_HEADROOM, at + bytes));
      this.chunk.copy(grown, 0, 0, at);
      this.chunk = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    }
    this.chunkBytes = at + bytes;
    return at;
  }

  private async finishChunk(): Promise<void> {
    if (this.chunkMessages === 0) return;
    this.flushing = true;
    this.chunkCount += 1;
    const records = this.chunk.subarray(0, this.chunkBytes);
    const size = BigInt(records.byteLength);
    // Chunk record head: opcode, length, start, end, uncompressed size, CRC, compression "", records length.
    const head = Buffer.allocUnsafe(1 + 8 + 8 + 8 + 8 + 4 + 4 + 8);
    head.writeUInt8(Opcode.CHUNK, 0);
    head.writeBigUInt64LE(BigInt(head.byteLength - 9) + size, 1);
    head.writeBigUInt64LE(this.chunkStart, 9);
    head.writeBigUInt64LE(this.chunkEnd, 17);
    head.writeBigUInt64LE(size, 25);
    head.writeUInt32LE(crc32(records), 33);
    head.writeUInt32LE(0, 37);
    head.writeBigUInt64LE(size, 41);
    const chunkStartOffset = this.pos;
    // The previous chunk's buffer is free once its write is done; this chunk is written while
    // the caller fills the other buffer (disk time no longer adds to encoding time).
    await this.writing;
    void this.emitData(head);
    void this.emitData(records);
    [this.chunk, this.spare] = [this.spare, this.chunk];
    this.flushing = false;
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);

    const messageIndexStart = this.pos;
    const messageIndexOffsets = new Map<number, bigint>();
    let messageIndexLength = 0n;
    for (const ix of this.indexes.values()) {
      messageIndexOffsets.set(ix.channelId, messageIndexStart + messageIndexLength);
      messageIndexLength += this.rb.writeMessageIndex({ channelId: ix.channelId, records: ix.times.map((t, i) => [t, BigInt(ix.offsets[i]!)]) });
    }
    this.chunkIndexes.push({
      messageStartTime: this.chunkStart, messageEndTime: this.chunkEnd, chunkStartOffset,
      chunkLength: BigInt(head.byteLength) + size, messageIndexOffsets, messageIndexLength,
      compression: '', compressedSize: size, uncompressedSize: size,
    });
    this.indexes.clear();
    this.chunkBytes = 0;
    this.chunkMessages = 0;
    this.chunkStart = 0n;
    this.chunkEnd = 0n;
    void this.emitData(this.rb.buffer);
  }

  /** Queues bytes of the data section (they count in its CRC); see emit. */
  private emitData(bytes: Uint8Array): Promise<void> {
    this.dataCrc = crc32(bytes, this.dataCrc);
    return this.emit(bytes);
  }

  /**
   * Queues a write after the ones before it and clears the record builder (`bytes` must not be
   * the builder's memory: its `buffer` getter returns a copy). The returned promise settles with
   * this write; a failed write also fails every later one, so the error reaches end().
   */
  private emit(bytes: Uint8Array): Promise<void> {
    this.rb.reset();
    this.pos += BigInt(bytes.byteLength);
    if (bytes.byteLength > 0) this.writing = this.writing.then(async () => void (await this.out.write(bytes)));
    this.writing.catch(() => {}); // awaited later; this only keeps a failure from being "unhandled" meanwhile
    return this.writing;
  }
}
