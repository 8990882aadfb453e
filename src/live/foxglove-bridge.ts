import { createServer, type Server } from 'node:http';
import foxglove from '@foxglove/ws-protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import { RewarddError } from '../core/errors.js';
import type { EpisodeEnd, EpisodeStart } from '../core/records.js';
import { decodeStepBatch } from '../episode/batch-codec.js';
import { healthJsonSchema } from './health.js';
import type { StepBatch } from '../episode/batch.js';
import {
  RowMessages, TOPICS, actionSchema, compressedImageSchema, episodeEndMessage, episodeSchema, episodeStartMessage,
  observationSchema, rewardSchema, safetySchema, stepSchema,
} from './foxglove-messages.js';

/**
 * The daemon's Foxglove WebSocket server (`--foxglove-port`): Foxglove (or any
 * @foxglove/ws-protocol client) connects to ws://robot:8765 and subscribes to
 * the channels of foxglove-messages.ts. Step rows are converted to JSON only
 * for channels somebody subscribed to, so an idle bridge costs one check per
 * batch. Each message's timestamp is the step's wall time, as in the MCAP
 * files, so a layout's time axis is the same live and on stored episodes.
 *
 * Bound: a client that reads slower than the robot produces (a laptop on a weak
 * Wi-Fi link) is not queued for without limit: while any client has more than
 * MAX_BUFFERED_BYTES unsent, step rows are dropped (counted in stats()), and a
 * client over 4x that is disconnected.
 */
// The package is CommonJS without named-export hints for Node's ESM loader.
const { FoxgloveServer } = foxglove;
type FoxgloveServer = InstanceType<typeof FoxgloveServer>;

export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface FoxgloveBridgeStats {
  clients: number;
  subscribedChannels: number;
  messagesSent: number;
  rowsDropped: number;
  clientsDropped: number;
}

export interface FoxgloveBridge {
  readonly url: string;
  readonly port: number;
  batch(bytes: Uint8Array): void;
  episodeStart(s: EpisodeStart): void;
  episodeEnd(e: EpisodeEnd): void;
  /** The 1 Hz health report (live/health.ts), already JSON. */
  status(json: string, wallMs: number): void;
  /**
   * The vision hook: a compressed camera frame, sent as foxglove.CompressedImage on
   * `/camera/<name>` (the channel is advertised on the first frame of that camera).
   */
  cameraFrame(name: string, data: Uint8Array, format: 'jpeg' | 'png', wallMs: number): void;
  stats(): FoxgloveBridgeStats;
  close(): Promise<void>;
}

const te = new TextEncoder();
const nsOf = (wallMs: number): bigint => BigInt(Math.max(0, Math.round(wallMs))) * 1_000_000n;
const MAX_CAMERAS = 16;

export async function startFoxgloveBridge(o: { host: string; port: number; robot: string }): Promise<FoxgloveBridge> {
  const server = new FoxgloveServer({ name: `rewardd ${o.robot}`, capabilities: [], supportedEncodings: ['json'], metadata: { robot: o.robot } });
  const http: Server = createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('Foxglove WebSocket protocol: open ws://this-address in Foxglove\n'));
  const wss = new WebSocketServer({ server: http, maxPayload: 1024 * 1024, handleProtocols: (p) => server.handleProtocols(p) });
  const clients = new Set<WebSocket>();
  // The HTTP server's listen error is re-emitted here; the listen below reports it.
  wss.on('error', () => {});
  const stats = { messagesSent: 0, rowsDropped: 0, clientsDropped: 0 };
  wss.on('connection', (ws, req) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    // ws's send overloads are wider than the library's IWebSocket; the object is the one it expects.
    server.handleConnection(ws as unknown as Parameters<FoxgloveServer['handleConnection']>[0], `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`);
  });
  server.on('error', () => {}); // a malformed client request: the library reports it to that client

  const subscribed = new Set<number>();
  server.on('subscribe', (id) => subscribed.add(id));
  server.on('unsubscribe', (id) => subscribed.delete(id));

  const json = (topic: string, schemaName: string, schema: object): number =>
    server.addChannel({ topic, encoding: 'json', schemaName, schema: JSON.stringify(schema), schemaEncoding: 'jsonschema' });
  const fixed = {
    safety: json(TOPICS.safety, 'rewardd.Safety', safetySchema()),
    episode: json(TOPICS.episode, 'rewardd.EpisodeEvent', episodeSchema()),
    status: json(TOPICS.status, 'rewardd.Health', healthJsonSchema()),
  };
  // Channels whose schema depends on names (observation, action, term names): advertised from
  // the first batch, and again when a reward version with other terms takes over.
  const shaped = new Map<string, { key: string; id: number }>();
  const reshape = (topic: string, key: string, schemaName: string, schema: () => object): number => {
    const cur = shaped.get(topic);
    if (cur && cur.key === key) return cur.id;
    if (cur) {
      subscribed.delete(cur.id);
      server.removeChannel(cur.id);
    }
    const id = json(topic, schemaName, schema());
    shaped.set(topic, { key, id });
    return id;
  };
  const cameras = new Map<string, number>();

  const send = (id: number, wallMs: number, msg: object): void => {
    server.sendMessage(id, nsOf(wallMs), te.encode(JSON.stringify(msg)));
    stats.messagesSent++;
  };
  /** True when every client can take more; disconnects one that fell hopelessly behind. */
  const roomToSend = (): boolean => {
    let ok = true;
    for (const c of clients) {
      if (c.bufferedAmount > 4 * MAX_BUFFERED_BYTES) {
        stats.clientsDropped++;
        c.terminate();
      } else if (c.bufferedAmount > MAX_BUFFERED_BYTES) ok = false;
    }
    return ok;
  };

  const rows = (b: StepBatch): void => {
    const names = `${b.observationNames.join(',')}|${b.actionNames.join(',')}|${b.obsRaw ? 'raw' : ''}`;
    const ch = {
      steps: reshape(TOPICS.steps, `${names}|${b.termNames.join(',')}`, 'rewardd.Step', () => stepSchema(b)),
      observation: reshape(TOPICS.observation, names, 'rewardd.Observation', () => observationSchema(b.observationNames, b.obsRaw !== undefined)),
      action: reshape(TOPICS.action, b.actionNames.join(','), 'rewardd.Action', () => actionSchema(b.actionNames)),
      reward: reshape(TOPICS.reward, b.termNames.join(','), 'rewardd.Reward', () => rewardSchema(b.termNames)),
    };
    const want = {
      steps: subscribed.has(ch.steps), observation: subscribed.has(ch.observation), action: subscribed.has(ch.action),
      reward: subscribed.has(ch.reward), safety: subscribed.has(fixed.safety),
    };
    if (!Object.values(want).some(Boolean)) return;
    if (!roomToSend()) {
      stats.rowsDropped += b.count;
      return;
    }
    const m = new RowMessages(b);
    for (let i = 0; i < b.count; i++) {
      const t = b.wallMs[i]!;
      if (want.steps) send(ch.steps, t, m.step(i));
      if (want.observation) send(ch.observation, t, m.observation(i));
      if (want.action) send(ch.action, t, m.action(i));
      if (want.reward) send(ch.reward, t, m.reward(i));
      if (want.safety) send(fixed.safety, t, m.safety(i));
    }
  };

  const port = await new Promise<number>((resolve, reject) => {
    http.once('error', (e) => reject(new RewarddError('E_CONFIG', `--foxglove-port: cannot listen on ${o.host}:${o.port}: ${e.message}`)));
    http.listen(o.port, o.host, () => {
      const a = http.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  let closing: Promise<void> | undefined;
  return {
    url: `ws://${o.host}:${port}`,
    port,
    batch: (bytes) => {
      // Decoding costs a copy of the batch: skipped unless a client is connected.
      if (clients.size > 0) rows(decodeStepBatch(bytes));
    },
    episodeStart: (s) => subscribed.has(fixed.episode) && send(fixed.episode, s.startedWallMs, episodeStartMessage(s)),
    episodeEnd: (e) => subscribed.has(fixed.episode) && send(fixed.episode, e.endedWallMs, episodeEndMessage(e)),
    status: (body, wallMs) => {
      if (subscribed.has(fixed.status)) {
        server.sendMessage(fixed.status, nsOf(wallMs), te.encode(body));
        stats.messagesSent++;
      }
    },
    cameraFrame: (name, data, format, wallMs) => {
      let id = cameras.get(name);
      if (id === undefined) {
        if (cameras.size >= MAX_CAMERAS) return;
        id = json(`/camera/${name}`, 'foxglove.CompressedImage', compressedImageSchema());
        cameras.set(name, id);
      }
      if (!subscribed.has(id) || !roomToSend()) return;
      const ns = nsOf(wallMs);
      send(id, wallMs, { timestamp: { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) }, frame_id: name, data: Buffer.from(data).toString('base64'), format });
    },
    stats: () => ({ clients: clients.size, subscribedChannels: subscribed.size, ...stats }),
    close: () =>
      (closing ??= (async () => {
        for (const c of clients) c.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        await new Promise<void>((r) => http.close(() => r()));
      })()),
  };
}
