/**
 * `rewardd firmware sim|check`: the firmware-in-the-loop.
 * `sim` builds the host firmware if needed (make -C firmware-bridge host) and
 * runs it: the rover firmware on a pseudo-terminal that `rewardd run --link
 * serial:<pty>` (or any serial tool) can open. `check` builds and runs the C++
 * golden-vector test and compiles the Arduino sketch against a stub.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { RewarddError } from '../core/errors.js';
import { buildHostFirmware, firmwareBridgeDir } from '../link/serial-firmware-sim.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd firmware sim [options]      run the rover firmware on a pty (host build)',
  '       rewardd firmware check              C++ golden-vector test + Arduino sketch compile check',
  '',
  'sim builds firmware-bridge/build/rewardd-fw-host when its sources changed (needs make and g++),',
  'prints "pty <path>", then one line per firmware event; Ctrl-C stops it and prints its counters.',
  '',
  '  --rate HZ          samples per second, 0 = as fast as the pty takes them   (default: 100)',
  '  --watchdog-ms MS   MCU watchdog: motors stop after MS without host frames  (default: 150)',
  '  --boot-id N        boot id announced in HELLO                             (default: random)',
  '  --link PATH        also create PATH as a symlink to the pty (stable name)  (default: none)',
  '',
  'Then, in another shell: rewardd run --link serial:<pty or PATH>',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'rate', type: 'string' },
  { flag: 'watchdog-ms', type: 'string' },
  { flag: 'boot-id', type: 'string' },
  { flag: 'link', type: 'string' },
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
