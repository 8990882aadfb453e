import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * An in-process TCP proxy for link failures: `blackhole()` stops forwarding in
 * both directions while keeping every socket open (a Wi-Fi dead zone, a NAT
 * that forgot the flow); `restore()` forwards again for new connections;
 * `cut()` closes every connection at once.
 */
export interface BlackholeProxy {
  url: string;
  port: number;
  connections(): number;
  blackhole(): void;
  restore(): void;
  cut(): void;
  /** Cuts every connection once, when this many more client-to-broker bytes have been forwarded. */
  cutAfterBytes(n: number): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<BlackholeProxy> {
  let holed = false;
  let cutIn = Infinity;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    // Data arriving while holed is swallowed, as a dead link would.
    client.on('data', (d: Buffer) => {
      if (holed) return;
      upstream.write(d);
      cutIn -= d.length;
      if (cutIn <= 0) {
        cutIn = Infinity;
        setImmediate(cutAll);
      }
    });
    upstream.on('data', (d) => holed || client.write(d));
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  const cutAll = (): void => {
    for (const [a, b] of pairs) (a.destroy(), b.destroy());
    pairs.clear();
  };
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    connections: () => pairs.size,
    blackhole: () => void (holed = true),
    restore: () => {
      holed = false;
    },
    cut: cutAll,
    cutAfterBytes: (n) => void (cutIn = n),
    close: async () => {
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
