import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { RewarddError } from '../core/errors.js';
import { resolveConnection } from '../transport/connection-options.js';
import { episodeTopics, DEFAULT_PREFIX } from '../transport/topics.js';
import { readPrivateKeyFile, signRewardPush } from '../trust/index.js';
import { parseFlags } from './args.js';

export const help = [
  'Usage: rewardd reward push FILE --robot ID [options]',
  '',
  'Sends a reward program to a running robot on <prefix>/<robot>/reward/set and prints',
  'its reply: the new version, or why it was rejected (compile diagnostics, failed dry run,',
  'bad signature).',
  '',
  '  --robot ID        robot name                                              (required)',
  '  --mqtt URL        broker; the default is rewardd run\'s embedded one    (default: mqtt://127.0.0.1:1884)',
  '  --prefix P        topic prefix                                            (default: rewardd/v1)',
  '  --key FILE        ed25519 private key (rewardd keys new) to sign the push; robots that',
  '                    require signed pushes refuse unsigned ones              (default: none, unsigned)',
  '  --username U      broker user                                             (default: none)',
  '  --password P      broker password                                         (default: none)',
  '  --ca FILE         CA certificate for mqtts://                             (default: the system CAs)',
  '  --timeout S       seconds to wait for the reply                           (default: 20)',
  '',
  'Exit 0 when the robot accepted it, 1 when it refused it or did not answer, 2 on bad usage.',
].join('\n');

const FLAGS = [
  { flag: 'robot', type: 'string' },
  { flag: 'mqtt', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'key', type: 'string' },
  { flag: 'username', type: 'string' },
  { flag: 'password', type: 'string' },
  { flag: 'ca', type: 'string' },
  { flag: 'timeout', type: 'number' },
] as const;

export interface PushReply {
  ok: boolean;
  version?: string;
  name?: string;
  error?: string;
}

/**
 * Publishes a reward source (signed if a key is given) and waits for the
 * robot's verdict. MQTT 5: the reply comes on a response topic with our
 * correlation data; 3.1.1 brokers (the embedded aedes): on reward/set/result,
 * matched by the correlation field we add to the envelope.
 */
export async function pushReward(o: {
  source: string;
  /** The file's name: its extension tells the robot to compile TypeScript or JavaScript. */
  filename?: string;
  robot: string;
  mqttUrl: string;
  prefix?: string;
  privateKeyPem?: string;
  username?: string;
  password?: string;
  caFile?: string;
  timeoutMs?: number;
}): Promise<PushReply> {
  const topics = episodeTopics(o.prefix ?? DEFAULT_PREFIX, o.robot);
  const conn = resolveConnection(
    { mqttUrl: o.mqttUrl, ...(o.username ? { username: o.username } : {}), ...(o.password ? { password: o.password } : {}), ...(o.caFile ? { caFile: o.caFile } : {}) },
    'push',
  );
  const correlation = randomBytes(8).toString('hex');
  const responseTopic = `${topics.rewardSet}/result/${correlation}`;
  const filename = o.filename === undefined ? undefined : basename(o.filename).replace(/[^A-Za-z0-9_.+-]/g, '_').slice(-200);
  const named = filename !== undefined ? { filename } : {};
  const envelope = o.privateKeyPem ? { ...signRewardPush({ source: o.source, robot: o.robot, privateKeyPem: o.privateKeyPem, ...named }), correlation } : { source: o.source, ...named, correlation };
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(conn.url, { ...conn.client, protocolVersion: 5, reconnectPeriod: 0 });
  } catch {
    // aedes and other 3.1.1-only brokers refuse a v5 CONNECT.
    try {
      client = await mqtt.connectAsync(conn.url, { ...conn.client, protocolVersion: 4, reconnectPeriod: 0 });
    } catch (e) {
      throw new RewarddError('E_MQTT', `push: expected a broker at ${o.mqttUrl}, found ${(e as Error).message}`);
    }
  }
  try {
    const v5 = client.options.protocolVersion === 5;
    const reply = new Promise<PushReply>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        let r: PushReply & { correlation?: string };
        try {
          r = JSON.parse(payload.toString('utf8')) as PushReply & { correlation?: string };
        } catch {
          return;
        }
        const cd = packet.properties?.correlationData?.toString('utf8');
        if (cd === correlation || r.correlation === correlation) resolve(r);
        void topic;
      });
    });
    await client.subscribeAsync(v5 ? responseTopic : `${topics.rewardSet}/result`, { qos: 1 });
    await client.publishAsync(topics.rewardSet, JSON.stringify(envelope), {
      qos: 1,
      ...(v5 ? { properties: { responseTopic, correlationData: Buffer.from(correlation) } } : {}),
    });
    const timeoutMs = o.timeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RewarddError('E_MQTT', `no reply from robot "${o.robot}" on ${o.mqttUrl} within ${timeoutMs / 1000} s (is rewardd run running with this --prefix?)`)), timeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await client.endAsync();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const file = positionals[0];
  if (positionals.length !== 1 || file === undefined) throw new RewarddError('E_CONFIG', `reward push: expected exactly one FILE, found ${positionals.length}`);
  if (typeof values.robot !== 'string') throw new RewarddError('E_CONFIG', 'reward push: expected --robot ID, found none');
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RewarddError('E_FILE', `reward file ${file}: ${(e as Error).message}`);
  }
  const timeout = values.timeout === undefined ? 20 : Number(values.timeout);
  if (!(timeout > 0)) throw new RewarddError('E_CONFIG', `--timeout: expected seconds > 0, found ${String(values.timeout)}`);
  const r = await pushReward({
    source,
    filename: file,
    robot: values.robot,
    mqttUrl: typeof values.mqtt === 'string' ? values.mqtt : 'mqtt://127.0.0.1:1884',
    timeoutMs: timeout * 1000,
    ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
    ...(typeof values.key === 'string' ? { privateKeyPem: readPrivateKeyFile(values.key) } : {}),
    ...(typeof values.username === 'string' ? { username: values.username } : {}),
    ...(typeof values.password === 'string' ? { password: values.password } : {}),
    ...(typeof values.ca === 'string' ? { caFile: values.ca } : {}),
  });
  if (r.ok) {
    process.stdout.write(`accepted by ${values.robot}: version ${r.version ?? '?'}${r.name ? ` ("${r.name}")` : ''}\n`);
    return 0;
  }
  process.stderr.write(`rejected by ${values.robot}: ${r.error ?? 'no reason given'}\n`);
  return 1;
}
