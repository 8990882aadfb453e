import { homedir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, IPublishPacket } from 'mqtt';
import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import { RewarddError, describeValue } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import { Outbox } from '../outbox/outbox.js';
import type { OutboxOptions } from '../outbox/options.js';
import { RecordKind } from '../outbox/record-format.js';
import { resolveConnection, type MqttConnectionOptions } from './connection-options.js';
import { shareStoredPayloads } from './share-stored-payloads.js';
import { connectManaged, type ManagedClient } from './connection.js';
import { episodeTopics, DEFAULT_PREFIX, type RobotTopics } from './topics.js';
import { handleCommand, type CommandHandlers } from './commands.js';

/**
 * The robot's side of the episode log. Every call is made from the daemon's
 * main thread and returns at once: episode records go to the disk outbox, a
 * pump publishes them QoS 1 in order within a bounded in-flight window, and a
 * record leaves the outbox only on its PUBACK. A dead broker never makes a call
 * block or throw; it only grows `pending`.
 */
export interface PublisherOptions extends MqttConnectionOptions {
  robot: string;
  /** Default 'rewardd/v1'. */
  prefix?: string;
  /** Default ~/.local/state/rewardd/outbox/<robot>. */
  outboxDir?: string;
  /** Outbox bounds and policies (docs/outbox.md). */
  outbox?: Omit<OutboxOptions, 'dir' | 'clock'>;
  /** Records published and not yet acknowledged, at most (bounds mqtt.js's in-memory outgoing store too). Default 256. */
  inflightWindow?: number;
  /** `live` messages per second, at most (the rest are dropped). Default 10. */
  liveMaxHz?: number;
  /** Versions announced in the birth message. */
  versions?: Record<string, string>;
  /** Keep the MQTT session (and queued commands) across reconnects. Default false: a stale reward push or e-stop reset must not arrive late. */
  persistentSession?: boolean;
  clock?: Clock;
}

export interface PublisherStats {
  connected: boolean;
  protocolVersion: 5 | 4;
  /** Steps acknowledged by the broker. */
  published: number;
  /** Steps in the outbox, not yet acknowledged. */
  pending: number;
  outboxBytes: number;
  outboxRecords: number;
  inflight: number;
  droppedSteps: number;
  droppedRecords: number;
  quarantinedRanges: number;
  replayedRecords: number;
  acceptingEpisodes: boolean;
  outboxFull: boolean;
  reconnects: number;
  /** Publishes that came back with an error (each is sent again; see publishFailed). */
  publishErrors: number;
  lastPublishError?: string;
  writeErrors: number;
  lastError?: string;
}

export const DEFAULT_INFLIGHT_WINDOW = 256;
const REFUSED_MEMORY = 1024;
/** Pause before a record the broker refused is offered again. */
const REFUSAL_RETRY_MS = 2000;

export class EpisodePublisher {
  readonly topics: RobotTopics;
  private readonly outbox: Outbox;
  private readonly mc: ManagedClient;
  private readonly window: number;
  private readonly clock: Clock;
  private readonly liveMinGapNs: bigint;
  private lastLiveNs = -1n << 62n;
  private inflight = 0;
  private pumping = false;
  private publishErrors = 0;
  private lastPublishError: string | undefined;
  private rewardActive: string | undefined;
  private handlers: CommandHandlers | undefined;
  /** Episodes whose start the full-policy refused: their steps and end are refused too. */
  private readonly refused = new Set<string>();
  private closing = false;

  private constructor(o: PublisherOptions, outbox: Outbox, private readonly versions: Record<string, string>) {
    this.topics = episodeTopics(o.prefix ?? DEFAULT_PREFIX, o.robot);
    this.clock = o.clock ?? systemClock;
    this.window = o.inflightWindow ?? DEFAULT_INFLIGHT_WINDOW;
    this.liveMinGapNs = BigInt(Math.round(1e9 / (o.liveMaxHz ?? 10)));
    this.outbox = outbox;
    const conn = resolveConnection(o, `robot-${o.robot}`);
    const persistent = o.persistentSession ?? false;
    const extra: Partial<IClientOptions> = {
      clean: !persistent,
      ...(persistent && conn.protocol !== 4 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      will: { topic: this.topics.status, payload: Buffer.from(this.statusBody('offline', 'lost')), qos: 1, retain: true },
    };
    this.mc = connectManaged(conn, extra);
    const c = this.mc.client;
    shareStoredPayloads(c);
    c.on('connect', () => this.onConnect());
    c.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      if (this.handlers) handleCommand(c, this.topics, this.handlers, topic, payload, packet);
    });
    this.outbox.onReady = () => this.pump();
  }

  static async open(o: PublisherOptions): Promise<EpisodePublisher> {
    // Every option is checked before the outbox touches the disk.
    episodeTopics(o.prefix ?? DEFAULT_PREFIX, o.robot);
    resolveConnection(o, 'check');
    const window = o.inflightWindow ?? DEFAULT_INFLIGHT_WINDOW;
    if (!Number.isSafeInteger(window) || window < 1) throw new RewarddError('E_CONFIG', `inflightWindow: expected an integer >= 1, found ${describeValue(window)}`);
    const hz = o.liveMaxHz ?? 10;
    if (typeof hz !== 'number' || !(hz > 0)) throw new RewarddError('E_CONFIG', `liveMaxHz: expected a number > 0, found ${describeValue(hz)}`);
    const dir = o.outboxDir ?? join(homedir(), '.local', 'state', 'rewardd', 'outbox', o.robot);
    const outbox = await Outbox.open({ ...o.outbox, dir, ...(o.clock ? { clock: o.clock } : {}) });
    return new EpisodePublisher(o, outbox, { node: process.version, ...o.versions });
  }

  private statusBody(state: 'online' | 'offline', reason: string): string {
    return JSON.stringify({ state, reason, robot: this.topics.robot, versions: this.versions, wallMs: this.clock.wallMs() });
  }

  private onConnect(): void {
    const c = this.mc.client;
    c.publish(this.topics.status, this.statusBody('online', 'connected'), { qos: 1, retain: true });
    if (this.rewardActive !== undefined) c.publish(this.topics.rewardActive, this.rewardActive, { qos: 1, retain: true });
    if (this.handlers) this.subscribeCommandTopics();
    this.pump();
  }

  private subscribeCommandTopics(): void {
    this.mc.client.subscribe([this.topics.rewardSet, this.topics.estop, this.topics.arm, this.topics.episodeNext], { qos: 1 });
  }

  /** Steps not yet acknowledged by the broker (stats().pending), cheap enough to read per batch for back-pressure. */
  get pendingSteps(): number {
    return this.outbox.pendingSteps;
  }

  /** True unless the outbox full-policy refuses new episodes (the daemon should hold off and alarm). */
  get acceptingEpisodes(): boolean {
    return this.outbox.acceptingEpisodes;
  }

  /** Returns false if the outbox full-policy refused the episode. */
  publishStart(start: EpisodeStart): boolean {
    const ok = this.outbox.append({ kind: RecordKind.start, topic: this.topics.episodeStart(start.episode), steps: 0, payload: Buffer.from(JSON.stringify(start)) });
    if (!ok) {
      if (this.refused.size >= REFUSED_MEMORY) this.refused.clear();
      this.refused.add(start.episode);
    }
    return ok;
  }

  /** `bytes` is an encoded step batch; the publisher owns it from here on (do not reuse it). */
  publishBatch(episode: string, seq0: number, count: number, bytes: Uint8Array): boolean {
    void seq0; // (episode, seq0) travels inside the batch; the recorder de-duplicates on it.
    if (this.refused.has(episode)) return this.outbox.refuse(count);
    return this.outbox.append({ kind: RecordKind.steps, topic: this.topics.episodeSteps(episode), steps: count, payload: bytes });
  }

  /** A vision batch (src/vision/vision-batch.ts): episode data like steps, carrying no steps. */
  publishVision(episode: string, bytes: Uint8Array): boolean {
    if (this.refused.has(episode)) return this.outbox.refuse(0);
    return this.outbox.append({ kind: RecordKind.steps, topic: this.topics.episode(episode, 'vision'), steps: 0, payload: bytes });
  }

  publishEnd(end: EpisodeEnd): boolean {
    if (this.refused.delete(end.episode)) return this.outbox.refuse(0);
    return this.outbox.append({ kind: RecordKind.end, topic: this.topics.episodeEnd(end.episode), steps: 0, payload: Buffer.from(JSON.stringify(end)) });
  }

  /** QoS 0, at most liveMaxHz, only while connected: live views are best-effort by design. */
  publishLive(payload: Uint8Array | string | object): boolean {
    const now = this.clock.nowNs();
    if (!this.mc.client.connected || now - this.lastLiveNs < this.liveMinGapNs) return false;
    this.lastLiveNs = now;
    const body = typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload);
    this.mc.client.publish(this.topics.live, typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength), { qos: 0 });
    return true;
  }

  /**
   * QoS 0, only while connected: a camera frame for live views (dashboard camera panel) on
   * camera/<name>. The daemon sends only the frames it logs (every --vision-log-frames-th), so the
   * rate is bounded by the camera's; never for an mqtt camera, whose frames already arrive there.
   */
  publishCamera(camera: string, jpeg: Uint8Array): boolean {
    if (!this.mc.client.connected) return false;
    this.mc.client.publish(`${this.topics.base}/camera/${camera}`, Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength), { qos: 0 });
    return true;
  }

  /** QoS 0, only while connected: the 1 Hz health report (`health` topic) for dashboards. */
  publishHealth(body: string): boolean {
    if (!this.mc.client.connected) return false;
    this.mc.client.publish(this.topics.health, body, { qos: 0 });
    return true;
  }

  /** Retained; re-sent on every reconnect so the broker's copy is never older than ours. */
  setRewardActive(info: object): void {
    this.rewardActive = JSON.stringify(info);
    if (this.mc.client.connected) this.mc.client.publish(this.topics.rewardActive, this.rewardActive, { qos: 1, retain: true });
  }

  subscribeCommands(handlers: CommandHandlers): void {
    this.handlers = handlers;
    if (this.mc.client.connected) this.subscribeCommandTopics();
  }

  private pump(): void {
    if (this.pumping || this.closing && !this.mc.client.connected) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.mc.client.connected && this.inflight < this.window) {
          const r = await this.outbox.takeNext();
          if (!r) break;
          this.inflight += 1;
          const p = r.payload;
          this.mc.client.publish(r.topic, Buffer.from(p.buffer, p.byteOffset, p.byteLength), { qos: 1 }, (err) => {
            this.inflight -= 1;
            if (!err) this.outbox.ack(r.id);
            else this.publishFailed(r.id, err);
            this.pump();
          });
        }
      } finally {
        this.pumping = false;
      }
    })();
  }

  /**
   * A publish that came back with an error is sent again, never left behind: mqtt.js fails the
   * publishes it had queued when the link drops again while it is still resending its stored
   * ones (they were never stored, so no reconnect resends them). Those go back at once (the pump
   * runs only while connected). A broker refusal (an MQTT 5 reason code, e.g. not authorised) is
   * retried after a pause, so a misconfigured ACL costs one attempt per record per pause, not a
   * busy loop; it shows in stats().lastPublishError.
   */
  private publishFailed(id: number, err: Error): void {
    this.publishErrors += 1;
    this.lastPublishError = err.message;
    if (typeof (err as { code?: unknown }).code !== 'number') return this.outbox.giveBack(id);
    const t = setTimeout(() => {
      this.outbox.giveBack(id);
      this.pump();
    }, REFUSAL_RETRY_MS);
    t.unref();
  }

  stats(): PublisherStats {
    const s = this.outbox.stats();
    const last = this.mc.lastError();
    return {
      connected: this.mc.client.connected,
      protocolVersion: this.mc.protocolVersion(),
      published: s.ackedSteps,
      pending: s.pendingSteps,
      outboxBytes: s.pendingBytes,
      outboxRecords: s.pendingRecords,
      inflight: this.inflight,
      droppedSteps: s.droppedSteps,
      droppedRecords: s.droppedRecords,
      quarantinedRanges: s.quarantinedRanges,
      replayedRecords: s.replayedRecords,
      acceptingEpisodes: s.acceptingEpisodes,
      outboxFull: s.full,
      reconnects: this.mc.reconnects(),
      publishErrors: this.publishErrors,
      ...(this.lastPublishError !== undefined ? { lastPublishError: this.lastPublishError } : {}),
      writeErrors: s.writeErrors,
      ...(last !== undefined ? { lastError: last } : {}),
    };
  }

  /** Resolves when every queued record is acknowledged, or false after timeoutMs. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = this.clock.nowNs() + BigInt(Math.round(timeoutMs * 1e6));
    while (this.outbox.stats().pendingRecords > 0) {
      if (this.clock.nowNs() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Flushes what it can within timeoutMs (default 3000), publishes the offline status, ends. */
  async close(timeoutMs = 3000): Promise<void> {
    if (this.closing) return;
    await this.drain(timeoutMs);
    this.closing = true;
    const c = this.mc.client;
    if (c.connected) {
      await Promise.race([
        new Promise<void>((r) => c.publish(this.topics.status, this.statusBody('offline', 'shutdown'), { qos: 1, retain: true }, () => r())),
        new Promise<void>((r) => setTimeout(r, Math.min(1000, timeoutMs)).unref()),
      ]);
      const ended = await Promise.race([
        new Promise<boolean>((r) => c.end(false, {}, () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
      ]);
      if (!ended) await new Promise<void>((r) => c.end(true, {}, () => r()));
    } else {
      await new Promise<void>((r) => c.end(true, {}, () => r()));
    }
    await this.outbox.close();
  }
}
