/**
 * `rewardd record`: MQTT -> one MCAP file per episode + the SQLite catalog.
 * Parses arguments and runs a Recorder until SIGINT / SIGTERM.
 */
import { RewarddError } from '../core/errors.js';
import { Recorder, type RecorderOptions } from '../recorder/recorder.js';
import { DEFAULT_PREFIX } from '../transport/topics.js';
import { exitCodeOf, parseFlags, storeFlag, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd record --mqtt URL [--store DIR] [options]',
  '',
  'Subscribes to <prefix>/+/episodes/# and writes one MCAP file per episode (Foxglove opens',
  'them) to DIR/<robot>/<episode>.mcap, cataloged in DIR/catalog.sqlite. Runs until Ctrl-C.',
  '',
  '  --mqtt URL                  broker: mqtt://, mqtts:// (TLS), ws://, wss://   (required)',
  '  --store DIR                 the store: output folder (--out DIR: same)       (default: episodes)',
  '  --robot NAME                record only this robot                           (default: every robot)',
  '  --share GROUP               MQTT 5 shared subscription: recorders of one group split',
  '                              the fleet; they must share --store               (default: none)',
  '  --prefix P                  topic prefix                                     (default: rewardd/v1)',
  '  --client-id ID              stable id = persistent session: messages queue at the',
  '                              broker while the recorder is away                (default: random, clean session)',
  '  --incomplete-timeout-ms N   close an episode with no progress as incomplete  (default: 60000)',
  '  --incomplete-retention-h N  an incomplete episode keeps its staged batches   (default: 24)',
  '                              this long: late records reopen and complete it',
  '  --keepalive S               MQTT keepalive seconds                           (default: 10)',
  '  --username U --password P   broker credentials                               (default: none)',
  '  --ca FILE                   CA certificate (PEM) of a TLS broker             (default: system CAs)',
  '  --cert FILE --key FILE      client certificate and key (PEM) for mutual TLS  (default: none)',
  '  --insecure                  do not verify the broker certificate (lab only)  (default: off)',
  '',
  'Exit 0 after a clean stop, 1 on failure, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'mqtt', type: 'string' },
  { flag: 'store', type: 'string' },
  { flag: 'out', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'share', type: 'string' },
  { flag: 'prefix', type: 'string' },
  { flag: 'client-id', type: 'string' },
  { flag: 'incomplete-timeout-ms', type: 'string' },
  { flag: 'incomplete-retention-h', type: 'string' },
  { flag: 'keepalive', type: 'string' },
  { flag: 'username', type: 'string' },
  { flag: 'password', type: 'string' },
  { flag: 'ca', type: 'string' },
  { flag: 'cert', type: 'string' },
  { flag: 'key', type: 'string' },
  { flag: 'insecure', type: 'boolean' },
];

function positive(name: string, v: string | boolean | undefined, d: number): number {
  if (v === undefined) return d;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n <= 0) throw new RewarddError('E_CONFIG', `--${name}: expected a number > 0, found "${String(v)}"`);
  return n;
}

export function recorderOptions(values: Record<string, string | boolean>): RecorderOptions {
  const s = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const mqttUrl = s('mqtt');
  if (!mqttUrl) throw new RewarddError('E_CONFIG', '--mqtt: expected a broker URL such as mqtt://127.0.0.1:1883, found nothing');
  const o: RecorderOptions = {
    mqttUrl,
    outDir: storeFlag(values, 'episodes'),
    prefix: s('prefix') ?? DEFAULT_PREFIX,
    incompleteTimeoutMs: positive('incomplete-timeout-ms', values['incomplete-timeout-ms'], 60_000),
    incompleteRetentionMs: positive('incomplete-retention-h', values['incomplete-retention-h'], 24) * 3600_000,
    keepaliveS: positive('keepalive', values.keepalive, 10),
  };
  const opt = { robot: s('robot'), share: s('share'), clientId: s('client-id'), username: s('username'), password: s('password'), caFile: s('ca'), certFile: s('cert'), keyFile: s('key') };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  if (values.insecure === true) o.rejectUnauthorized = false;
  return o;
}

export async function main(argv: string[]): Promise<number> {
  let recorder: Recorder;
  let url = '';
  // A refusal no retry can cure (bad credentials...) ends the run: exit 1 with the broker's reason.
  let refusal: string | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const refused = (reason: string): void => {
    refusal ??= reason;
    stop();
  };
  try {
    const { values } = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    const o = recorderOptions(values);
    o.onEpisode = (row) =>
      process.stdout.write(`${row.status === 'complete' ? 'stored' : 'stored INCOMPLETE'} ${row.robot}/${row.episode}: ${row.steps} steps, return ${row.return?.toFixed(3) ?? '-'} -> ${row.file}\n`);
    o.onRefused = (reason) => refused(reason);
    url = o.mqttUrl;
    recorder = new Recorder(o);
    process.stdout.write(`recording ${o.prefix}/${o.robot ?? '+'}/episodes/# from ${o.mqttUrl}${o.share ? ` (share ${o.share})` : ''} into ${o.outDir}\n`);
  } catch (e) {
    process.stderr.write(`rewardd record: ${(e as Error).message}\n`);
    return exitCodeOf(e);
  }
  const progress = setInterval(() => {
    const s = recorder.stats();
    process.stdout.write(`${s.connected ? 'connected' : `DISCONNECTED${s.connectionError ? ` (${s.connectionError})` : ''}`} | messages ${s.received} | episodes ${s.episodesWritten} complete, ${s.episodesIncomplete} incomplete${s.waitingRetry > 0 ? ` | ${s.waitingRetry} records waiting to be staged again` : ''}${s.lateDropped > 0 ? ` | ${s.lateDropped} late records dropped` : ''}${s.lastError ? ` | last error: ${s.lastError}` : ''}\n`);
  }, 5000);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await stopped;
  clearInterval(progress);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  try {
    await recorder.close();
  } catch (e) {
    process.stderr.write(`rewardd record: ${(e as Error).message}\n`);
    return 1;
  }
  if (refusal !== undefined) {
    process.stderr.write(`rewardd record: E_MQTT: ${url}: ${refusal}; check --username, --password and the broker's ACL\n`);
    return 1;
  }
  return 0;
}
