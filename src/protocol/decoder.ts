import type { ChannelInfo, Frame } from './frames.js';
import { cobsDecodeInto } from './cobs.js';
import { compileLayout, type SampleLayout } from './layout.js';
import { ParseError, parseRawFrame, type ParseResult } from './payload-decode.js';
import { MAX_ENCODED_FRAME, MAX_RAW_FRAME } from './wire.js';

export interface DecoderCounters {
  /** Good frames delivered. */
  frames: number;
  /** Bytes pushed. */
  bytes: number;
  crcErrors: number;
  /** Invalid COBS, too short, unknown type, wrong payload length, bad HELLO table. */
  malformed: number;
  /** Spans longer than MAX_ENCODED_FRAME before a delimiter: dropped up to the next 0x00. */
  oversize: number;
  /** Times a good frame followed one or more bad spans: the decoder found its footing again. */
  resyncs: number;
  /** Frames missing by sequence number (sum of the holes, not the number of holes). */
  gaps: number;
  /** Frames whose seq repeats or goes back (within half the u16 range) of the last one. Still delivered. */
  duplicates: number;
  /**
   * Good SAMPLE frames dropped because no channel table was known yet (joining
   * a stream before its HELLO). Not an error of the line: not in malformed.
   */
  noChannels: number;
  /** Exceptions thrown by the onFrame callback (caught so the stream keeps going). */
  sinkErrors: number;
}

/**
 * The MCU -> host stream decoder: bytes in, frames and counters out, no I/O.
 *
 * Bound: at most MAX_ENCODED_FRAME (515) bytes of a partial frame are held
 * between pushes; a longer span is dropped and counted as oversize. Frames
 * that sit wholly inside a pushed chunk are decoded straight from the chunk
 * (no copy of the encoded bytes), through one reused raw buffer.
 *
 * Sequence numbers: a HELLO restarts tracking (an MCU reboot resets seq).
 * Out-of-order and duplicate frames are delivered and counted; the consumer
 * decides what a stale sample means for it.
 */
export class FrameDecoder {
  private readonly pending = new Uint8Array(MAX_ENCODED_FRAME);
  private pendingLen = 0;
  /** Dropping bytes of an oversize span until the next delimiter. */
  private skipping = false;
  private readonly raw = new Uint8Array(MAX_RAW_FRAME);
  private readonly rawView = new DataView(this.raw.buffer);
  private readonly result: ParseResult = { why: ParseError.NONE, detail: '', layout: null };
  private layout: SampleLayout | null = null;
  private lastSeq = -1;
  /**
   * Gaps and duplicates are counted from a HELLO (or setChannels) on: before
   * it we joined a stream mid-way and its holes are the sender's history
   * (e.g. samples an MCU dropped while no host was reading), not our losses.
   */
  private tracking = false;
  private badSinceGood = false;
  private c: DecoderCounters = FrameDecoder.zero();
  private lastErr = '';
  private lastSinkErr: unknown = undefined;

  private static zero(): DecoderCounters {
    return { frames: 0, bytes: 0, crcErrors: 0, malformed: 0, oversize: 0, resyncs: 0, gaps: 0, duplicates: 0, noChannels: 0, sinkErrors: 0 };
  }

  /** Optionally start with a known table (e.g. a board whose HELLO was missed). Throws E_PROTOCOL on a bad table. */
  constructor(channels?: readonly ChannelInfo[]) {
    if (channels !== undefined) this.setChannels(channels);
  }

  /** Use this channel table for SAMPLE frames until the next HELLO. Throws E_PROTOCOL on a bad table. */
  setChannels(channels: readonly ChannelInfo[]): void {
    this.layout = compileLayout(channels);
    this.tracking = true;
  }

  /** The channel table in use, or null before the first HELLO / setChannels. */
  get channels(): readonly ChannelInfo[] | null {
    return this.layout === null ? null : this.layout.channels;
  }

  /** Detail of the most recent bad frame ("" if none): for logs, not for control flow. */
  get lastError(): string {
    return this.lastErr;
  }

  get lastSinkError(): unknown {
    return this.lastSinkErr;
  }

  counters(): DecoderCounters {
    return { ...this.c };
  }

  resetCounters(): void {
    this.c = FrameDecoder.zero();
  }

  /**
   * Forget any partial frame and sequence history (after a reconnect): gap
   * counting resumes at the next HELLO. Keeps the channel table and counters.
   */
  resetStream(): void {
    this.pendingLen = 0;
    this.skipping = false;
    this.lastSeq = -1;
    this.tracking = false;
  }

  /** Feed bytes; onFrame is called synchronously for every good frame. Never throws. */
  push(chunk: Uint8Array, onFrame: (f: Frame) => void): void {
    const n = chunk.length;
    this.c.bytes += n;
    let pos = 0;
    while (pos < n) {
      const z = chunk.indexOf(0, pos);
      if (z < 0) {
        this.hold(chunk, pos, n);
        return;
      }
      if (this.skipping) {
        this.skipping = false;
      } else if (this.pendingLen === 0) {
        if (z > pos) this.decodeSpan(chunk, pos, z, onFrame);
      } else {
        if (this.hold(chunk, pos, z)) this.decodeSpan(this.pending, 0, this.pendingLen, onFrame);
        this.pendingLen = 0;
        this.skipping = false;
      }
      pos = z + 1;
    }
  }

  /** Keep a partial frame; false (and oversize counted) when it would exceed the bound. */
  private hold(src: Uint8Array, start: number, end: number): boolean {
    if (this.skipping) return false;
    const len = end - start;
    if (this.pendingLen + len > MAX_ENCODED_FRAME) {
      this.c.oversize++;
      this.badSinceGood = true;
      this.lastErr = `expected a frame of <= ${MAX_ENCODED_FRAME} encoded bytes, found more before a delimiter`;
      this.pendingLen = 0;
      this.skipping = true;
      return false;
    }
    this.pending.set(src.subarray(start, end), this.pendingLen);
    this.pendingLen += len;
    return true;
  }

  private decodeSpan(src: Uint8Array, start: number, end: number, onFrame: (f: Frame) => void): void {
    if (end - start > MAX_ENCODED_FRAME) {
      this.c.oversize++;
      this.fail(`expected a frame of <= ${MAX_ENCODED_FRAME} encoded bytes, found ${end - start}`);
      return;
    }
    const len = cobsDecodeInto(src, start, end, this.raw, true); // spans are cut at 0x00: none inside
    if (len < 0) {
      this.c.malformed++;
      this.fail('expected valid COBS, found a code running past the frame');
      return;
    }
    const r = this.result;
    const f = parseRawFrame(this.raw, len, this.rawView, this.layout, r);
    if (f === null) {
      if (r.why === ParseError.NO_LAYOUT) {
        this.c.noChannels++;
        this.lastErr = r.detail;
        return;
      }
      if (r.why === ParseError.CRC) this.c.crcErrors++;
      else this.c.malformed++;
      this.fail(r.detail);
      return;
    }
    if (r.layout !== null) {
      this.layout = r.layout;
      this.lastSeq = -1;
      this.tracking = true;
    }
    this.track(f.seq);
    this.c.frames++;
    if (this.badSinceGood) {
      this.c.resyncs++;
      this.badSinceGood = false;
    }
    try {
      onFrame(f);
    } catch (e) {
      this.c.sinkErrors++;
      this.lastSinkErr = e;
    }
  }

  private track(seq: number): void {
    if (!this.tracking) return;
    if (this.lastSeq >= 0) {
      const d = (seq - this.lastSeq - 1) & 0xffff;
      if (d >= 0x8000) {
        this.c.duplicates++;
        return; // never move the reference backwards
      }
      this.c.gaps += d;
    }
    this.lastSeq = seq;
  }

  private fail(detail: string): void {
    this.badSinceGood = true;
    this.lastErr = detail;
  }
}
