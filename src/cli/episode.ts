/**
 * `rewardd episode next`: the operator's word that the scene is reset and the next episode may
 * start (a robot run with `--reset operator`, the default on serial and johnny-five links). Publishes
 * on `<prefix>/<robot>/episode/next` QoS 1 and waits for the robot's verdict. Signed with --key:
 * a "next" lets the policy drive again, so a robot under `--auth signed` (the default) refuses an
 * unsigned one, as it refuses an unsigned arm.
 */
import { RewarddError } from '../core/errors.js';
import { episodeTopics, DEFAULT_PREFIX } from '../transport/topics.js';
import { readPrivateKeyFile, signEpisodeNext } from '../trust/index.js';
import { parseFlags, type FlagSpec } from './args.js';
import { requestCommand } from './publish-command.js';

export const help = [
  'Usage: rewardd episode next --mqtt URL [options]',
  '',
  'Ends a running robot\'s reset phase between episodes: the next episode starts at its next tick.',
  'Refused while an episode runs, while the e-stop is latched or the link is down, by a robot that',
  'runs --reset immediate, and (unless it runs --auth open) when unsigned.',
  '',
  '  --mqtt URL        the robot\'s broker                            (required)',
  '  --robot NAME      robot name in the topic                        (default: rover)',
  '  --prefix P        MQTT topic prefix                              (default: rewardd/v1)',
  '  --key FILE        ed25519 private key (rewardd keys new) to sign it (default: none, unsigned)',
  '  --reason TEXT     logged by the robot, and in the next start record (default: "rewardd episode next")',
  '  --timeout-ms N    how long to wait for the robot\'s verdict        (default: 5000)',
  '',
  'Prints the robot\'s verdict. Exit 0 when the robot accepted it, 1 when it refused or did not',
  'answer, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'mqtt', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'key', type: 'string' },
  { flag: 'reason', type: 'string' },
  { flag: 'timeout-ms', type: 'string' },
];

export interface EpisodeNextRequest {
  mqtt: string;
  robot: string;
  prefix: string;
  reason: string;
  /** PEM of an ed25519 private key: signs the "next". */
  privateKeyPem?: string;
  timeoutMs: number;
}

/** The robot's verdict: `{ok: true, detail}` or `{ok: false, error}` (transport/commands.ts). */
export async function sendEpisodeNext(req: EpisodeNextRequest): Promise<{ ok: boolean; text: string; topic: string }> {
  const topics = episodeTopics(req.prefix, req.robot);
  const payload: Record<string, unknown> = req.privateKeyPem
    ? { ...signEpisodeNext({ robot: req.robot, reason: req.reason, privateKeyPem: req.privateKeyPem }) }
    : { action: 'next', reason: req.reason };
  const answer = await requestCommand({ url: req.mqtt, topic: topics.episodeNext, payload, timeoutMs: req.timeoutMs, what: 'episode next' });
  if (answer.kind === 'no-verdict') {
    throw new RewarddError('E_MQTT', `episode next: expected the robot's verdict on ${topics.episodeNextResult} within ${req.timeoutMs} ms, found none (is the robot running, with this --robot and --prefix, on this broker?)`);
  }
  const v = answer.verdict;
  const ok = v.ok === true;
  const text = ok ? (typeof v.detail === 'string' ? v.detail : 'accepted') : typeof v.error === 'string' ? v.error : `unreadable verdict ${JSON.stringify(v)}`;
  return { ok, text, topic: topics.episodeNext };
}

export async function main(argv: string[]): Promise<number> {
  const usage = (m: string): number => {
    process.stderr.write(`rewardd episode: ${m}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseFlags(argv, FLAGS, true);
  } catch (e) {
    return usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'next') return usage(`expected "next", found ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see --help)`);
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  if (typeof values.mqtt !== 'string') return usage('--mqtt: expected the robot\'s broker URL (mqtt://host:port), found nothing');
  const timeoutMs = Number(str('timeout-ms', '5000'));
  if (!(timeoutMs > 0)) return usage(`--timeout-ms: expected a number > 0, found "${str('timeout-ms', '')}"`);
  try {
    const r = await sendEpisodeNext({
      mqtt: values.mqtt,
      robot: str('robot', 'rover'),
      prefix: str('prefix', DEFAULT_PREFIX),
      reason: str('reason', 'rewardd episode next'),
      ...(typeof values.key === 'string' ? { privateKeyPem: readPrivateKeyFile(values.key) } : {}),
      timeoutMs,
    });
    if (r.ok) process.stdout.write(`next accepted by the robot: ${r.text}\n`);
    else process.stderr.write(`rewardd episode: next refused by the robot: ${r.text}\n`);
    return r.ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`rewardd episode: ${(e as Error).message}\n`);
    return 1;
  }
}
