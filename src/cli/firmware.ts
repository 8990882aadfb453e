/**
 * `rewardd firmware sim|check`: the firmware-in-the-loop.
 * `sim` builds the host firmware if needed (make -C firmware-bridge host) and
 * runs it: the rover firmware on a pseudo-terminal that `rewardd run --link
 * serial:<pty>` (or any serial tool) can open. `sim --mcu avr` builds the real
 * Arduino sketch for an ATmega2560 and runs it in simavr instead (docs/firmware.md).
 * `check` builds and runs the C++ golden-vector test and compiles the Arduino
 * sketch against a stub.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { RewarddError } from '../core/errors.js';
import { buildHostFirmware, firmwareBridgeDir } from '../link/serial-firmware-sim.js';
import { AVR_MCU, buildAvrFirmware, type AvrBoard } from '../link/avr-firmware-sim.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd firmware sim [options]      run the rover firmware on a pty (host build, or --mcu avr)',
  '       rewardd firmware check              C++ golden-vector test + Arduino sketch compile check',
  '',
  'sim builds firmware-bridge/build/rewardd-fw-host when its sources changed (needs make and g++),',
  'prints "pty <path>", then one line per firmware event; Ctrl-C stops it and prints its counters.',
  'With --mcu avr it builds the Arduino sketch with the real Arduino AVR core and avr-gcc and runs it',
  'on an emulated ATmega2560 (simavr), its UART on the pty; the rover is simulated on the MCU. Type',
  '"reset" (an MCU reset), "noise <every> <count>" (flip a bit in every Nth byte the MCU sends) or',
  '"stats" on its stdin. Needs gcc-avr avr-libc arduino-core-avr simavr libsimavr-dev (docs/firmware.md).',
  '',
  '  --mcu host|avr     host: the firmware logic as a host program; avr: the real sketch in simavr (default: host)',
  '  --board mega|uno   --mcu avr: Arduino Mega (ATmega2560) or Uno (ATmega328P)  (default: mega)',
  '  --baud N           --mcu avr: the sketch\'s UART baud rate (REWARDD_BAUD)     (default: 115200)',
  '  --rate HZ          samples per second, 0 = as fast as the link takes them     (default: 100)',
  '  --watchdog-ms MS   motors stop after MS without host frames (avr: the sketch\'s WATCHDOG_MS)  (default: 150)',
  '  --boot-id N        host build: boot id announced in HELLO                    (default: random)',
  '  --link PATH        also create PATH as a symlink to the pty (stable name)     (default: none)',
  '',
  'Then, in another shell: rewardd run --link serial:<pty or PATH>',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'rate', type: 'string' },
  { flag: 'watchdog-ms', type: 'string' },
  { flag: 'boot-id', type: 'string' },
  { flag: 'link', type: 'string' },
  { flag: 'mcu', type: 'string' },
  { flag: 'board', type: 'string' },
  { flag: 'baud', type: 'string' },
];

function intFlag(v: string | boolean | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < min || n > max) {
    throw new RewarddError('E_CONFIG', `--${flag}: expected a number in ${min}..${max}, found "${String(v)}"`);
  }
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  const sub = positionals[0];
  if (values.help === true) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (sub === 'check') {
    const dir = firmwareBridgeDir();
    const out = execFileSync('make', ['-s', '-C', dir, 'test', 'sketch-check'], { encoding: 'utf8' });
    process.stdout.write(out);
    return 0;
  }
  if (sub !== 'sim' || positionals.length > 1) {
    process.stderr.write(`rewardd firmware: expected "sim" or "check", found ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see --help)\n`);
    return 2;
  }
  const mcu = values.mcu ?? 'host';
  if (mcu !== 'host' && mcu !== 'avr') {
    process.stderr.write(`rewardd firmware sim: --mcu: expected host or avr, found "${String(mcu)}"\n`);
    return 2;
  }
  if (mcu === 'avr') return runAvr(values);
  for (const f of ['board', 'baud'] as const) {
    if (values[f] !== undefined) {
      process.stderr.write(`rewardd firmware sim: --${f} applies to --mcu avr only (the host build has no UART)\n`);
      return 2;
    }
  }
  const rate = intFlag(values.rate, 'rate', 0, 1_000_000);
  const watchdog = intFlag(values['watchdog-ms'], 'watchdog-ms', 1, 65535);
  const bootId = intFlag(values['boot-id'], 'boot-id', 1, 0xffffffff);
  if (values.link !== undefined && typeof values.link !== 'string') throw new RewarddError('E_CONFIG', '--link: expected a path');
  const startedAt = Date.now();
  const bin = buildHostFirmware();
  if (Date.now() - startedAt > 2000) process.stderr.write(`built ${bin}\n`);
  const args = [
    ...(rate !== undefined ? ['--rate', String(rate)] : []),
    ...(watchdog !== undefined ? ['--watchdog-ms', String(watchdog)] : []),
    ...(bootId !== undefined ? ['--boot-id', String(bootId)] : []),
    ...(typeof values.link === 'string' ? ['--link', values.link] : []),
  ];
  const child = spawn(bin, args, { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** `firmware sim --mcu avr`: build the sketch and the emulator if stale, then run them in the foreground. */
async function runAvr(values: Record<string, string | boolean | undefined>): Promise<number> {
  if (values['boot-id'] !== undefined) {
    process.stderr.write('rewardd firmware sim: --boot-id applies to the host build only (the AVR build draws its boot id on the MCU)\n');
    return 2;
  }
  const watchdog = intFlag(values['watchdog-ms'], 'watchdog-ms', 1, 65535);
  const board = values.board ?? 'mega';
  if (board !== 'mega' && board !== 'uno') {
    process.stderr.write(`rewardd firmware sim: --board: expected mega or uno, found "${String(board)}"\n`);
    return 2;
  }
  const baud = intFlag(values.baud, 'baud', 300, 2_000_000) ?? 115200;
  const rate = intFlag(values.rate, 'rate', 0, 10_000) ?? 100;
  if (!Number.isInteger(baud) || !Number.isInteger(rate) || (watchdog !== undefined && !Number.isInteger(watchdog))) {
    throw new RewarddError('E_CONFIG', `--baud, --rate and --watchdog-ms: expected whole numbers, found ${baud}, ${rate} and ${watchdog}`);
  }
  if (values.link !== undefined && typeof values.link !== 'string') throw new RewarddError('E_CONFIG', '--link: expected a path');
  process.stderr.write(`building the sketch for ${AVR_MCU[board as AvrBoard]} (${baud} baud, ${rate} samples/s) and the emulator if needed...\n`);
  const build = buildAvrFirmware(board as AvrBoard, baud, rate, watchdog);
  const args = ['--mcu', AVR_MCU[board as AvrBoard], ...(typeof values.link === 'string' ? ['--link', values.link] : []), build.elf];
  const child = spawn(build.simulator, args, { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
