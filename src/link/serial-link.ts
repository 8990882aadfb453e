import { systemClock, type Clock } from '../core/clock.js';
import { RewarddError } from '../core/errors.js';
import { encodeFrame } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/decoder.js';
import { PROTOCOL_VERSION, type Frame, type HelloFrame } from '../protocol/frames.js';
import { FaultCode, HeartbeatStatus } from '../protocol/wire.js';
import type { Link, LinkCounters, LinkSink } from './link.js';
import { normalizeSerialOptions, type SerialLinkOptions } from './serial-options.js';
import { SerialOpenError } from './serial-open-error.js';
import { TtyPort } from './serial-tty.js';

type State = 'idle' | 'connecting' | 'connected' | 'lost' | 'closed';

/**
 * A microcontroller running our firmware (firmware-bridge/) on a serial port
 * (opened by serialport 13's native binding, read and written on this thread:
 * see serial-tty.ts for why that matters in the control worker).
 *
 * Liveness is judged by silence, not by close events: a USB unplug often
 * emits none. No valid frame for rxSilenceMs -> onLost, port closed, reopened
 * with backoff (the same path keeps working for /dev/serial/by-id names).
 * After (re)opening the host stays silent until the MCU's HELLO (the MCU
 * repeats HELLO every 500 ms while it hears nothing), then heartbeats.
 * A new boot id means the MCU rebooted: reported, and the link stays
 * disarmed until arm() is called again. COMMANDs are only sent while armed.
 */
export class SerialLink implements Link {
  readonly kind = 'serial';
  readonly detail: Record<string, unknown>;
  readonly options: SerialLinkOptions;
  private readonly clock: Clock;
  private readonly decoder = new FrameDecoder();
  private port: TtyPort | null = null;
  private opening = 0;
  private sink: LinkSink | null = null;
  private state: State = 'idle';
  private helloThisConnection = false;
  private lastHello: HelloFrame | null = null;
  private lastRxNs = 0n;
  private armed = false;
  private seq = 0;
  private attempts = 0;
  private timer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Why the last open failed (named in the HELLO timeout when no open ever succeeded). */
  private lastOpenError: string | null = null;
  private openWaiter: { resolve: (h: HelloFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private readonly c = {
    connects: 0, lost: 0, reboots: 0, txFrames: 0, txDropped: 0, commandsHeld: 0,
    preHelloFrames: 0, mcuWatchdogTrips: 0, mcuFaults: 0, lastFaultCode: 0,
  };

  constructor(options: Partial<SerialLinkOptions> & { path: string }, clock: Clock = systemClock) {
    this.options = normalizeSerialOptions(options);
    this.clock = clock;
    this.detail = { path: this.options.path, baudRate: this.options.baudRate, rxSilenceMs: this.options.rxSilenceMs, heartbeatMs: this.options.heartbeatMs };
  }

  open(sink: LinkSink): Promise<HelloFrame> {
    if (this.state !== 'idle') return Promise.reject(new RewarddError('E_LINK', `serial ${this.options.path}: expected a fresh link, found it ${this.state}`));
    this.sink = sink;
    return new Promise<HelloFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.openWaiter = null;
        const why = this.c.connects === 0 && this.lastOpenError ? ` (the port never opened: ${this.lastOpenError})` : this.decoder.lastError ? ` (last decode error: ${this.decoder.lastError})` : '';
        void this.close();
        reject(new RewarddError('E_LINK', `serial ${this.options.path}: expected a HELLO within ${this.options.openTimeoutMs} ms, found none${why}`));
      }, this.options.openTimeoutMs);
      this.openWaiter = { resolve, reject, timer };
      this.timer = setInterval(() => this.onTimer(), this.options.heartbeatMs);
      this.connect();
    });
  }

  poll(nowNs: bigint): void {
    this.checkSilence(nowNs);
  }

  sendCommand(values: Float32Array): void {
    if (!this.armed || !this.helloThisConnection) {
      this.c.commandsHeld++;
      return;
    }
    this.write({ type: 'COMMAND', seq: 0, timeUs: 0, values: Array.from(values) });
  }

  arm(): void {
    if (this.state !== 'connected' || !this.helloThisConnection) return; // nothing to arm; the caller re-arms after onHello
    this.armed = true;
    this.write({ type: 'ARM', seq: 0, timeUs: 0 });
  }

  disarm(): void {
    this.armed = false;
    if (this.state === 'connected') this.write({ type: 'DISARM', seq: 0, timeUs: 0 });
  }

  resetScenario(): Record<string, unknown> {
    return { kind: 'serial', path: this.options.path, bootId: this.lastHello?.bootId ?? null };
  }

  counters(): LinkCounters {
    return { ...this.decoder.counters(), ...this.c };
  }

  /** Whether the host side believes the MCU is armed (false after any loss or reboot). */
  get isArmed(): boolean {
    return this.armed;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'connected') this.write({ type: 'DISARM', seq: 0, timeUs: 0 });
    this.state = 'closed';
    this.armed = false;
    if (this.timer) clearInterval(this.timer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.timer = this.reconnectTimer = null;
    if (this.openWaiter) {
      clearTimeout(this.openWaiter.timer);
      this.openWaiter.reject(new RewarddError('E_LINK', `serial ${this.options.path}: closed before a HELLO arrived`));
      this.openWaiter = null;
    }
    this.dropPort();
    this.sink = null;
  }

  private connect(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    this.helloThisConnection = false;
    this.decoder.resetStream();
    const attempt = ++this.opening;
    TtyPort.open(this.options.path, this.options.baudRate).then(
      (port) => {
        if (attempt !== this.opening || this.state === 'closed') {
          port.close();
          return;
        }
        this.port = port;
        port.on('data', (chunk) => this.onData(port, chunk));
        port.on('close', (err) => {
          if (this.port === port) this.lose(`port closed${err ? `: ${err.message}` : ''}`);
        });
        this.c.connects++;
        this.state = 'connected';
        this.lastRxNs = this.clock.nowNs();
      },
      (e: unknown) => {
        if (attempt !== this.opening || this.state === 'closed') return;
        // At start, a device that is not there or not ours to open fails now, in one line;
        // after the link was up, it is an unplug: keep trying.
        if (e instanceof SerialOpenError && e.permanent && this.openWaiter && this.lastHello === null) {
          this.failOpen(e);
          return;
        }
        this.lastOpenError = e instanceof Error ? e.message : String(e);
        this.state = 'lost';
        this.scheduleReconnect();
      },
    );
  }

  private onData(port: TtyPort, chunk: Buffer): void {
    if (this.port !== port) return;
    this.chunkNs = this.clock.nowNs(); // one clock read per read(): its frames arrived together
    this.decoder.push(chunk, this.onFrameBound);
  }

  private chunkNs = 0n;
  private readonly onFrameBound = (f: Frame): void => this.onFrame(f);

  private onFrame(f: Frame): void {
    const now = this.chunkNs;
    this.lastRxNs = now;
    if (f.type === 'HELLO') {
      this.onHello(f);
      if (this.helloThisConnection) this.sink?.onFrame(f, now); // every frame reaches onFrame, HELLOs too
      return;
    }
    if (!this.helloThisConnection) {
      this.c.preHelloFrames++; // the table may have changed since the last connection: wait for HELLO
      return;
    }
    // The MCU disarms itself on a watchdog trip; follow it so commands are held until arm().
    // (Not on a heartbeat merely lacking the armed bit: one sent before our ARM arrived is in flight.)
    if (f.type === 'HEARTBEAT' && f.status & HeartbeatStatus.WATCHDOG_TRIPPED) {
      this.c.mcuWatchdogTrips++;
      this.armed = false;
    }
    if (f.type === 'FAULT') {
      this.c.mcuFaults++;
      this.c.lastFaultCode = f.code;
      if (f.code === FaultCode.WATCHDOG || f.code === FaultCode.BAD_COMMAND) this.armed = false;
    }
    this.sink?.onFrame(f, now);
  }

  private onHello(h: HelloFrame): void {
    if (h.protocolVersion !== PROTOCOL_VERSION) {
      this.failOpen(new RewarddError('E_PROTOCOL', `serial ${this.options.path}: expected protocol version ${PROTOCOL_VERSION}, found ${h.protocolVersion} (firmware ${h.firmwareId})`));
      return;
    }
    const bootChanged = this.lastHello !== null && this.lastHello.bootId !== h.bootId;
    const first = !this.helloThisConnection;
    this.lastHello = h;
    this.helloThisConnection = true;
    if (bootChanged) {
      this.c.reboots++;
      this.armed = false;
      if (!first) this.sink?.onLost(`MCU rebooted (boot id changed to ${h.bootId.toString(16)})`);
    }
    if (first || bootChanged) {
      this.attempts = 0;
      this.sendHeartbeat(); // the MCU now knows we are here
      this.sink?.onHello(h, bootChanged);
      if (this.openWaiter) {
        clearTimeout(this.openWaiter.timer);
        this.openWaiter.resolve(h);
        this.openWaiter = null;
      }
    }
  }

  private failOpen(e: RewarddError): void {
    if (this.openWaiter) {
      clearTimeout(this.openWaiter.timer);
      this.openWaiter.reject(e);
      this.openWaiter = null;
      void this.close();
    } else this.lose(e.message);
  }

  private onTimer(): void {
    const now = this.clock.nowNs();
    this.checkSilence(now);
    if (this.state === 'connected' && this.helloThisConnection) this.sendHeartbeat();
  }

  private checkSilence(nowNs: bigint): void {
    if (this.state !== 'connected') return;
    const silentMs = Number(nowNs - this.lastRxNs) / 1e6;
    if (silentMs > this.options.rxSilenceMs) this.lose(`no frame from the MCU for ${Math.round(silentMs)} ms (limit ${this.options.rxSilenceMs} ms)`);
  }

  private lose(reason: string): void {
    if (this.state === 'closed' || this.state === 'lost') return;
    const wasUp = this.helloThisConnection;
    this.state = 'lost';
    this.armed = false;
    this.helloThisConnection = false;
    this.dropPort();
    if (wasUp) {
      this.c.lost++;
      this.sink?.onLost(reason);
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed' || this.reconnectTimer) return;
    const o = this.options;
    const delay = Math.min(o.reconnectMaxMs, o.reconnectMinMs * 2 ** Math.min(this.attempts, 16));
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private dropPort(): void {
    const port = this.port;
    this.port = null;
    port?.close();
  }

  private sendHeartbeat(): void {
    this.write({ type: 'HEARTBEAT', seq: 0, timeUs: 0, status: 0 });
  }

  /** Stamps seq and time and writes; drops (counted) when the OS queue is over its bound. */
  private write(frame: Frame): void {
    const port = this.port;
    // Silent until the MCU's HELLO (PROTOCOL.md section 5): a frame now would make
    // the MCU believe we are up and stop repeating the HELLO we are waiting for.
    if (!port || !port.isOpen || !this.helloThisConnection) return;
    const stamped = { ...frame, seq: this.seq, timeUs: Number((this.clock.nowNs() / 1000n) & 0xffffffffn) } as Frame;
    this.seq = (this.seq + 1) & 0xffff;
    // Whole frame or nothing, never blocking: a full OS buffer means the MCU is not reading.
    if (port.write(encodeFrame(stamped))) this.c.txFrames++;
    else this.c.txDropped++;
  }
}
