/**
 * `rewardd estop stop|reset|status`: the operator's e-stop from a shell.
 * `stop` writes the latch file (so a daemon that is down starts latched) and,
 * with --mqtt, publishes on `<prefix>/<robot>/estop` QoS 1 (so a running
 * daemon latches now) and waits for the robot's verdict on it. `reset` does the
 * same with a reset, signed with --key (a robot run with --auth signed, the
 * default, refuses an unsigned one and says why: exit 1). The daemon's filter
 * re-persists whatever it latches, so the two paths cannot disagree for long;
 * when in doubt, it stays stopped.
 */
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { readLatch, writeLatch } from '../safety/latch.js';
import { episodeTopics, DEFAULT_PREFIX } from '../transport/topics.js';
import { readPrivateKeyFile, signEstopReset } from '../trust/index.js';
import { EXIT_USAGE, exitCodeOf, parseFlags, type FlagSpec } from './args.js';
import { requestCommand, type CommandAnswer } from './publish-command.js';

export const help = [
  'Usage: rewardd estop stop|reset|status [options]',
  '',
  'Latches (stop) or clears (reset) the e-stop, or shows the latch (status). With --mqtt the command',
  'also goes to a running robot, and the robot\'s verdict is printed: a stop is always applied; a',
  'reset is applied only when signed by a key in the robot\'s allowed_keys (--key), unless the robot',
  'runs with --auth open. The latch file is the local one (on this computer): a local reset on the',
  'robot itself (no --mqtt) needs no key. A reset with --mqtt leaves the local file alone: the robot',
  'decides, and writes its own file when it accepts.',
  '',
  '  --state-dir DIR   daemon state folder holding estop.json       (default: .rewardd)',
  '  --mqtt URL        also send the command to a running robot     (default: none, latch file only)',
  '  --robot NAME      robot name in the topic                      (default: rover)',
  '  --prefix P        MQTT topic prefix                            (default: rewardd/v1)',
  '  --key FILE        reset: ed25519 private key (rewardd keys new) to sign it',
  '                                                                 (default: none, unsigned)',
  '  --reason TEXT     recorded with the latch                      (default: "rewardd estop")',
  '  --username U      broker user                                  (default: none)',
  '  --password P      broker password                              (default: none)',
  '  --ca FILE         CA certificate of an mqtts:// broker         (default: the system CAs)',
  '  --timeout-ms N    how long to wait for the broker\'s PUBACK, then for the robot\'s verdict',
  '                                                                 (default: 5000)',
  '',
  '"trigger" is accepted for "stop". Exit 0 when done (with --mqtt: the robot applied it), 1 when the',
  'robot refused it, did not answer, or the broker could not be reached, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'state-dir', type: 'string' },
  { flag: 'mqtt', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'key', type: 'string' },
  { flag: 'reason', type: 'string' },
  { flag: 'username', type: 'string' },
  { flag: 'password', type: 'string' },
  { flag: 'ca', type: 'string' },
  { flag: 'timeout-ms', type: 'string' },
  { flag: 'latch', type: 'string' },
];

export interface EstopRequest {
  action: 'stop' | 'reset';
  reason: string;
  /** Latch file to write; null = do not touch the file. Default: <stateDir>/estop.json. */
  latchFile: string | null;
  /** Broker URL of a running daemon; null = file only. */
  mqtt: string | null;
  robot: string;
  prefix: string;
  timeoutMs: number;
  /** PEM of an ed25519 private key: signs a reset (a stop is never signed). */
  privateKeyPem?: string;
  username?: string;
  password?: string;
  caFile?: string;
}

export interface EstopResult {
  latchFile: string | null;
  topic: string | null;
  /** With --mqtt: what the robot said, or that it said nothing within the timeout. */
  answer: CommandAnswer | null;
}

/**
 * Latches or clears the e-stop: the file first (works with no daemon running), then over MQTT
 * (payload `{"action":"stop"|"reset","reason":...}`, or a signed reset envelope, QoS 1, the
 * daemon's transport/commands.ts format), waiting for the robot's verdict (docs/mqtt.md).
 */
export async function sendEstop(req: EstopRequest): Promise<EstopResult> {
  // A reset sent to a robot is the robot's to accept or refuse: the local latch file is left alone, or
  // a reset run on the robot itself (its state folder) would clear the latch through the daemon's
  // latch watcher while the robot refused the unsigned MQTT reset (seen). An accepted reset makes the
  // robot re-write its own latch file. A stop is written everywhere: stopping is always safe.
  const latchFile = req.mqtt && req.action === 'reset' ? null : req.latchFile;
  if (latchFile) writeLatch(latchFile, { latched: req.action === 'stop', reason: req.action === 'stop' ? req.reason : '', wallMs: Date.now() });
  if (!req.mqtt) return { latchFile, topic: null, answer: null };
  const topic = episodeTopics(req.prefix, req.robot).estop;
  const payload: Record<string, unknown> =
    req.action === 'reset' && req.privateKeyPem ? { ...signEstopReset({ robot: req.robot, reason: req.reason, privateKeyPem: req.privateKeyPem }) } : { action: req.action, reason: req.reason };
  const answer = await requestCommand({
    url: req.mqtt,
    topic,
    payload,
    timeoutMs: req.timeoutMs,
    what: 'estop',
    ...(req.username !== undefined ? { username: req.username } : {}),
    ...(req.password !== undefined ? { password: req.password } : {}),
    ...(req.caFile !== undefined ? { caFile: req.caFile } : {}),
  });
  return { latchFile, topic, answer };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, FLAGS, true);
  } catch (e) {
    process.stderr.write(`rewardd estop: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const usage = (m: string): number => {
    process.stderr.write(`rewardd estop: ${m}\n`);
    return EXIT_USAGE;
  };
  const verb = positionals[0] === 'trigger' ? 'stop' : positionals[0];
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const opt = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  // --latch FILE (undocumented here, for tests and odd layouts) overrides <state-dir>/estop.json.
  const latchFile = str('latch', join(str('state-dir', '.rewardd'), 'estop.json'));
  if (positionals.length !== 1 || (verb !== 'stop' && verb !== 'reset' && verb !== 'status')) {
    return usage(`expected one of stop | reset | status, found ${positionals.length ? positionals.join(' ') : 'nothing'}`);
  }
  if (verb === 'status') {
    const l = readLatch(latchFile);
    process.stdout.write(l.latched ? `LATCHED since ${new Date(l.wallMs).toISOString()}: ${l.reason}\n` : `not latched (${latchFile})\n`);
    return 0;
  }
  const timeoutMs = Number(str('timeout-ms', '5000'));
  if (!(timeoutMs > 0)) return usage(`--timeout-ms: expected a number > 0, found "${str('timeout-ms', '')}"`);
  const mqtt = opt('mqtt') ?? null;
  if (values.key !== undefined && verb === 'stop') return usage('--key: a stop is never signed (anyone may stop the robot)');
  if (values.key !== undefined && mqtt === null) return usage('--key: expected --mqtt URL too (a signed reset goes to a running robot; the latch file needs no key)');
  for (const k of ['username', 'password', 'ca']) if (values[k] !== undefined && mqtt === null) return usage(`--${k}: expected --mqtt URL too, found none`);
  const robot = str('robot', 'rover');
  let r: EstopResult;
  try {
    const key = opt('key');
    const username = opt('username');
    const password = opt('password');
    const caFile = opt('ca');
    r = await sendEstop({
      action: verb,
      reason: str('reason', 'rewardd estop'),
      latchFile,
      mqtt,
      robot,
      prefix: str('prefix', DEFAULT_PREFIX),
      timeoutMs,
      ...(key !== undefined ? { privateKeyPem: readPrivateKeyFile(key) } : {}),
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(caFile !== undefined ? { caFile } : {}),
    });
  } catch (e) {
    process.stderr.write(`rewardd estop: ${(e as Error).message}\n`);
    return exitCodeOf(e);
  }
  const done = `e-stop ${verb === 'stop' ? 'latched' : 'reset'}${r.latchFile ? `: ${r.latchFile}` : ''}`;
  if (!r.answer) {
    process.stdout.write(`${done}\n`);
    return 0;
  }
  if (r.answer.kind === 'no-verdict') {
    process.stderr.write(`rewardd estop: ${verb} published on ${r.topic}, but robot "${robot}" gave no verdict within ${timeoutMs} ms (is rewardd run running there, with this --robot and --prefix?)\n`);
    return 1;
  }
  const v = r.answer.verdict;
  if (v.ok === true) {
    process.stdout.write(`${done}; ${verb} published on ${r.topic} and applied by robot "${robot}"${typeof v.signer === 'string' ? ` (signed by key ${v.signer})` : ''}\n`);
    return 0;
  }
  const why = typeof v.error === 'string' ? v.error : 'no reason given';
  process.stderr.write(`rewardd estop: robot "${robot}" refused the ${verb}: ${why}\n`);
  return 1;
}
