import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { systemClock, type Clock } from '../core/clock.js';
import { RewarddError } from '../core/errors.js';
import { encodeFrameInto } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/decoder.js';
import { PROTOCOL_VERSION, type ChannelInfo, type Frame, type HelloFrame } from '../protocol/frames.js';
import { MAX_ENCODED_FRAME } from '../protocol/wire.js';
import type { Link, LinkCounters, LinkSink } from './link.js';
import { FIRMATA_BAUD, firmataOnTty } from './firmata-tty.js';
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
   * Serial path of a StandardFirmata board, optionally with `?map=<mapping.json>[&baud=N]`
   * (the form `--link johnny-five:/dev/ttyACM0?map=robots/rover.johnny-five.json` gives; baud
   * default 57600, StandardFirmata's).
   */
  readonly port?: string;
  readonly mapping?: J5Mapping;
  /** An IO plugin instead of a port (tests pass mock-firmata here). One instance: no reconnect after a loss. */
  readonly io?: unknown;
  /** Makes a fresh IO plugin per connection (first and every reconnect), instead of `io` or `port`. */
  readonly ioFactory?: () => unknown;
  /** open() rejects, and a reconnect attempt is given up, when the board is not ready within this. Default 10000 ms. */
  readonly openTimeoutMs?: number;
  /** Reconnect backoff after a loss: first delay, doubling up to the max, like the serial link. Defaults 100 and 2000 ms. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly clock?: Clock;
}

export const JOHNNY_FIVE_DEFAULTS = { openTimeoutMs: 10_000, reconnectMinMs: 100, reconnectMaxMs: 2000 };

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
 *
 * A lost board (close, disconnect or error from johnny-five) is reported and
 * reconnected with backoff, as the serial link does: a new johnny-five Board on
 * the same port (or from `ioFactory`), its components built again, then a new
 * HELLO with a new boot id, because a Firmata board's pin setup does not survive
 * a reconnect (opening the port resets most Arduinos): the daemon stays disarmed
 * until an explicit arm. The components of the lost board are disabled (their
 * polling timers stopped). A port path that does not exist is not opened at all
 * until it exists again (an unplugged USB board).
 */
export class JohnnyFiveLink implements Link {
  readonly kind = 'johnny-five';
  readonly detail: Record<string, unknown>;
  private readonly mapping: J5Mapping;
  private readonly clock: Clock;
  private readonly decoder = new FrameDecoder();
  private readonly wire = new Uint8Array(MAX_ENCODED_FRAME + 1);
  private readonly channels: ChannelInfo[];
  private readonly path: string;
  private readonly baudRate: number;
  private readonly timing: typeof JOHNNY_FIVE_DEFAULTS;
  private bootId = JohnnyFiveLink.newBootId();
  private parts = new Map<string, J5Part>();
  private sink: LinkSink | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private board: J5Board | null = null;
  private seq = 0;
  private armed = false;
  private lost = false;
  private closed = false;
  private attempts = 0;
  private lastCommandNs = 0n;
  private readonly c = { watchdogStops: 0, commandsHeld: 0, commandsApplied: 0, connects: 0, lost: 0, reconnectAttempts: 0 };

  constructor(private readonly o: JohnnyFiveLinkOptions) {
    const [path, query] = (o.port ?? '').split('?');
    const mapPath = new URLSearchParams(query ?? '').get('map');
    const mapping = o.mapping ?? (mapPath ? loadJ5Mapping(mapPath) : undefined);
    if (!mapping) throw new RewarddError('E_CONFIG', 'johnny-five link: expected a mapping (johnny-five:<port>?map=<file.json>), found none');
    if (!path && o.io === undefined && o.ioFactory === undefined) throw new RewarddError('E_CONFIG', 'johnny-five link: expected a port path or an io plugin, found neither');
    const d = JOHNNY_FIVE_DEFAULTS;
    const timing = { openTimeoutMs: o.openTimeoutMs ?? d.openTimeoutMs, reconnectMinMs: o.reconnectMinMs ?? d.reconnectMinMs, reconnectMaxMs: o.reconnectMaxMs ?? d.reconnectMaxMs };
    for (const [k, v] of Object.entries(timing)) {
      if (!Number.isInteger(v) || v <= 0) throw new RewarddError('E_CONFIG', `johnny-five link ${k}: expected a positive integer, found ${String(v)}`);
    }
    if (timing.reconnectMinMs > timing.reconnectMaxMs) throw new RewarddError('E_CONFIG', `johnny-five link: expected reconnectMinMs <= reconnectMaxMs, found ${timing.reconnectMinMs} > ${timing.reconnectMaxMs}`);
    this.timing = timing;
    this.mapping = mapping;
    this.path = path ?? '';
    const baud = new URLSearchParams(query ?? '').get('baud');
    this.baudRate = baud === null ? FIRMATA_BAUD : Number(baud);
    if (!Number.isInteger(this.baudRate) || this.baudRate <= 0) throw new RewarddError('E_CONFIG', `johnny-five link baud: expected a positive integer, found "${baud}"`);
    this.clock = o.clock ?? systemClock;
    this.channels = mapping.observations.map((m, id) => ({ id, name: m.name, type: 'f32' as const, count: 1, scale: 1, unit: m.unit }));
    this.detail = { port: path || '(io plugin)', ...(path ? { baudRate: this.baudRate } : {}), sampleHz: mapping.sampleHz, watchdogMs: mapping.watchdogMs, mcuWatchdog: false, reconnect: o.io === undefined || o.ioFactory !== undefined };
  }

  async open(sink: LinkSink): Promise<HelloFrame> {
    this.sink = sink;
    const board = await this.connectBoard(this.o.io);
    return this.attach(board);
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
    if (!this.lost) this.stopAll();
  }

  resetScenario(): Record<string, unknown> {
    return { kind: 'johnny-five', bootId: this.bootId };
  }

  counters(): LinkCounters {
    return { ...this.decoder.counters(), ...this.c };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.timer = this.reconnectTimer = null;
    this.disarm();
    this.closed = true;
    this.sink = null;
    return Promise.resolve();
  }

  private static newBootId(): number {
    return ((Math.random() * 0xfffffffe) >>> 0) + 1;
  }

  /** A johnny-five Board, ready; rejects with E_LINK on an error or after openTimeoutMs. */
  private connectBoard(io: unknown): Promise<J5Board> {
    const five = createRequire(import.meta.url)('johnny-five') as J5Module;
    // A port path gets Firmata over our own tty I/O (firmata-tty.ts says why not johnny-five's own serialport).
    const plugin = io ?? this.o.ioFactory?.() ?? firmataOnTty(this.path, this.baudRate);
    const timeoutMs = this.timing.openTimeoutMs;
    const board = new five.Board({ io: plugin, repl: false, debug: false, sigint: false, timeout: timeoutMs });
    return new Promise<J5Board>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        releaseBoard(board);
        // A port that cannot be opened says why in its own words (serial-open-error.ts).
        reject(e instanceof RewarddError ? e : new RewarddError('E_LINK', `johnny-five ${this.path || '(io plugin)'}: ${String((e as Error)?.message ?? e)}`));
      };
      const t = setTimeout(() => fail(new RewarddError('E_LINK', `johnny-five ${this.path || '(io plugin)'}: expected the board ready within ${timeoutMs} ms, found it not`)), timeoutMs);
      board.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        resolve(board);
      });
      board.once('error', fail);
      // johnny-five listens to its IO plugin's errors only once the board is ready; an open that fails comes before.
      const ev = plugin as { on?: (ev: string, fn: (e: unknown) => void) => void };
      if (typeof ev.on === 'function') ev.on('error', fail);
    });
  }

  /** Builds the mapping's components on a ready board, says HELLO, and starts sampling. */
  private attach(board: J5Board): HelloFrame {
    const five = createRequire(import.meta.url)('johnny-five') as J5Module;
    for (const p of this.parts.values()) disablePart(p);
    this.parts = new Map();
    for (const [id, comp] of Object.entries(this.mapping.components)) {
      const Cls = five[comp.class];
      if (typeof Cls !== 'function') throw new RewarddError('E_CONFIG', `johnny-five mapping component ${id}: expected a johnny-five class, found "${comp.class}"`);
      this.parts.set(id, new (Cls as new (o: Record<string, unknown>) => J5Part)({ ...comp.options, board }));
    }
    this.board = board;
    for (const ev of ['close', 'disconnect', 'error']) board.on(ev, (e) => this.board === board && this.onBoardLost(`board ${ev}${e instanceof Error ? `: ${e.message}` : ''}`));
    const reconnected = this.c.connects > 0;
    if (reconnected) this.bootId = JohnnyFiveLink.newBootId(); // the pins were set up afresh: a new boot, as far as the host can tell
    this.c.connects++;
    this.lost = false;
    this.attempts = 0;
    const hello: HelloFrame = {
      type: 'HELLO', seq: this.nextSeq(), timeUs: this.micros(), protocolVersion: PROTOCOL_VERSION,
      firmwareId: 'StandardFirmata via johnny-five', bootId: this.bootId, watchdogMs: 0, channels: this.channels,
    };
    let decoded: HelloFrame | null = null;
    this.transmit(hello, (f) => (decoded = f.type === 'HELLO' ? f : null));
    if (decoded === null) throw new RewarddError('E_PROTOCOL', `johnny-five HELLO did not decode: ${this.decoder.lastError}`);
    this.sink?.onHello(decoded, reconnected);
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.sample(), 1000 / this.mapping.sampleHz);
    return decoded;
  }

  private onBoardLost(reason: string): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    this.armed = false;
    this.c.lost++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const board = this.board;
    this.board = null;
    for (const p of this.parts.values()) disablePart(p);
    if (board) releaseBoard(board);
    this.sink?.onLost(reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    // One IO plugin instance cannot be opened twice: without a factory or a port there is nothing to retry.
    if (this.closed || this.reconnectTimer || (this.o.io !== undefined && this.o.ioFactory === undefined)) return;
    const delay = Math.min(this.timing.reconnectMaxMs, this.timing.reconnectMinMs * 2 ** Math.min(this.attempts, 16));
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    // An unplugged USB board has no device file: wait for it rather than open (and leak) a Board per try.
    if (this.o.ioFactory === undefined && !existsSync(this.path)) return this.scheduleReconnect();
    this.c.reconnectAttempts++;
    try {
      const board = await this.connectBoard(undefined);
      if (this.closed) return releaseBoard(board);
      this.attach(board);
    } catch {
      this.scheduleReconnect();
    }
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

/** Stops a component's own polling timer (johnny-five sensors poll on setInterval until disabled). */
function disablePart(p: J5Part): void {
  try {
    if (typeof p.disable === 'function') (p.disable as () => void)();
    if ('freq' in p) p.freq = null;
  } catch {
    // a component of a board that is gone may throw on the way out; its timer is what matters
  }
}

/** Closes what a board holds open (the serial port under Firmata), best effort. */
function releaseBoard(board: J5Board): void {
  try {
    const io = board.io as { transport?: { close?: (cb?: () => void) => void } } | null;
    io?.transport?.close?.(() => {});
  } catch {
    // already closed
  }
}
