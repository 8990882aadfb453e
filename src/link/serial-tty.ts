import { closeSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ReadStream } from 'node:tty';
import { EventEmitter } from 'node:events';
import { RewarddError } from '../core/errors.js';
import { SerialOpenError, serialOpenError } from './serial-open-error.js';

/**
 * A serial port that works inside a worker thread, where the control loop
 * (and so every Link) lives.
 *
 * Why not SerialPort's stream: @serialport/bindings-cpp reads through a
 * Poller registered on uv_default_loop(), i.e. the MAIN thread's loop; data
 * arriving for a port opened in a worker crashes the process ("HandleScope ...
 * without proper locking", serialport issues #2748 and #2974, open as of
 * bindings-cpp 13). So we keep serialport's native open (it sets the baud
 * rate, raw termios and the exclusive lock) and do the I/O ourselves on the
 * current thread's loop: reads through a tty.ReadStream on the fd, writes with
 * a non-blocking write(2). POSIX only (Linux, macOS).
 */
interface NativeOpen {
  asyncOpen(path: string, options: Record<string, unknown>): Promise<number>;
}

let native: NativeOpen | null = null;
function nativeOpen(): NativeOpen {
  if (native === null) {
    const require = createRequire(import.meta.url);
    native = require('@serialport/bindings-cpp/dist/load-bindings.js') as NativeOpen;
  }
  return native;
}

export interface TtyPortEvents {
  data: [Buffer];
  /** The device went away (EIO on unplug or when a pty's other side closes) or was closed. */
  close: [Error | null];
}

export class TtyPort extends EventEmitter<TtyPortEvents> {
  private stream: ReadStream | null;
  private fd: number;
  private closed = false;

  private constructor(fd: number, readonly path: string) {
    super();
    this.fd = fd;
    // libuv reopens the tty and dup2()s it onto this fd: the stream now owns fd and closes it.
    this.stream = new ReadStream(fd);
    this.stream.on('data', (chunk: Buffer) => this.emit('data', chunk));
    this.stream.on('error', (e: Error) => this.finish(e));
    this.stream.on('end', () => this.finish(new Error('end of stream')));
    this.stream.on('close', () => this.finish(null));
  }

  /** Opens and configures the device (raw 8N1, baud, exclusive lock). Rejects with E_LINK. */
  static async open(path: string, baudRate: number): Promise<TtyPort> {
    if (process.platform === 'win32') throw new RewarddError('E_LINK', 'serial link: expected Linux or macOS, found Windows (no tty streams there)');
    let fd: number;
    try {
      fd = await nativeOpen().asyncOpen(path, {
        baudRate, dataBits: 8, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false,
        hupcl: true, lock: true, vmin: 1, vtime: 0,
      });
    } catch (e) {
      throw serialOpenError(path, e);
    }
    try {
      return new TtyPort(fd, path);
    } catch (e) {
      closeSync(fd);
      throw new SerialOpenError('ENOTTY', `serial ${path}: expected a serial device (a tty), found something else (${(e as Error).message})`);
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Writes a whole frame now or not at all (never blocks the control tick).
   * Returns false when the OS buffer is full (EAGAIN) or the port is gone.
   */
  write(buf: Uint8Array): boolean {
    if (this.closed) return false;
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && off === 0) return false;
      if (code === 'EAGAIN') {
        // Half a frame is out: finish it (bounded by one frame) so the MCU is not left mid-frame.
        for (let spins = 0; off < buf.length && spins < 10_000; spins++) {
          try {
            off += writeSync(this.fd, buf, off, buf.length - off);
          } catch {
            /* still full */
          }
        }
        return off === buf.length;
      }
      this.finish(e as Error);
      return false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const s = this.stream;
    this.stream = null;
    s?.destroy(); // closes the fd
    this.emit('close', null);
  }

  private finish(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    const s = this.stream;
    this.stream = null;
    s?.destroy();
    this.emit('close', err);
  }
}
