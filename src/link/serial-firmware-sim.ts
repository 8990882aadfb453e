import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { RewarddError } from '../core/errors.js';
import { LineLog } from './line-log.js';

/**
 * The host build of the rover firmware (firmware-bridge/host/) as a child
 * process: the firmware-in-the-loop that tests, the bench and
 * `rewardd firmware sim` run. It talks our protocol on a pseudo-terminal and
 * prints "pty <path>", "boot_id <n>", "event ..." and "stats ..." lines.
 */
export function firmwareBridgeDir(): string {
  // Works from src/link (tsx) and from dist/src/link (compiled): walk up to the repo root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'firmware-bridge', 'Makefile'))) return join(dir, 'firmware-bridge');
    dir = dirname(dir);
  }
  throw new RewarddError('E_FILE', 'expected firmware-bridge/Makefile above the rewardd package, found none');
}

/** Builds (if stale) and returns the path of build/rewardd-fw-host. Needs make and a C++17 compiler. */
export function buildHostFirmware(): string {
  const dir = firmwareBridgeDir();
  try {
    execFileSync('make', ['-s', '-C', dir, 'host'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new RewarddError('E_LINK', `building the host firmware (make -C ${dir} host) failed: ${err.stderr?.toString().trim() || err.message}`);
  }
  return join(dir, 'build', 'rewardd-fw-host');
}

export interface HostFirmwareOptions {
  /** Samples per second; 0 = as fast as the pty takes them. Default 100. */
  readonly rateHz?: number;
  /** MCU watchdog, ms. Default 150. */
  readonly watchdogMs?: number;
  /** Boot id in HELLO. Default: random per start. */
  readonly bootId?: number;
  /** Also create this symlink to the pty: a stable path across restarts, like /dev/serial/by-id. */
  readonly linkPath?: string;
  /** Fault injection: damage every Nth SAMPLE (N >= 3), `corruptCount` times, once the host has spoken. */
  readonly corruptEvery?: number;
  readonly corruptCount?: number;
  /** Milliseconds to wait for the pty line. Default 5000. */
  readonly startTimeoutMs?: number;
}

export type FirmwareStats = Record<string, number>;

const LINES_KEPT = 1000; // bound on remembered output lines

export class HostFirmware {
  private readonly log = new LineLog(LINES_KEPT, 'firmware output');
  /** The child's output lines, the last LINES_KEPT. */
  get lines(): string[] {
    return this.log.lines;
  }
  private exited: Promise<number | null>;

  private constructor(readonly process: ChildProcess, readonly ptyPath: string, readonly bootId: number) {
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
  }

  /** The path a link should open: the symlink when one was asked for, else the pty. */
  static async start(opts: HostFirmwareOptions = {}): Promise<HostFirmware> {
    const bin = buildHostFirmware();
    const args: string[] = [];
    if (opts.rateHz !== undefined) args.push('--rate', String(opts.rateHz));
    if (opts.watchdogMs !== undefined) args.push('--watchdog-ms', String(opts.watchdogMs));
    if (opts.bootId !== undefined) args.push('--boot-id', String(opts.bootId));
    if (opts.linkPath !== undefined) args.push('--link', opts.linkPath);
    if (opts.corruptEvery !== undefined) args.push('--corrupt-every', String(opts.corruptEvery), '--corrupt-count', String(opts.corruptCount ?? 1));
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const rl = createInterface({ input: child.stdout! });
    let fw: HostFirmware | undefined;
    const early: string[] = [];
    rl.on('line', (line) => (fw ? fw.onLine(line) : early.push(line)));
    const timeoutMs = opts.startTimeoutMs ?? 5000;
    const deadline = Date.now() + timeoutMs;
    while (early.length < 2) {
      if (child.exitCode !== null) throw new RewarddError('E_LINK', `host firmware exited with ${child.exitCode} before printing its pty`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new RewarddError('E_LINK', `expected the host firmware to print its pty within ${timeoutMs} ms, found ${early.length} lines`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const pty = /^pty (\S+)$/.exec(early[0] ?? '');
    const boot = /^boot_id (\d+)$/.exec(early[1] ?? '');
    if (!pty || !boot) throw new RewarddError('E_LINK', `expected "pty <path>" and "boot_id <n>", found ${JSON.stringify(early.slice(0, 2))}`);
    fw = new HostFirmware(child, pty[1]!, Number(boot[1]));
    for (const l of early.slice(2)) fw.onLine(l);
    return fw;
  }

  private onLine(line: string): void {
    this.log.push(line);
  }

  /** Resolves with the first line (from now on, or already seen if `seen`) matching re. */
  waitFor(re: RegExp, timeoutMs: number, seen = false): Promise<string> {
    return this.log.waitFor(re, timeoutMs, seen);
  }

  /** Asks the firmware for its counters (SIGUSR1) and parses the "stats" line. */
  async stats(timeoutMs = 2000): Promise<FirmwareStats> {
    const p = this.waitFor(/^stats /, timeoutMs);
    this.process.kill('SIGUSR1');
    const line = await p;
    const out: FirmwareStats = {};
    for (const kv of line.slice(6).split(' ')) {
      const [k, v] = kv.split('=');
      if (k && v !== undefined) out[k] = k === 'motors' ? Number(v.split(',').map(Number).some((x) => x !== 0)) : Number(v);
    }
    return out;
  }

  /** Stops the firmware (SIGTERM: clean, prints stats; SIGKILL: like pulling the plug) and waits for exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }
}
