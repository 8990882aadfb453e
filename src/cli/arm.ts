/**
 * `rewardd arm` / `rewardd disarm`: lets a running robot's actions reach its actuators, or holds
 * them at their stop values. Publishes on `<prefix>/<robot>/arm` QoS 1 and waits for the
 * broker's PUBACK. An arm is signed with --key (robots run with --auth signed by default and
 * refuse an unsigned arm); a disarm never needs a key, like an e-stop.
 */
import { episodeTopics, DEFAULT_PREFIX } from '../transport/topics.js';
import { readPrivateKeyFile, signArm } from '../trust/index.js';
import { parseFlags, type FlagSpec } from './args.js';
import { publishCommand } from './publish-command.js';

export type ArmAction = 'arm' | 'disarm';

export const help = (action: ArmAction): string =>
  [
    `Usage: rewardd ${action} --mqtt URL [options]`,
    '',
    action === 'arm'
      ? 'Arms a running robot: its policy\'s actions (through the safety filter) reach the actuators.\nRefused by the robot while its e-stop is latched, and unsigned unless it runs with --auth open.'
      : 'Disarms a running robot: actuators are held at their stop values until the next arm.\nAccepted from anyone who can publish on the topic (stopping is always allowed).',
    '',
    '  --mqtt URL        the robot\'s broker                            (required)',
    '  --robot NAME      robot name in the topic                        (default: rover)',
    '  --prefix P        MQTT topic prefix                              (default: rewardd/v1)',
    ...(action === 'arm' ? ['  --key FILE        ed25519 private key (rewardd keys new) to sign the arm (default: none, unsigned)'] : []),
    '  --reason TEXT     logged by the robot                            (default: "rewardd ' + action + '")',
    '  --timeout-ms N    how long to wait for the broker\'s PUBACK       (default: 5000)',
    '',
    'Exit 0 once the broker has the command, 1 on failure, 2 on bad usage. The robot logs',
    `"${action === 'arm' ? 'armed' : 'disarmed'}: ..." or why it refused, and its status line shows the safety state.`,
  ].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'mqtt', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'key', type: 'string' },
  { flag: 'reason', type: 'string' },
  { flag: 'timeout-ms', type: 'string' },
];

export interface ArmRequest {
  action: ArmAction;
  mqtt: string;
  robot: string;
  prefix: string;
  reason: string;
  /** PEM of an ed25519 private key: signs an arm. */
  privateKeyPem?: string;
  timeoutMs: number;
}

/** The payload the robot reads (transport/commands.ts parseArm, trust/arm.ts decideArm). */
export function armPayload(req: Pick<ArmRequest, 'action' | 'robot' | 'reason' | 'privateKeyPem'>): string {
  if (req.action === 'arm' && req.privateKeyPem) return JSON.stringify(signArm({ robot: req.robot, reason: req.reason, privateKeyPem: req.privateKeyPem }));
  return JSON.stringify({ action: req.action, reason: req.reason });
}

export async function sendArm(req: ArmRequest): Promise<string> {
  const topic = episodeTopics(req.prefix, req.robot).arm;
  const payload = armPayload(req);
  await publishCommand({ url: req.mqtt, topic, payload, timeoutMs: req.timeoutMs, what: req.action });
  return topic;
}

export async function main(action: ArmAction, argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseFlags(argv, FLAGS));
  } catch (e) {
    process.stderr.write(`rewardd ${action}: ${(e as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${help(action)}\n`);
    return 0;
  }
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const usage = (m: string): number => {
    process.stderr.write(`rewardd ${action}: ${m}\n`);
    return 2;
  };
  if (typeof values.mqtt !== 'string') return usage('--mqtt: expected the robot\'s broker URL (mqtt://host:port), found nothing');
  if (action === 'disarm' && values.key !== undefined) return usage('--key: a disarm is never signed (anyone may stop the robot)');
  const timeoutMs = Number(str('timeout-ms', '5000'));
  if (!(timeoutMs > 0)) return usage(`--timeout-ms: expected a number > 0, found "${str('timeout-ms', '')}"`);
  try {
    const topic = await sendArm({
      action,
      mqtt: values.mqtt,
      robot: str('robot', 'rover'),
      prefix: str('prefix', DEFAULT_PREFIX),
      reason: str('reason', `rewardd ${action}`),
      ...(typeof values.key === 'string' ? { privateKeyPem: readPrivateKeyFile(values.key) } : {}),
      timeoutMs,
    });
    process.stdout.write(`${action} published on ${topic}${action === 'arm' && values.key === undefined ? ' (unsigned: only a robot run with --auth open accepts it)' : ''}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`rewardd ${action}: ${(e as Error).message}\n`);
    return 1;
  }
}
