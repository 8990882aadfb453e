import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { RewarddError } from '../core/errors.js';

/**
 * The zero-setup broker: aedes in-process on a TCP port of this host.
 * aedes 1.x speaks MQTT 3.1.1 only; the publisher and recorder fall back to
 * 3.1.1 when a broker refuses MQTT 5 (see docs/mqtt.md).
 */
export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(opts: { host?: string; port?: number } = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (e) => reject(new RewarddError('E_MQTT', `embedded broker: cannot listen on ${host}:${opts.port ?? 0}: ${e.message}`)));
    server.listen(opts.port ?? 0, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  let closed: Promise<void> | undefined;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close: () =>
      (closed ??= (async () => {
        const serverClosed = new Promise<void>((r) => server.close(() => r()));
        for (const s of sockets) s.destroy();
        await serverClosed;
        await new Promise<void>((r) => broker.close(() => r()));
      })()),
  };
}
