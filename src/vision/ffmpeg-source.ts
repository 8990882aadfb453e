/**
 * Frames from a child ffmpeg process: any input ffmpeg reads (a V4L2 device,
 * an RTSP URL, a file, a lavfi test source), scaled to the camera's size and
 * rate by ffmpeg, written to stdout as raw RGB24 and cut into frames here.
 * Only the newest frame is kept (a frame not taken before the next arrives is
 * counted as dropped). ffmpeg exiting (a camera unplugged, a stream gone) is
 * counted and it is started again with backoff (0.5 s doubling to 10 s), so a
 * camera that comes back resumes by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { CameraSpec } from './camera-spec.js';
import type { Frame } from './frame.js';
import type { FrameSource, SourceCounters } from './frame-source.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** Bytes of ffmpeg's stderr kept for the error line. */
const STDERR_KEEP = 2000;

export class FfmpegSource implements FrameSource {
  readonly kind = 'ffmpeg';
  private child: ChildProcess | null = null;
  private readonly frameBytes: number;
  private buf: Buffer;
  private fill = 0;
  private newest: Frame | null = null;
  private seq = 0;
  private readonly c: SourceCounters = { received: 0, dropped: 0, garbage: 0, restarts: 0 };
  lastError = '';
  private closed = false;
  private backoff = BACKOFF_MIN_MS;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cam: CameraSpec,
    private readonly inputArgs: readonly string[],
    private readonly bin = process.env.REWARDD_FFMPEG ?? 'ffmpeg',
  ) {
    this.frameBytes = cam.width * cam.height * 3;
    this.buf = Buffer.alloc(this.frameBytes);
    this.start();
  }

  /** The whole ffmpeg command line, for logs and docs. */
  args(): string[] {
    const input = this.inputArgs;
    // Files and generated sources are read at their own rate, as a live camera would deliver them.
    const live = input.includes('v4l2') || /^(rtsp|rtmp|https?|udp|tcp|srt):/.test(input[input.length - 1] ?? '');
    return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...(live ? [] : ['-re']), ...input, '-an', '-vf', `fps=${this.cam.hz},scale=${this.cam.width}:${this.cam.height}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'];
  }

  private start(): void {
    if (this.closed) return;
    let stderr = '';
    const child = spawn(this.bin, this.args(), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.fill = 0;
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP)));
    child.on('error', (e) => (this.lastError = `ffmpeg: ${e.message}`));
    child.on('close', (code, signal) => {
      this.child = null;
      if (this.closed) return;
      const why = stderr.trim().split('\n').pop() ?? '';
      this.lastError = `ffmpeg exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`;
      this.c.restarts++;
      this.timer = setTimeout(() => this.start(), this.backoff);
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    });
  }

  private onData(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.frameBytes - this.fill, chunk.length - off);
      chunk.copy(this.buf, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.frameBytes) {
        if (this.newest) this.c.dropped++;
        this.c.received++;
        this.backoff = BACKOFF_MIN_MS;
        this.newest = { seq: ++this.seq, tNs: process.hrtime.bigint(), width: this.cam.width, height: this.cam.height, rgb: new Uint8Array(this.buf) };
        this.fill = 0;
      }
    }
  }

  take(): Frame | null {
    const f = this.newest;
    this.newest = null;
    return f;
  }

  counters(): SourceCounters {
    return { ...this.c };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.child;
    if (!c) return;
    await new Promise<void>((r) => {
      c.once('close', () => r());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 1000).unref();
    });
  }
}
