import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RewarddError } from '../../core/errors.js';
import { RewardStatus } from '../../core/records.js';
import type { CheckOptions, CheckReport } from '../check.js';
import type { Diagnostic } from '../diagnostics.js';
import type { RewardProgramInfo, RewardRuntimeOptions } from '../runtime.js';
import { classifyDeath, type HostDeath } from './death.js';
import { hostLaunch } from './launch.js';
import type { DryRunSegment, FromHost, ToHost } from './messages.js';

export interface RewardHostOptions {
  /** The host is killed when its resident set passes this, MB. Default REWARD_HOST_DEFAULTS.rssCapMb. */
  rssCapMb?: number;
  /** A step running this long (wall time) kills the host, ms. Default 3000. */
  stuckMs?: number;
  /** A request (load, dry run, check) not answered in this long kills the host (reason timeout), ms. Default 30000. */
  requestTimeoutMs?: number;
}

/**
 * rssCapMb: a host starts at ~55-70 MB resident (Node, isolated-vm, the
 * sandbox); the sandbox's own heap is held to --reward-memory-mb (32) by the
 * runtime's checks, with V8's isolate limit at 4x that (128 MB). 256 MB leaves
 * that headroom and still stops an allocation bomb hundreds of MB early.
 */
export const REWARD_HOST_DEFAULTS = { rssCapMb: 256, stuckMs: 3000, requestTimeoutMs: 30_000, startTimeoutMs: 15_000 } as const;

/** Bound on the stderr a host may leave for its death to be classified from. */
const STDERR_TAIL_BYTES = 16 * 1024;

export class HostDiedError extends RewarddError {
  constructor(readonly death: HostDeath) {
    super(death.reason === 'out_of_memory' ? 'E_REWARD_MEMORY' : death.reason === 'timeout' ? 'E_REWARD_TIMEOUT' : 'E_REWARD_CRASHED', `the reward host died (${death.reason}): ${death.detail}`);
  }
}

export type LoadResult = { ok: true; info: RewardProgramInfo } | { ok: false; message: string; diagnostics: Diagnostic[] };
export type DryRunResult = Extract<FromHost, { t: 'dry-run' }>;

/**
 * The parent's handle on one reward host process: spawns it, asks it to load
 * a program, dry-run it, check it, or go live, and says why it died. Requests
 * run one at a time; each has a monotonic deadline after which the host is
 * killed (a host that stops answering is as dead as one that crashed).
 */
export class RewardHost {
  private stderrTail = '';
  private killedFor: HostDeath | null = null;
  private deathValue: HostDeath | null = null;
  private waiting: { resolve: (m: FromHost) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private fifoDir: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Resolves once the process is gone, with why. */
  readonly exited: Promise<HostDeath>;
  readonly rssAtStartBytes: number;

  private constructor(
    private readonly child: ChildProcess,
    private readonly o: Required<RewardHostOptions>,
    ready: { pid: number; rssBytes: number },
    exited: Promise<HostDeath>,
  ) {
    this.rssAtStartBytes = ready.rssBytes;
    this.exited = exited;
  }

  static async start(options: RewardHostOptions = {}): Promise<RewardHost> {
    const o: Required<RewardHostOptions> = {
      rssCapMb: options.rssCapMb ?? REWARD_HOST_DEFAULTS.rssCapMb,
      stuckMs: options.stuckMs ?? REWARD_HOST_DEFAULTS.stuckMs,
      requestTimeoutMs: options.requestTimeoutMs ?? REWARD_HOST_DEFAULTS.requestTimeoutMs,
    };
    const launch = hostLaunch();
    const child = spawn(launch.execPath, launch.args, {
      // Its own process group: a Ctrl-C typed at the daemon's terminal is the daemon's to handle
      // (end the episode cleanly), not a crash of every reward host. An orphaned host ends itself (guard.ts).
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: { ...process.env, REWARDD_HOST_RSS_CAP_MB: String(o.rssCapMb), REWARDD_HOST_STUCK_MS: String(o.stuckMs) },
    });
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => {
      tail = (tail + d.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      if (host) host.stderrTail = tail;
    });
    let host: RewardHost | null = null;
    const exited = new Promise<HostDeath>((resolve) => {
      child.once('close', (code, signal) => {
        const d = classifyDeath(code, signal, tail, host?.killedFor ?? null);
        if (host) host.onExit(d);
        resolve(d);
      });
    });
    const ready = await new Promise<{ pid: number; rssBytes: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new RewarddError('E_REWARD_CRASHED', `the reward host did not start within ${REWARD_HOST_DEFAULTS.startTimeoutMs} ms`));
      }, REWARD_HOST_DEFAULTS.startTimeoutMs);
      child.once('message', (m: FromHost) => {
        clearTimeout(timer);
        if (m.t === 'ready') resolve(m);
        else reject(new RewarddError('E_REWARD_CRASHED', `the reward host said ${m.t} before ready`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new RewarddError('E_REWARD_CRASHED', `the reward host could not be started: ${e.message}`));
      });
      void exited.then((d) => {
        clearTimeout(timer);
        reject(new HostDiedError(d));
      });
    });
    host = new RewardHost(child, o, ready, exited);
    host.stderrTail = tail;
    child.on('message', (m: FromHost) => host?.onMessage(m));
    return host;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Why the host is gone, once it is. */
  get death(): HostDeath | null {
    return this.deathValue;
  }

  load(source: string, filename: string, options: RewardRuntimeOptions): Promise<LoadResult> {
    return this.request({ t: 'load', source, filename, options }).then((m) => {
      if (m.t === 'loaded') return { ok: true, info: m.info };
      if (m.t === 'load-failed') return { ok: false, message: m.message, diagnostics: m.diagnostics };
      throw unexpected(m);
    });
  }

  dryRun(segments: DryRunSegment[]): Promise<DryRunResult> {
    return this.request({ t: 'dry-run', segments }).then((m) => {
      if (m.t === 'dry-run') return m;
      throw unexpected(m);
    });
  }

  check(options: CheckOptions): Promise<CheckReport> {
    return this.request({ t: 'check', options }).then((m) => {
      if (m.t === 'check') return m.report;
      throw unexpected(m);
    });
  }

  /**
   * Makes the request and reply FIFOs and turns the host into a live step
   * server for the loaded program (a fresh sandbox). The control thread opens
   * them by path (live-reward.ts); the host then blocks on its reads.
   */
  async goLive(): Promise<{ pid: number; requestFifo: string; replyFifo: string }> {
    this.fifoDir = mkdtempSync(join(tmpdir(), 'rewardd-host-'));
    const requestFifo = join(this.fifoDir, 'steps');
    const replyFifo = join(this.fifoDir, 'results');
    execFileSync('mkfifo', ['-m', '600', requestFifo, replyFifo]);
    const m = await this.request({ t: 'live', requestFifo, replyFifo });
    if (m.t !== 'live') throw unexpected(m);
    return { pid: this.pid, requestFifo, replyFifo };
  }

  /** Ends the host now (SIGKILL: there is nothing in it worth a clean exit) and removes its FIFOs. */
  kill(): void {
    if (this.deathValue === null && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.removeFifos();
  }

  private request(m: ToHost): Promise<FromHost> {
    const run = (): Promise<FromHost> =>
      new Promise<FromHost>((resolve, reject) => {
        if (this.deathValue) return reject(new HostDiedError(this.deathValue));
        const timer = setTimeout(() => {
          this.killedFor = { reason: 'timeout', detail: `no answer to "${m.t}" within ${this.o.requestTimeoutMs} ms`, status: RewardStatus.timeout };
          this.child.kill('SIGKILL');
        }, this.o.requestTimeoutMs);
        this.waiting = { resolve, reject, timer };
        this.child.send(m, (e) => {
          if (e && this.waiting) this.failWaiting(new RewarddError('E_REWARD_CRASHED', `the reward host could not be sent "${m.t}": ${e.message}`));
        });
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private onMessage(m: FromHost): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    clearTimeout(w.timer);
    if (m.t === 'error') w.reject(new RewarddError('E_REWARD_CRASHED', `the reward host failed: ${m.message}`));
    else w.resolve(m);
  }

  private onExit(d: HostDeath): void {
    this.deathValue = d;
    this.removeFifos();
    this.failWaiting(new HostDiedError(d));
  }

  private failWaiting(e: Error): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    clearTimeout(w.timer);
    w.reject(e);
  }

  private removeFifos(): void {
    if (this.fifoDir === null) return;
    rmSync(this.fifoDir, { recursive: true, force: true });
    this.fifoDir = null;
  }
}

const unexpected = (m: FromHost): Error => new RewarddError('E_REWARD_CRASHED', `the reward host answered "${m.t}" out of turn`);
