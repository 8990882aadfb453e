/**
 * `rewardd dashboard --mqtt ws://ROBOT:9001`: serves the reward dashboard from
 * a laptop. The page connects to the broker's WebSocket listener itself; this
 * process serves the page and sends e-stop commands (a reset signed with --key).
 */
import { rewarddVersion } from '../core/version.js';
import { estopSender } from '../live/estop-sender.js';
import { startDashboardServer } from '../live/dashboard-server.js';
import { DEFAULT_PREFIX, checkPrefix, checkTopicLevel } from '../transport/topics.js';
import { readPrivateKeyFile } from '../trust/index.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd dashboard --mqtt ws://HOST:9001 [options]',
  '',
  'Serves the live reward dashboard on http://<host>:<port>/. The page reads the robot\'s',
  'topics from the broker over MQTT over WebSockets (the embedded broker listens on',
  '--broker-ws-port, 9001; Mosquitto as in docs/mosquitto/). Runs until Ctrl-C.',
  '',
  '  --mqtt URL          the broker\'s WebSocket listener, ws:// or wss://          (required)',
  '  --robot NAME        robot to show                          (default: the first one online)',
  '  --prefix P          MQTT topic prefix                                  (default: rewardd/v1)',
  '  --port N            HTTP port (0 = any free port)                            (default: 8080)',
  '  --host ADDR         address to listen on                                (default: 127.0.0.1)',
  '  --key FILE          sign e-stop resets with this key (rewardd keys new); resets are then',
  '                      accepted from a browser on this computer only   (default: none, unsigned)',
  '  --username U --password P   broker credentials, also handed to the page (default: none)',
  '  --timeout-ms N      how long to wait for the broker\'s PUBACK of an e-stop  (default: 5000)',
  '',
  'E-stop: the page\'s stop button publishes a stop itself and through this process; a reset',
  'goes through this process only. Exit 0 after Ctrl-C, 1 on failure, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'mqtt', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'port', type: 'string' },
  { flag: 'host', type: 'string' },
  { flag: 'key', type: 'string' },
  { flag: 'username', type: 'string' },
  { flag: 'password', type: 'string' },
  { flag: 'timeout-ms', type: 'string' },
];

export async function main(argv: string[]): Promise<number> {
  const usage = (m: string): number => {
    process.stderr.write(`rewardd dashboard: ${m}\n`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseFlags(argv, FLAGS));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const url = str('mqtt');
  if (!url) return usage('--mqtt: expected the broker\'s WebSocket URL (ws://HOST:9001), found nothing');
  const m = /^(mqtts?|tcp|ssl|tls):\/\/([^/:]+)/.exec(url);
  if (m) return usage(`--mqtt: expected ws:// or wss:// (a browser cannot speak MQTT over TCP), found ${url}; try --mqtt ${m[1] === 'mqtt' || m[1] === 'tcp' ? 'ws' : 'wss'}://${m[2]}:9001`);
  if (!/^wss?:\/\/[^/]+/.test(url)) return usage(`--mqtt: expected ws://HOST:PORT or wss://HOST:PORT, found ${url}`);
  const port = Number(str('port') ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usage(`--port: expected an integer in [0, 65535], found "${str('port')}"`);
  const timeoutMs = Number(str('timeout-ms') ?? '5000');
  if (!(timeoutMs > 0)) return usage(`--timeout-ms: expected a number > 0, found "${str('timeout-ms')}"`);
  const prefix = str('prefix') ?? DEFAULT_PREFIX;
  const robot = str('robot') ?? null;
  try {
    checkPrefix(prefix);
    if (robot !== null) checkTopicLevel('--robot', robot);
  } catch (e) {
    return usage((e as Error).message);
  }
  const key = str('key');
  const username = str('username');
  const password = str('password');
  const auth = { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
  let server;
  try {
    const privateKeyPem = key !== undefined ? readPrivateKeyFile(key) : undefined;
    server = await startDashboardServer({
      host: str('host') ?? '127.0.0.1',
      port,
      config: { robot, prefix, mqtt: { url, port: null, path: new URL(url).pathname, ...auth }, reset: privateKeyPem ? 'signed' : 'unsigned', servedBy: 'dashboard', version: rewarddVersion() },
      estop: estopSender({ url, prefix, timeoutMs, ...auth, ...(privateKeyPem ? { privateKeyPem } : {}) }),
    });
  } catch (e) {
    process.stderr.write(`rewardd dashboard: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`dashboard: ${server.url} (broker ${url}${robot ? `, robot ${robot}` : ''}; e-stop resets ${key ? `signed with ${key}` : 'unsigned: pass --key to sign them'})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
