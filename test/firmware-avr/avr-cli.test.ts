import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewarddNodeFlags } from '../../src/core/node-flags.js';
import { AvrFirmware } from '../../src/link/avr-firmware-sim.js';
import { waitFor } from '../helpers/mqtt-capture.js';
import { uniqueLinkPath } from '../link-serial/harness.js';

/**
 * The built `rewardd run` binary against the real sketch in simavr. The daemon process is frozen
 * with SIGSTOP (a hung host, its port still open): the firmware's own watchdog must stop the motor
 * pins within its documented 150 ms, measured by the emulator in emulated time from the last byte
 * the host sent into the MCU's UART to the timer/port registers going to zero. Then the --hz check:
 * above what 115200 baud carries for the rover's SAMPLE, the daemon warns at start.
 */
const BIN = join(process.cwd(), 'bin', 'rewardd.js');
const dirs: string[] = [];
let fw: AvrFirmware;
let path: string;
const children: ChildProcess[] = [];

function run(args: string[]): { child: ChildProcess; err: () => string; exit: Promise<number | null> } {
  const d = mkdtempSync(join(tmpdir(), 'rewardd-avr-cli-'));
  dirs.push(d);
  // ?silence=3000: on a loaded machine the emulator can run slower than real time (its lag_ms); a
  // longer RX-silence limit than the default 500 ms keeps the daemon from calling a slow MCU lost.
  // With rewardd's Node flags given here, bin/rewardd.js runs the daemon in this very process instead of
  // relaunching itself: the SIGSTOP below must freeze the daemon, not a parent waiting for it.
  const child = spawn(process.execPath, [...rewarddNodeFlags(), BIN, 'run', '--link', `serial:${path}?silence=3000`, '--broker-port', '0', '--broker-ws-port', 'off', '--dashboard-port', 'off',
    '--state-dir', d, '--no-status', '--no-watch-reward', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, err: () => err, exit };
}

beforeAll(async () => {
  if (!existsSync(join(process.cwd(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  path = uniqueLinkPath();
  dirs.push(join(path, '..'));
  fw = await AvrFirmware.start({ board: 'mega', linkPath: path, seed: 11 });
}, 600_000);

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
  await fw?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('rewardd firmware sim --mcu avr (the built binary)', () => {
  it('builds if needed, runs the emulated MCU and prints "pty <path>" first; Ctrl-C prints its counters', async () => {
    const link = uniqueLinkPath();
    dirs.push(join(link, '..'));
    const child = spawn(process.execPath, [BIN, 'firmware', 'sim', '--mcu', 'avr', '--link', link], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await waitFor(() => /^pty \/dev\/pts\/\d+\nmcu atmega2560 16000000\n/.test(out), 300_000, `"pty <path>" from the verb (got ${JSON.stringify(out.slice(0, 200))})`);
    expect(existsSync(link)).toBe(true);
    await waitFor(() => /^event boot t_us \d+ adc2_mv \d+$/m.test(out), 10_000, 'the boot line');
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(out).toMatch(/^stats t_us=\d+ tx_bytes=\d+ /m);
    expect(existsSync(link)).toBe(false); // the --link symlink is removed on exit
  }, 320_000);

  it.each([
    [['--mcu', 'arm'], /--mcu: expected host or avr, found "arm"/],
    [['--mcu', 'avr', '--boot-id', '7'], /--boot-id applies to the host build only/],
    [['--mcu', 'avr', '--board', 'due'], /--board: expected mega or uno, found "due"/],
    [['--baud', '9600'], /--baud applies to --mcu avr only/],
  ])('refuses %j with one line and exit 2', (args, message) => {
    const r = spawnSync(process.execPath, [BIN, 'firmware', 'sim', ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('rewardd run (the built binary) against the AVR firmware in simavr', () => {
  it('a frozen daemon: the MCU watchdog stops the motors within 150 ms of emulated time, and the woken daemon reports it', async () => {
    const r = run(['--arm', 'start', '--hz', '50']);
    try {
      await frozenDaemon(r);
    } finally {
      r.child.kill('SIGCONT');
      r.child.kill('SIGINT');
    }
    expect(await r.exit).toBe(0);
  }, 180_000);

  async function frozenDaemon(r: ReturnType<typeof run>): Promise<void> {
    await waitFor(() => fw.motorChanges().some((m) => m.left !== 0 || m.right !== 0), 90_000, `the motor pins driven (daemon said: ${r.err().slice(-300)})`);
    await new Promise((res) => setTimeout(res, 500));
    const seen = fw.motorChanges().length;
    const last = fw.motorChanges().at(-1)!;
    expect(last.left !== 0 || last.right !== 0).toBe(true);
    r.child.kill('SIGSTOP');
    const frozenAt = performance.now();
    await waitFor(() => fw.motorChanges().slice(seen).some((m) => m.left === 0 && m.right === 0), 20_000, 'the motors stopped by the MCU');
    // Wake the daemon at once: frozen for less than its RX-silence limit (3 s here), it reads the MCU's
    // FAULT from the port (frozen longer, it would declare the link lost, and reopening flushes it).
    r.child.kill('SIGCONT');
    const frozenMs = performance.now() - frozenAt;
    const at = seen + fw.motorChanges().slice(seen).findIndex((m) => m.left === 0 && m.right === 0);
    const stop = fw.motorChanges()[at]!;
    process.stdout.write(`avr watchdog: motors stopped after ${stop.hostSilentUs} us of emulated host silence (frozen ${frozenMs.toFixed(0)} ms of real time)\n`);
    // Emulated time from the host's last byte to the stopped PWM: the watchdog (150 ms) plus at most
    // one pass of the firmware's loop (a HELLO or a SAMPLE being written, a millis() tick).
    expect(stop.hostSilentUs).toBeGreaterThanOrEqual(150_000);
    expect(stop.hostSilentUs).toBeLessThan(180_000);
    const reported = frozenMs < 2800 ? /MCU fault 1: watchdog: no host frame for \d+ ms/ : /link lost|MCU fault 1: watchdog/;
    await waitFor(() => reported.test(r.err()), 20_000, 'the daemon to report the MCU watchdog').catch((e: Error) => {
      throw new Error(`${e.message}; the daemon said: ${r.err().slice(-800)}`);
    });
    // The daemon runs on and keeps commanding, but the tripped MCU stays disarmed: nothing moves.
    await new Promise((res) => setTimeout(res, 1500));
    expect(fw.motorChanges().slice(at)).toEqual([stop]);
    expect(r.err()).not.toMatch(/warning: serial/); // 50 Hz fits 115200 baud
  }

  it('warns at start when --hz is above what the baud rate carries for the rover frame', async () => {
    const r = run(['--hz', '250', '--duration', '3']);
    expect(await r.exit).toBe(0);
    const line = r.err().split('\n').find((l) => /warning: serial/.test(l));
    expect(line).toBeDefined();
    expect(line).toMatch(/--hz 250 is above what 115200 baud carries for this firmware \(180 samples\/s of 63 bytes/);
    expect(line).toMatch(/at most 180 ticks\/s/);
  }, 120_000);
});
