import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { RewarddError } from '../core/errors.js';

/**
 * The zero-setup broker: aedes in-process on a TCP port of this host, and
 * optionally on a WebSocket port too (MQTT over WebSockets, subprotocol
 * "mqtt", any path), which is how a browser (the live dashboard) talks MQTT.
 * aedes 1.x speaks MQTT 3.1.1 only; the publisher and recorder fall back to
 * 3.1.1 when a broker refuses MQTT 5 (see docs/mqtt.md).
 */
export interface EmbeddedBroker {
  url: string;
  port: number;
  /** ws://host:port of the WebSocket listener, or null when it is off. */
  wsUrl: string | null;
  wsPort: number | null;
  /** Why the WebSocket listener asked for is not running (its port was taken...), or null. Not fatal: the TCP broker runs. */
  wsError: string | null;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host?: string;
  /** TCP port; 0 = any free port. Default 0. */
  port?: number;
  /** WebSocket port; 0 = any free port; null or undefined = no WebSocket listener. */
  wsPort?: number | null;
}

/** A browser sends a whole MQTT packet per WebSocket message; one far larger than a reward push is refused. */
const WS_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

function listen(server: Server | HttpServer, host: string, port: number, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (e) => reject(new RewarddError('E_MQTT', `embedded broker: cannot listen (${what}) on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await listen(server, host, opts.port ?? 0, 'TCP');
  let wsError: string | null = null;
  let ws: { http: HttpServer; wss: WebSocketServer; clients: Set<WebSocket>; port: number } | null = null;
  if (opts.wsPort !== undefined && opts.wsPort !== null) {
    const http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSockets: connect with subprotocol "mqtt"\n');
    });
    const wss = new WebSocketServer({ server: http, maxPayload: WS_MAX_PAYLOAD_BYTES, handleProtocols: (p) => (p.has('mqtt') ? 'mqtt' : p.has('mqttv3.1') ? 'mqttv3.1' : false) });
    const clients = new Set<WebSocket>();
    // The HTTP server's listen error is re-emitted here; listen() below reports it.
    wss.on('error', () => {});
    wss.on('connection', (socket) => {
      clients.add(socket);
      socket.on('close', () => clients.delete(socket));
      const stream = createWebSocketStream(socket);
      // A browser tab closed mid-packet surfaces as a stream error: the connection ends, the broker goes on.
      stream.on('error', () => socket.terminate());
      broker.handle(stream as unknown as Socket);
    });
    try {
      ws = { http, wss, clients, port: await listen(http, host, opts.wsPort, 'WebSocket') };
    } catch (e) {
      // The robot's own logging does not need it: a viewer port taken by another program is reported, not fatal.
      wss.close();
      wsError = (e as Error).message;
    }
  }
  let closed: Promise<void> | undefined;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    wsUrl: ws ? `ws://${host}:${ws.port}` : null,
    wsPort: ws ? ws.port : null,
    wsError,
    close: () =>
      (closed ??= (async () => {
        const serverClosed = new Promise<void>((r) => server.close(() => r()));
        for (const s of sockets) s.destroy();
        if (ws) {
          for (const c of ws.clients) c.terminate();
          await new Promise<void>((r) => ws!.wss.close(() => r()));
          await new Promise<void>((r) => ws!.http.close(() => r()));
        }
        await serverClosed;
        await new Promise<void>((r) => broker.close(() => r()));
      })()),
  };
}
