import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IPublishPacket, MqttClient, Packet } from 'mqtt';
import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import { RewarddError, describeValue } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import { decodeStepBatch } from '../episode/batch-codec.js';
import { Catalog, type EpisodeRow, type IngestItem } from '../store/catalog.js';
import { Staging } from '../store/staging.js';
import { IngestQueue, resolveGroupCommit, type GroupCommitOptions } from '../store/ingest-queue.js';
import { resolveConnection, type MqttConnectionOptions } from '../transport/connection-options.js';
import { connectManaged, permanentRefusal, type ManagedClient } from '../transport/connection.js';
import { DEFAULT_PREFIX, checkTopicLevel, episodeFilter, parseEpisodeTopic, sharedFilter } from '../transport/topics.js';
import { writeEpisodeFiles } from './episode-files.js';
import { peekStepBatch } from './batch-peek.js';
import { decodeVisionBatch, peekVisionBatch, type VisionBatch } from '../vision/vision-batch.js';
import { VISION_SEQ0_BASE } from '../vision/recorder-hook.js';

/**
 * `rewardd record`: subscribes to episode topics, stages every received record
 * in the catalog before acknowledging it (so a recorder crash loses nothing),
 * and writes one MCAP file per episode once its end record and all its steps
 * are in, or as incomplete after `incompleteTimeoutMs` without progress.
 */
export interface RecorderOptions extends MqttConnectionOptions {
  outDir: string;
  /** Default 'rewardd/v1'. */
  prefix?: string;
  /** Record only this robot. Default: every robot under the prefix. */
  robot?: string;
  /** MQTT shared-subscription group: recorders of one group split the fleet's messages (they must share outDir). */
  share?: string;
  /** An episode without progress for this long is closed as incomplete. Default 60000 ms. */
  incompleteTimeoutMs?: number;
  /**
   * How long an incomplete episode keeps its staged batches, so that records arriving late (an
   * outage longer than incompleteTimeoutMs) reopen it and it is written again with them.
   * Default 24 h. Afterwards late records are counted (lateDropped) and dropped.
   */
  incompleteRetentionMs?: number;
  /** How often finished episodes are looked for. Default 250 ms. */
  finalizeIntervalMs?: number;
  /** Keep the broker session (messages queue at the broker while the recorder is away). Default: true when clientId is given. */
  persistentSession?: boolean;
  /** Write each finished episode's columnar copy (`<episode>.columns`, for fast relabels) beside its MCAP file. Default true. */
  columns?: boolean;
  /** Group commit bounds (src/store/ingest-queue.ts): defaults 64 messages, 8 MiB, 2 ms. */
  groupCommit?: GroupCommitOptions;
  onEpisode?: (row: EpisodeRow) => void;
  /**
   * The broker refused the recorder in a way no retry can fix (bad credentials, not authorized:
   * transport/connection.ts permanentRefusal). The recorder keeps retrying; `rewardd record`
   * exits on it.
   */
  onRefused?: (reason: string) => void;
  clock?: Clock;
}

export interface RecorderStats {
  connected: boolean;
  /** While disconnected: why the last connection attempt failed (ECONNREFUSED, ENOTFOUND, a CONNACK refusal...). */
  connectionError?: string;
  received: number;
  badMessages: number;
  ingestErrors: number;
  episodesWritten: number;
  episodesIncomplete: number;
  writeErrors: number;
  /** Staged batches that could not be read back when their episode was written (left out as gaps). */
  unreadableBatches: number;
  /** Episodes whose columns file could not be written (their MCAP file was; relabel makes the copy). */
  columnErrors: number;
  /** Records committed (staged) and group commits that did it. */
  committed: number;
  groups: number;
  /** Received records held, unacknowledged, after a failed commit until it is retried. */
  waitingRetry: number;
  /** Records that came for an incomplete episode after its staged batches were purged (incompleteRetentionMs). */
  lateDropped: number;
  /** Records that could not be stored for a reason other than the disk or SQLite, given up on and acknowledged (see IngestQueue). */
  refusedRecords: number;
  lastError?: string;
}

type SendPacket = (packet: Packet, cb?: (e?: Error) => void, ...rest: unknown[]) => void;

const STALE_CLAIM_MS = 5 * 60_000;

/**
 * The fields of start and end records that the catalog stores and the episode file is built
 * from (path, type, required). A record whose JSON parses but has, say, "steps": true would fail
 * in SQLite on every commit, and one without endedWallMs would fail the file on every pass; it
 * is refused here as a bad message instead (counted and acknowledged).
 */
type Field = [path: string[], type: 'number' | 'string' | 'object', required: boolean];
const START_FIELDS: Field[] = [
  [['index'], 'number', false], [['startedWallMs'], 'number', true],
  [['reward'], 'object', true], [['reward', 'hash'], 'string', true], [['reward', 'name'], 'string', true], [['reward', 'content'], 'string', true],
  [['policy'], 'object', true], [['policy', 'hash'], 'string', true],
  [['calibration'], 'object', true], [['calibration', 'hash'], 'string', true],
  [['robotDescription'], 'object', true], [['robotDescription', 'hash'], 'string', true],
];
const END_FIELDS: Field[] = [[['steps'], 'number', false], [['endedWallMs'], 'number', true], [['reason'], 'string', false]];

function checkFields(record: unknown, fields: Field[]): unknown {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new Error(`expected a JSON object, found ${describeValue(record)}`);
  for (const [path, type, required] of fields) {
    let v: unknown = record;
    for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    if (v === undefined || v === null) {
      if (required) throw new Error(`${path.join('.')}: expected a ${type}, found nothing`);
      continue;
    }
    const ok = type === 'number' ? typeof v === 'number' && Number.isFinite(v) : type === 'object' ? typeof v === 'object' && !Array.isArray(v) : typeof v === type;
    if (!ok) throw new Error(`${path.join('.')}: expected a ${type === 'number' ? 'finite number' : type}, found ${describeValue(v)}`);
  }
  return record;
}

export class Recorder {
  readonly catalog: Catalog;
  private readonly staging: Staging;
  private readonly queue: IngestQueue;
  /** Set while mqtt.js handles one message: receives the PUBACK it sends, to be held until the commit. */
  private capture: ((p: Packet) => void) | undefined;
  private readonly mc: ManagedClient;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly timeoutNs: bigint;
  private readonly retentionMs: number;
  private readonly owner: string;
  private readonly timer: NodeJS.Timeout;
  private readonly seen = new Map<string, { activity: number; sinceNs: bigint }>();
  private finalizing: Promise<void> | undefined;
  private closed = false;
  private readonly s = { received: 0, badMessages: 0, ingestErrors: 0, episodesWritten: 0, episodesIncomplete: 0, writeErrors: 0, unreadableBatches: 0, columnErrors: 0 };
  private lastError: string | undefined;
  private connectionError: string | undefined;

  constructor(private readonly o: RecorderOptions) {
    this.prefix = o.prefix ?? DEFAULT_PREFIX;
    const filter = episodeFilter(this.prefix, o.robot);
    const topic = o.share !== undefined ? sharedFilter(o.share, filter) : filter;
    const group = resolveGroupCommit(o.groupCommit);
    const timeoutMs = o.incompleteTimeoutMs ?? 60_000;
    if (!(timeoutMs > 0)) throw new RewarddError('E_CONFIG', `incompleteTimeoutMs: expected > 0, found ${describeValue(timeoutMs)}`);
    this.timeoutNs = BigInt(Math.round(timeoutMs * 1e6));
    this.retentionMs = o.incompleteRetentionMs ?? 24 * 3600_000;
    if (!(this.retentionMs >= 0)) throw new RewarddError('E_CONFIG', `incompleteRetentionMs: expected >= 0, found ${describeValue(o.incompleteRetentionMs)}`);
    this.clock = o.clock ?? systemClock;
    const conn = resolveConnection(o, 'recorder'); // bad options fail before anything is created on disk
    mkdirSync(o.outDir, { recursive: true });
    this.catalog = new Catalog(o.outDir);
    this.staging = new Staging(o.outDir, conn.clientId);
    // Staging left by a crash between "file written" and "staging removed".
    for (const ep of this.staging.episodes()) {
      const st = this.catalog.get(ep)?.status;
      // Complete, or incomplete with its staged batches already purged (a crash between the purge and the unlink).
      if (st === 'complete' || (st === 'incomplete' && !this.catalog.hasStagedBatches(ep))) this.staging.remove(ep);
    }
    this.queue = new IngestQueue(this.catalog, this.staging, group, (e) => {
      this.s.ingestErrors += 1;
      this.lastError = e.message;
    });
    this.owner = conn.clientId;
    const persistent = o.persistentSession ?? o.clientId !== undefined;
    // MQTT 5 Receive Maximum: how many unacknowledged messages the broker may send us. Group
    // commit holds PUBACKs for up to a group, so the broker's default in-flight limit (Mosquitto:
    // 20) would cap every group at 20 and make each one wait out maxDelayMs. Four groups' worth
    // lets one group commit while the next arrives; it also bounds what mqtt.js buffers for us.
    const receiveMaximum = Math.min(65535, 4 * group.maxMessages);
    this.mc = connectManaged(conn, {
      clean: !persistent,
      ...(conn.protocol !== 4 ? { properties: { receiveMaximum, ...(persistent ? { sessionExpiryInterval: 24 * 3600 } : {}) } } : {}),
    });
    const c = this.mc.client;
    c.on('connect', () => c.subscribe(topic, { qos: 1 }, (e) => e && (this.lastError = e.message)));
    c.on('connect', () => (this.connectionError = undefined));
    c.on('error', (e: Error & { code?: unknown }) => {
      this.connectionError = e.message;
      const refused = permanentRefusal(e);
      if (refused !== undefined) this.o.onRefused?.(refused);
    });
    // Acknowledge a message only after it is staged. mqtt.js handles one message at a time and
    // sends its PUBACK when handleMessage calls back, so calling back only after a commit would
    // stall the stream at one message per commit. Instead handleMessage calls back at once and
    // the PUBACK it sends is captured and held until the group commit that stages the message.
    const send = this.holdPubacks(c);
    c.handleMessage = (packet: IPublishPacket, done: (e?: Error) => void) => {
      const item = this.parse(packet);
      if (!item) return done(); // unreadable: acknowledged now (nothing to stage)
      const stream = c.stream;
      let held: Packet | undefined;
      this.capture = (p) => (held = p);
      try {
        done();
      } finally {
        this.capture = undefined;
      }
      // A QoS 1 PUBACK that did not pass through the capture went out before staging: say so loudly.
      if (packet.qos === 1 && !held) this.lastError = 'mqtt.js sent a PUBACK outside the group commit (has its _sendPacket changed?)';
      this.queue.push(item, () => {
        // An ack of an older connection must not reach a new one (message ids are per session):
        // the broker resends that message, and the catalog ignores it as a replay.
        if (held && c.stream === stream && c.connected) send(held);
      });
    };
    this.timer = setInterval(() => void this.finalizePass(false), o.finalizeIntervalMs ?? 250);
  }

  /**
   * Wraps mqtt.js's (internal, stable through mqtt 5) `_sendPacket` so that a PUBACK sent while
   * `capture` is set is held instead of written; returns the unwrapped sender.
   */
  private holdPubacks(c: MqttClient): SendPacket {
    const target = c as unknown as { _sendPacket: SendPacket };
    if (typeof target._sendPacket !== 'function') throw new RewarddError('E_CONFIG', `mqtt client: expected a _sendPacket method to hold PUBACKs, found ${typeof target._sendPacket}`);
    const orig = target._sendPacket.bind(c);
    target._sendPacket = (packet, cb, ...rest) => {
      const capture = this.capture;
      if (capture && packet.cmd === 'puback') {
        capture(packet);
        // mqtt.js continues with its next packet from this callback: not re-entrantly.
        if (cb) process.nextTick(cb);
        return;
      }
      orig(packet, cb, ...rest);
    };
    return (p) => orig(p);
  }

  /** The record a message carries, or undefined (counted) when nobody can ever read it. */
  private parse(packet: IPublishPacket): IngestItem | undefined {
    this.s.received += 1;
    const t = parseEpisodeTopic(this.prefix, packet.topic);
    const payload = packet.payload as Buffer;
    try {
      if (!t) throw new Error(`topic ${packet.topic} is not an episode topic`);
      if (t.kind === 'vision') {
        // Staged like a step batch carrying no steps, keyed past any step's seq (src/vision/recorder-hook.ts).
        const v = peekVisionBatch(payload);
        if (v.episode !== t.episode) throw new Error(`vision batch of episode ${v.episode} on the topic of ${t.episode}`);
        return { kind: 'steps', robot: t.robot, episode: t.episode, seq0: VISION_SEQ0_BASE + v.index, count: 0, bytes: payload };
      }
      if (t.kind === 'steps') {
        const b = peekStepBatch(payload);
        if (b.episode !== t.episode) throw new Error(`batch of episode ${b.episode} on the topic of ${t.episode}`);
        return { kind: 'steps', robot: t.robot, episode: t.episode, seq0: b.seq0, count: b.count, bytes: payload };
      }
      const json = payload.toString('utf8');
      const record = JSON.parse(json) as unknown;
      if (t.kind === 'start') return { kind: 'start', robot: t.robot, episode: t.episode, start: checkFields(record, START_FIELDS) as EpisodeStart, json };
      return { kind: 'end', robot: t.robot, episode: t.episode, end: checkFields(record, END_FIELDS) as EpisodeEnd, json };
    } catch (e) {
      // A message nobody can ever read must not block the session: count it and acknowledge it.
      this.s.badMessages += 1;
      this.lastError = `bad message on ${packet.topic}: ${(e as Error).message}`;
      return undefined;
    }
  }

  /** One look at unfinished episodes; `closing` skips timeouts (a shutdown is not a stall). */
  finalizePass(closing: boolean): Promise<void> {
    return (this.finalizing ??= this.runFinalize(closing).finally(() => (this.finalizing = undefined)));
  }

  private async runFinalize(closing: boolean): Promise<void> {
    const now = this.clock.nowNs();
    this.catalog.releaseStale(this.clock.wallMs(), STALE_CLAIM_MS);
    for (const ep of this.catalog.purgeIncomplete(this.clock.wallMs() - this.retentionMs)) this.staging.remove(ep);
    for (const p of this.catalog.pending()) {
      const seen = this.seen.get(p.episode);
      if (!seen || seen.activity !== p.activity) this.seen.set(p.episode, { activity: p.activity, sinceNs: now });
      const ready = p.hasStart && p.hasEnd && p.expectedSteps !== null && p.stagedSteps >= p.expectedSteps;
      const stalled = !closing && seen !== undefined && seen.activity === p.activity && now - seen.sinceNs > this.timeoutNs;
      if (ready || stalled) await this.writeEpisode(p.episode, p.robot, ready ? 'complete' : 'incomplete', p.activity);
    }
  }

  private async writeEpisode(episode: string, robot: string, status: 'complete' | 'incomplete', activity: number): Promise<void> {
    if (!this.catalog.claim(episode, this.owner, this.clock.wallMs())) return;
    this.seen.delete(episode);
    const dir = join(this.o.outDir, checkTopicLevel('robot', robot));
    const file = join(dir, `${episode}.mcap`);
    try {
      mkdirSync(dir, { recursive: true });
      const { start, end } = this.catalog.records(episode);
      const staging = this.staging;
      const unreadable = (seq0: number, e: Error): void => {
        this.s.unreadableBatches += 1;
        this.lastError = `episode ${episode}: staged batch at step ${seq0} left out: ${e.message}`;
      };
      const vision: VisionBatch[] = [];
      const batches = (function* (cat: Catalog) {
        for (const staged of cat.stagedBatches(episode, staging)) {
          if (staged.seq0 >= VISION_SEQ0_BASE && 'bytes' in staged) {
            try {
              vision.push(decodeVisionBatch(staged.bytes));
            } catch (e) {
              unreadable(staged.seq0, e as Error);
            }
            continue;
          }
          // Checked at ingest already; a batch that can no longer be read or decoded (a damaged
          // staging file) becomes a gap, counted in "missing", not a stuck episode.
          if ('error' in staged) {
            unreadable(staged.seq0, staged.error);
            continue;
          }
          let batch;
          try {
            batch = decodeStepBatch(staged.bytes);
          } catch (e) {
            unreadable(staged.seq0, e as Error);
            continue;
          }
          yield batch;
        }
      })(this.catalog);
      const written = await writeEpisodeFiles(file, { episode, robot, start, end, status, batches, vision }, { columns: this.o.columns ?? true });
      if (written.columnsError !== undefined) {
        this.s.columnErrors += 1;
        this.lastError = `episode ${episode}: columns file not written (relabel will make it): ${written.columnsError}`;
      }
      const columns = written.columns ? { ...written.columns, wallMs: this.clock.wallMs() } : null;
      const now = this.catalog.finish(episode, { file, ...written.summary, columns }, activity);
      // Staging goes once the episode is complete; an incomplete one keeps it, so late records
      // (after an outage longer than the timeout) can reopen it (Catalog.ingest, purgeIncomplete).
      if (now === 'complete') {
        this.staging.remove(episode);
        this.s.episodesWritten += 1;
      } else if (now === 'incomplete') this.s.episodesIncomplete += 1;
      const row = now === 'recording' ? undefined : this.catalog.get(episode); // reopened: reported when it is written again
      if (row) this.o.onEpisode?.(row);
    } catch (e) {
      this.s.writeErrors += 1;
      this.lastError = `episode ${episode}: ${(e as Error).message}`;
      this.catalog.release(episode);
    }
  }

  stats(): RecorderStats {
    const q = this.queue.stats();
    const connected = this.mc.client.connected;
    const connectionError = connected ? undefined : this.connectionError;
    return { connected, ...(connectionError !== undefined ? { connectionError } : {}), ...this.s, committed: q.committed, groups: q.groups, waitingRetry: q.waitingRetry, refusedRecords: q.refused, lateDropped: this.catalog.lateDropped, ...(this.lastError !== undefined ? { lastError: this.lastError } : {}) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.queue.commit(); // acknowledged while the connection is still up
    const ended = await Promise.race([
      new Promise<boolean>((r) => this.mc.client.end(false, {}, () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
    ]);
    if (!ended) await new Promise<void>((r) => this.mc.client.end(true, {}, () => r()));
    while (this.finalizing) await this.finalizing;
    this.queue.commit(); // staged; the broker resends these (unacknowledged) and the catalog ignores them
    await this.finalizePass(true);
    this.queue.close();
    this.staging.close();
    this.catalog.close();
  }
}
