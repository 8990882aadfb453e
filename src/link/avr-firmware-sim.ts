import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RewarddError } from '../core/errors.js';
import { LineLog } from './line-log.js';
import { firmwareBridgeDir } from './serial-firmware-sim.js';

/**
 * The real AVR build of the rover firmware (rewardd_bridge.ino with the Arduino
 * core, REWARDD_SIM_ROVER=1) running in simavr, its UART0 on a pseudo-terminal
 * (firmware-bridge/avr-sim/rewardd_avr_sim.c). The firmware in the loop at the
 * level of the real chip: its UART's baud rate, its timers, its RAM.
 * The emulator prints "pty <path>", "mcu <name> <hz>", then "event ...",
 * "motors <l> <r> t_us <n> host_silent_us <n>" and "stats ..." lines; every time
 * in them is emulated time (cycles / clock frequency).
 */
export type AvrBoard = 'mega' | 'uno';
export const AVR_MCU: Readonly<Record<AvrBoard, string>> = { mega: 'atmega2560', uno: 'atmega328p' };

export interface AvrBuild {
  readonly simulator: string;
  readonly elf: string;
}

/**
 * Builds (if stale) the emulator program and the firmware for this board, baud rate and sample
 * rate (make -C firmware-bridge avr-sim-elf ...). Needs gcc-avr, avr-libc, arduino-core-avr and
 * libsimavr-dev; the first build compiles the Arduino core (tens of seconds).
 */
export function buildAvrFirmware(board: AvrBoard = 'mega', baud = 115200, rateHz = 100, watchdogMs?: number): AvrBuild {
  const dir = firmwareBridgeDir();
  const vars = [`SIM_BOARD=${board}`, `BAUD=${baud}`, `RATE=${rateHz}`, ...(watchdogMs !== undefined ? [`WATCHDOG=${watchdogMs}`] : [])];
  try {
    execFileSync('make', ['-s', '-C', dir, 'build/rewardd-avr-sim', 'avr-sim-elf', ...vars], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new RewarddError('E_LINK', `building the AVR firmware (make -C ${dir} avr-sim-elf ${vars.join(' ')}) failed: ${err.stderr?.toString().trim() || err.message}`);
  }
  const wd = watchdogMs !== undefined ? `-w${watchdogMs}` : '';
  return { simulator: join(dir, 'build', 'rewardd-avr-sim'), elf: join(dir, 'build', 'avr', board, `sim-b${baud}-r${rateHz}${wd}.elf`) };
}

export interface AvrFirmwareOptions {
  readonly board?: AvrBoard;
  /** The sketch's REWARDD_BAUD (the emulated UART runs at it). Default 115200. */
  readonly baud?: number;
  /** The sketch's SAMPLE_HZ; 0 = as fast as the UART takes them. Default 100. */
  readonly rateHz?: number;
  /** The sketch's WATCHDOG_MS. Default: the sketch's (150). */
  readonly watchdogMs?: number;
  /** Also create this symlink to the pty (a stable name across restarts). */
  readonly linkPath?: string;
  /** Seed of the line noise and the floating-pin levels. */
  readonly seed?: number;
  /** Milliseconds to wait for the pty line (the build before it can take longer). Default 10000. */
  readonly startTimeoutMs?: number;
}

export type AvrStats = Record<string, number>;

const LINES_KEPT = 2000; // bound on remembered output lines

export class AvrFirmware {
  private readonly log = new LineLog(LINES_KEPT, 'AVR emulator output', true);
  /** The child's output lines, the last LINES_KEPT. */
  get lines(): string[] {
    return this.log.lines;
  }
  private readonly exited: Promise<number | null>;

  private constructor(readonly process: ChildProcess, readonly ptyPath: string, readonly mcu: string, readonly build: AvrBuild) {
    this.exited = new Promise((resolve) => process.once('exit', (code) => resolve(code)));
  }

  static async start(opts: AvrFirmwareOptions = {}): Promise<AvrFirmware> {
    const board = opts.board ?? 'mega';
    const build = buildAvrFirmware(board, opts.baud ?? 115200, opts.rateHz ?? 100, opts.watchdogMs);
    const args = ['--mcu', AVR_MCU[board]];
    if (opts.linkPath !== undefined) args.push('--link', opts.linkPath);
    if (opts.seed !== undefined) args.push('--seed', String(opts.seed));
    args.push(build.elf);
    const child = spawn(build.simulator, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    // simavr's own chatter and the emulator's errors: the last few lines, for error messages.
    const errLines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (l) => {
      errLines.push(l);
      if (errLines.length > 20) errLines.shift();
    });
    const rl = createInterface({ input: child.stdout! });
    let fw: AvrFirmware | undefined;
    const early: string[] = [];
    rl.on('line', (line) => (fw ? fw.onLine(line) : early.push(line)));
    const timeoutMs = opts.startTimeoutMs ?? 10_000;
    const deadline = performance.now() + timeoutMs;
    while (early.length < 2) {
      if (child.exitCode !== null) throw new RewarddError('E_LINK', `the AVR emulator exited with ${child.exitCode} before printing its pty: ${errLines.slice(-3).join(' | ')}`);
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw new RewarddError('E_LINK', `expected the AVR emulator to print its pty within ${timeoutMs} ms, found ${early.length} lines`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const pty = /^pty (\S+)$/.exec(early[0] ?? '');
    const mcu = /^mcu (\S+) (\d+)$/.exec(early[1] ?? '');
    if (!pty || !mcu) {
      child.kill('SIGKILL');
      throw new RewarddError('E_LINK', `expected "pty <path>" and "mcu <name> <hz>", found ${JSON.stringify(early.slice(0, 2))}`);
    }
    fw = new AvrFirmware(child, pty[1]!, mcu[1]!, build);
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

  /** A command on the emulator's stdin: reset | noise <every> <count> | stats | quit. */
  send(command: string): void {
    this.process.stdin?.write(`${command}\n`);
  }

  /** An MCU reset (the reset pin): the firmware boots again with a new boot id. */
  reset(): Promise<string> {
    const p = this.waitFor(/^event reset /, 5000);
    this.send('reset');
    return p;
  }

  /** Flips one random bit in every `every`th byte the MCU sends, `count` times. */
  noise(every: number, count: number): Promise<string> {
    const p = this.waitFor(/^noise every /, 5000);
    this.send(`noise ${every} ${count}`);
    return p;
  }

  /** The emulator's counters: t_us (emulated), tx_bytes, rx_bytes, flipped, resets, lag_ms, motors. */
  async stats(timeoutMs = 5000): Promise<AvrStats> {
    const p = this.waitFor(/^stats /, timeoutMs);
    this.send('stats');
    return parseStats(await p);
  }

  /** Every "motors" line seen: signed PWM duty per wheel, emulated µs, and host silence before it. */
  motorChanges(): { left: number; right: number; tUs: number; hostSilentUs: number }[] {
    const out: { left: number; right: number; tUs: number; hostSilentUs: number }[] = [];
    for (const l of this.lines) {
      const m = /^motors (-?\d+) (-?\d+) t_us (\d+) host_silent_us (\d+)$/.exec(l);
      if (m) out.push({ left: Number(m[1]), right: Number(m[2]), tUs: Number(m[3]), hostSilentUs: Number(m[4]) });
    }
    return out;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }
}

export function parseStats(line: string): AvrStats {
  const out: AvrStats = {};
  for (const kv of line.replace(/^stats /, '').split(' ')) {
    const [k, v] = kv.split('=');
    if (!k || v === undefined) continue;
    if (k === 'motors') {
      const [l, r] = v.split(',').map(Number);
      out.motorsLeft = l ?? 0;
      out.motorsRight = r ?? 0;
    } else out[k] = Number(v);
  }
  return out;
}
