import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { TtyPort } from './serial-tty.js';

/**
 * A StandardFirmata board on a serial port, opened by rewardd's own TtyPort rather than by the
 * serialport 8 that the `firmata` package brings: that one's native binding is not built by
 * `npm ci` (its install script is not allowed; package.json allowScripts), and like every
 * serialport binding it reads on the main thread's loop, which crashes a port opened in the
 * control worker (serial-tty.ts says why). firmata-io takes any object with serialport's
 * events and write() as its transport; this is that object.
 */
export class FirmataTtyTransport extends EventEmitter {
  private port: TtyPort | null = null;
  private closed = false;
  isOpen = false;

  constructor(readonly path: string, readonly baudRate: number) {
    super();
    TtyPort.open(path, baudRate).then(
      (port) => {
        if (this.closed) return port.close(); // given up on (a timed-out attempt) while opening
        this.port = port;
        this.isOpen = true;
        port.on('data', (b) => this.emit('data', b));
        // A vanished device (EIO) is a disconnect; firmata reports it as "disconnect", ours as "close".
        port.on('close', (err) => {
          this.isOpen = false;
          this.emit('close', err ? { disconnect: true, disconnected: true } : undefined);
        });
        this.emit('open');
      },
      (e: unknown) => this.emit('error', e),
    );
  }

  /** Firmata's messages are a few bytes: written whole or dropped (never blocks the control tick). */
  write(buf: Buffer, cb?: () => void): void {
    this.port?.write(buf);
    if (cb) setImmediate(cb);
  }

  close(cb?: () => void): void {
    this.closed = true;
    this.isOpen = false;
    this.port?.close();
    this.port = null;
    if (cb) setImmediate(cb);
  }
}

interface FirmataModule {
  Firmata: new (transport: unknown, options?: Record<string, unknown>) => unknown;
}

/** StandardFirmata's default baud rate (its sketch: Firmata.begin(57600)). */
export const FIRMATA_BAUD = 57600;

/**
 * A firmata-io Board (a johnny-five IO plugin) on `path`, through FirmataTtyTransport. firmata-io
 * is resolved the way johnny-five's own `firmata` resolves it: the same module johnny-five would use.
 */
export function firmataOnTty(path: string, baudRate = FIRMATA_BAUD): unknown {
  const fromJ5 = createRequire(createRequire(import.meta.url).resolve('johnny-five'));
  const firmata = createRequire(fromJ5.resolve('firmata'))('firmata-io') as FirmataModule;
  return new firmata.Firmata(new FirmataTtyTransport(path, baudRate));
}
