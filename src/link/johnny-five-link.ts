import { createRequire } from 'node:module';
import { systemClock, type Clock } from '../core/clock.js';
import { RewarddError } from '../core/errors.js';
import { encodeFrameInto } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/decoder.js';
import { PROTOCOL_VERSION, type ChannelInfo, type Frame, type HelloFrame } from '../protocol/frames.js';
import { MAX_ENCODED_FRAME } from '../protocol/wire.js';
import type { Link, LinkCounters, LinkSink } from './link.js';
import { loadJ5Mapping, type J5Mapping } from './johnny-five-mapping.js';

/** The part of johnny-five this link uses (the package ships no types). */
interface J5Board {
  on(ev: string, fn: (...a: unknown[]) => void): void;
  once(ev: string, fn: (...a: unknown[]) => void): void;
  io: unknown;
}
interface J5Module {
  Board: new (o: Record<string, unknown>) => J5Board;
  [cls: string]: unknown;
}
type J5Part = Record<string, unknown> & { forward?: (s: number) => void; reverse?: (s: number) => void; stop?: () => void; to?: (d: number) => void };

export interface JohnnyFiveLinkOptions {
  /**
   * Serial path of a StandardFirmata board, optionally with `?map=<mapping.json>`
   * (the form `--link johnny-five:/dev/ttyACM0?map=robots/rover.johnny-five.json` gives).
   */
  readonly port?: string;
  readonly mapping?: J5Mapping;
  /** An IO plugin instead of a port (tests pass mock-firmata here). */
  readonly io?: unknown;
  /** open() rejects when the board is not ready within this. Default 10000 ms. */
  readonly openTimeoutMs?: number;
  readonly clock?: Clock;
}

/**
 * A StandardFirmata board through johnny-five. The firmware is not ours, so
 * this link synthesises the protocol on the host: a HELLO built from the
 * mapping (one f32 channel per observation, already scaled) and SAMPLE frames
 * at sampleHz, passed through the real encoder and FrameDecoder so consumers
 * see exactly what the serial link delivers.
 *
 * Safety, said plainly: StandardFirmata has NO MCU-side watchdog. This link
 * stops the motors itself when no command came for watchdogMs (host-side, so
 * it cannot help when the host hangs), on disarm, on close and on board loss.
 * Lost boards are reported; there is no reconnect (restart the daemon).
 */
export class JohnnyFiveLink implements Link {
  readonly kind = 'johnny-five';
  readonly detail: Record<string, unknown>;
  private readonly mapping: J5Mapping;
  private readonly clock: Clock;
  private readonly decoder = new FrameDecoder();
  private readonly wire = new Uint8Array(MAX_ENCODED_FRAME + 1);
  private readonly channels: ChannelInfo[];
  private readonly bootId = ((Math.random() * 0xfffffffe) >>> 0) + 1;
  private parts = new Map<string, J5Part>();
  private sink: LinkSink | null = null;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private armed = false;
  private lost = false;
  private lastCommandNs = 0n;
  private readonly c = { watchdogStops: 0, commandsHeld: 0, commandsApplied: 0 };

  constructor(private readonly o: JohnnyFiveLinkOptions) {
    const [path, query] = (o.port ?? '').split('?');
    const mapPath = new URLSearchParams(query ?? '').get('map');
    const mapping = o.mapping ?? (mapPath ? loadJ5Mapping(mapPath) : undefined);
    if (!mapping) throw new RewarddError('E_CONFIG', 'johnny-five link: expected a mapping (johnny-five:<port>?map=<file.json>), found none');
    if (!path && o.io === undefined) throw new RewarddError('E_CONFIG', 'johnny-five link: expected a port path or an io plugin, found neither');
    this.mapping = mapping;
    this.clock = o.clock ?? systemClock;
    this.channels = mapping.observations.map((m, id) => ({ id, name: m.name, type: 'f32' as const, count: 1, scale: 1, unit: m.unit }));
    this.detail = { port: path || '(io plugin)', sampleHz: mapping.sampleHz, watchdogMs: mapping.watchdogMs, mcuWatchdog: false };
  }

  async open(sink: LinkSink): Promise<HelloFrame> {
    this.sink = sink;
    const five = createRequire(import.meta.url)('johnny-five') as J5Module;
    const [path] = (this.o.port ?? '').split('?');
    const board = new five.Board({ ...(this.o.io !== undefined ? { io: this.o.io } : { port: path }), repl: false, debug: false, timeout: this.o.openTimeoutMs ?? 10_000 });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new RewarddError('E_LINK', `johnny-five ${path}: expected the board ready within ${this.o.openTimeoutMs ?? 10_000} ms, found it not`)), this.o.openTimeoutMs ?? 10_000);
      board.once('ready', () => (clearTimeout(t), resolve()));
      board.once('error', (e) => (clearTimeout(t), reject(new RewarddError('E_LINK', `johnny-five ${path}: ${String((e as Error)?.message ?? e)}`))));
    });
    for (const [id, comp] of Object.entries(this.mapping.components)) {
      const Cls = five[comp.class];
      if (typeof Cls !== 'function') throw new RewarddError('E_CONFIG', `johnny-five mapping component ${id}: expected a johnny-five class, found "${comp.class}"`);
      this.parts.set(id, new (Cls as new (o: Record<string, unknown>) => J5Part)({ ...comp.options, board }));
    }
    for (const ev of ['close', 'disconnect', 'error']) board.on(ev, (e) => this.onBoardLost(`board ${ev}${e instanceof Error ? `: ${e.message}` : ''}`));
    const hello: HelloFrame = {
      type: 'HELLO', seq: this.nextSeq(), timeUs: this.micros(), protocolVersion: PROTOCOL_VERSION,
      firmwareId: 'StandardFirmata via johnny-five', bootId: this.bootId, watchdogMs: 0, channels: this.channels,
    };
    let decoded: HelloFrame | null = null;
    this.transmit(hello, (f) => (decoded = f.type === 'HELLO' ? f : null));
    if (decoded === null) throw new RewarddError('E_PROTOCOL', `johnny-five HELLO did not decode: ${this.decoder.lastError}`);
    sink.onHello(decoded, false);
    this.timer = setInterval(() => this.sample(), 1000 / this.mapping.sampleHz);
    return decoded;
  }

  poll(nowNs: bigint): void {
    this.watchdog(nowNs);
  }

  sendCommand(values: Float32Array): void {
    if (!this.armed || this.lost) {
      this.c.commandsHeld++;
      return;
    }
    this.lastCommandNs = this.clock.nowNs();
    this.mapping.actions.forEach((a, i) => this.drive(a.to, values[i] ?? 0, a.center, a.range));
    this.c.commandsApplied++;
  }

  arm(): void {
    if (this.lost) return;
    this.armed = true;
    this.lastCommandNs = this.clock.nowNs();
  }

  disarm(): void {
    this.armed = false;
    this.stopAll();
  }

  resetScenario(): Record<string, unknown> {
    return { kind: 'johnny-five', bootId: this.bootId };
  }

  counters(): LinkCounters {
    return { ...this.decoder.counters(), ...this.c };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.disarm();
    this.sink = null;
    return Promise.resolve();
  }

  private drive(partId: string, v: number, center: number, range: number): void {
    const p = this.parts.get(partId);
    if (!p) return;
    const x = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
    if (typeof p.to === 'function' && typeof p.forward !== 'function') p.to(center + x * range);
    else if (x > 0) p.forward?.(Math.round(x * 255));
    else if (x < 0) p.reverse?.(Math.round(-x * 255));
    else p.stop?.();
  }

  private stopAll(): void {
    for (const a of this.mapping.actions) this.drive(a.to, 0, a.center, a.range);
  }

  private watchdog(nowNs: bigint): void {
    if (this.armed && Number(nowNs - this.lastCommandNs) / 1e6 > this.mapping.watchdogMs) {
      this.armed = false; // like our firmware: stopped and disarmed until an explicit arm
      this.stopAll();
      this.c.watchdogStops++;
      this.sink?.onFrame({ type: 'FAULT', seq: this.nextSeq(), timeUs: this.micros(), code: 1, message: `host-side watchdog: no command for ${this.mapping.watchdogMs} ms` }, nowNs);
    }
  }

  private sample(): void {
    this.watchdog(this.clock.nowNs());
    const values = this.mapping.observations.map((m) => {
      if ('constant' in m) return m.constant;
      let v: unknown = this.parts.get(m.from);
      for (const k of m.read.split('.')) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[k];
      return typeof v === 'number' && Number.isFinite(v) ? v * m.scale + m.offset : NaN;
    });
    this.transmit({ type: 'SAMPLE', seq: this.nextSeq(), timeUs: this.micros(), values });
  }

  private onBoardLost(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.armed = false;
    if (this.timer) clearInterval(this.timer);
    this.sink?.onLost(reason);
  }

  private transmit(frame: Frame, direct?: (f: Frame) => void): void {
    const n = encodeFrameInto(frame, this.wire, 0, this.channels);
    const now = this.clock.nowNs();
    this.decoder.push(this.wire.subarray(0, n), (f) => (direct ? direct(f) : this.sink?.onFrame(f, now)));
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    return s;
  }

  private micros(): number {
    return Number((this.clock.nowNs() / 1000n) & 0xffffffffn);
  }
}
