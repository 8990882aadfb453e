/**
 * `rewardd estop stop|reset|status`: the operator's e-stop from a shell.
 * `stop` writes the latch file (so a daemon that is down starts latched) and,
 * with --mqtt, publishes on `<prefix>/<robot>/estop` QoS 1 (so a running
 * daemon latches now). `reset` does the same with a reset. The daemon's
 * filter re-persists whatever it latches, so the two paths cannot disagree
 * for long; when in doubt, it stays stopped.
 */
import { join } from 'node:path';
import { readLatch, writeLatch } from '../safety/latch.js';
import { episodeTopics, DEFAULT_PREFIX } from '../transport/topics.js';
import { parseFlags, type FlagSpec } from './args.js';
import { publishCommand } from './publish-command.js';

export const help = [
  'Usage: rewardd estop stop|reset|status [options]',
  '',
  'Latches (stop) or clears (reset) the e-stop, or shows the latch (status).',
  '',
  '  --state-dir DIR   daemon state folder holding estop.json       (default: .rewardd)',
  '  --mqtt URL        also publish the command to a running daemon (default: none, latch file only)',
  '  --robot NAME      robot name in the topic                      (default: rover)',
  '  --prefix P        MQTT topic prefix                            (default: rewardd/v1)',
  '  --reason TEXT     recorded with the latch                      (default: "rewardd estop")',
  '  --timeout-ms N    how long to wait for the broker\'s PUBACK     (default: 5000)',
  '',
  '"trigger" is accepted for "stop". Exit 0 on success, 1 on failure, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'state-dir', type: 'string' },
  { flag: 'mqtt', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'reason', type: 'string' },
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
}

/**
 * Latches or clears the e-stop: the file first (works with no daemon running), then over MQTT
 * (payload `{"action":"stop"|"reset","reason":...}`, QoS 1, the daemon's transport/commands.ts format).
 */
export async function sendEstop(req: EstopRequest): Promise<{ latchFile: string | null; topic: string | null }> {
  if (req.latchFile) writeLatch(req.latchFile, { latched: req.action === 'stop', reason: req.action === 'stop' ? req.reason : '', wallMs: Date.now() });
  if (!req.mqtt) return { latchFile: req.latchFile, topic: null };
  const topic = episodeTopics(req.prefix, req.robot).estop;
  await publishCommand({ url: req.mqtt, topic, payload: JSON.stringify({ action: req.action, reason: req.reason }), timeoutMs: req.timeoutMs, what: 'estop' });
  return { latchFile: req.latchFile, topic };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, FLAGS, true);
  } catch (e) {
    process.stderr.write(`rewardd estop: ${(e as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const verb = positionals[0] === 'trigger' ? 'stop' : positionals[0];
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  // --latch FILE (undocumented here, for tests and odd layouts) overrides <state-dir>/estop.json.
  const latchFile = str('latch', join(str('state-dir', '.rewardd'), 'estop.json'));
  if (positionals.length !== 1 || (verb !== 'stop' && verb !== 'reset' && verb !== 'status')) {
    process.stderr.write(`rewardd estop: expected one of stop | reset | status, found ${positionals.length ? positionals.join(' ') : 'nothing'}\n`);
    return 2;
  }
  if (verb === 'status') {
    const l = readLatch(latchFile);
    process.stdout.write(l.latched ? `LATCHED since ${new Date(l.wallMs).toISOString()}: ${l.reason}\n` : `not latched (${latchFile})\n`);
    return 0;
  }
  const timeoutMs = Number(str('timeout-ms', '5000'));
  if (!(timeoutMs > 0)) {
    process.stderr.write(`rewardd estop: --timeout-ms: expected a number > 0, found "${str('timeout-ms', '')}"\n`);
    return 2;
  }
  const r = await sendEstop({
    action: verb,
    reason: str('reason', 'rewardd estop'),
    latchFile,
    mqtt: typeof values.mqtt === 'string' ? values.mqtt : null,
    robot: str('robot', 'rover'),
    prefix: str('prefix', DEFAULT_PREFIX),
    timeoutMs,
  });
  process.stdout.write(`e-stop ${verb === 'stop' ? 'latched' : 'reset'}: ${r.latchFile}${r.topic ? `, published on ${r.topic}` : ''}\n`);
  return 0;
}
