import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { packageRoot } from '../core/version.js';
import { checkTopicLevel } from '../transport/topics.js';

/**
 * The dashboard's HTTP server: the page and its bundled script (built by
 * `npm run build` into dist/src/live/web, served from the package, nothing
 * fetched from the internet), the page's configuration, and the e-stop
 * endpoint. The page gets its data straight from the broker over MQTT over
 * WebSockets; this server never relays data.
 */

/** How this server resets an e-stop (the CLI's rules: docs/security.md). */
export type ResetMode =
  /** Served by `rewardd run`: a request from this computer writes the latch file, like `rewardd estop reset`. */
  | 'local'
  /** `rewardd dashboard --key`: a request from this computer is signed with the operator's key and published. */
  | 'signed'
  /** `rewardd run --auth open`: an unsigned reset, which that robot accepts. */
  | 'open'
  /** `rewardd dashboard` without --key: an unsigned reset is published; a robot run with --auth signed refuses it. */
  | 'unsigned';

export interface PageConfig {
  /** Robot to show; null = the first robot whose status topic appears. */
  robot: string | null;
  prefix: string;
  /** Broker WebSocket: a full URL, or a port on the host the page was loaded from (url null). */
  mqtt: { url: string | null; port: number | null; path: string; username?: string; password?: string };
  reset: ResetMode;
  servedBy: 'run' | 'dashboard';
  version: string;
}

export interface EstopActions {
  /** Resolves with what was done; rejects with a one-line reason. `robot`: the configured robot, or the one the page shows. */
  stop(reason: string, robot: string): Promise<string>;
  reset(reason: string, robot: string): Promise<string>;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
};
/** Largest request body read (an e-stop request is a few dozen bytes). */
const MAX_BODY_BYTES = 4096;

export const webDir = (): string => join(packageRoot(), 'dist', 'src', 'live', 'web');

const isLoopbackAddress = (a: string | undefined): boolean => a !== undefined && (a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.'));
/** A Host header naming this computer's loopback: a page reached through a DNS name that was rebound to 127.0.0.1 does not pass. */
function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || (isIP(name) !== 0 && isLoopbackAddress(name));
}

/**
 * A Host a DNS-rebinding page cannot forge: an IP literal, localhost, or this computer's own name.
 * Broker credentials are handed only to pages opened under such a name.
 */
function isTrustedHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const me = hostname().toLowerCase();
  return name === 'localhost' || isIP(name) !== 0 || name === me || name === `${me}.local`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        // Stop keeping it, but read it to the end so the answer reaches the sender.
        req.removeAllListeners('data');
        req.resume();
        reject(new RewarddError('E_CONFIG', `request body: expected at most ${MAX_BODY_BYTES} bytes, found more`));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startDashboardServer(o: { host: string; port: number; config: PageConfig; estop: EstopActions }): Promise<DashboardServer> {
  // Every e-stop request carries this token, which only a page served here can read
  // (no CORS headers), so another web site open in the same browser cannot post one.
  const token = randomBytes(16).toString('hex');
  const dir = webDir();
  const reply = (res: ServerResponse, status: number, type: string, body: string | Buffer): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(body);
  };
  const json = (res: ServerResponse, status: number, body: object): void => reply(res, status, 'application/json', JSON.stringify(body));

  const estop = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.headers['x-rewardd-token'] !== token) return json(res, 403, { ok: false, error: 'E_CONFIG: e-stop request: expected the token of a page served by this dashboard, found none or another' });
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return json(res, 403, { ok: false, error: `E_CONFIG: e-stop request: expected origin http://${req.headers.host ?? ''}, found ${origin}` });
    let body: { action?: unknown; reason?: unknown; robot?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch (e) {
      return json(res, 400, { ok: false, error: `E_CONFIG: e-stop request: expected JSON {action, reason}, ${(e as Error).message}` });
    }
    const reason = typeof body.reason === 'string' && body.reason.length <= 200 ? body.reason : 'dashboard';
    let robot: string;
    try {
      robot = o.config.robot ?? checkTopicLevel('e-stop request: robot', body.robot as string);
    } catch (e) {
      return json(res, 400, { ok: false, error: (e as Error).message });
    }
    try {
      if (body.action === 'stop') return json(res, 200, { ok: true, message: await o.estop.stop(reason, robot) });
      if (body.action !== 'reset') return json(res, 400, { ok: false, error: `E_CONFIG: e-stop request: expected action "stop" or "reset", found ${JSON.stringify(body.action)}` });
      const mode = o.config.reset;
      if ((mode === 'local' || mode === 'signed') && !(isLoopbackAddress(req.socket.remoteAddress) && isLoopbackHost(req.headers.host))) {
        const how = mode === 'local' ? 'run `rewardd estop reset` on the robot, or open this page on the robot itself (http://127.0.0.1)' : 'open the page on the laptop that holds the key (http://127.0.0.1)';
        // Say which test failed: the peer address, or the Host the page was loaded under (a page on
        // another name can be a DNS-rebinding page talking to this port through the browser).
        const found = isLoopbackAddress(req.socket.remoteAddress)
          ? `one for Host "${String(req.headers.host ?? '').slice(0, 100)}" (the page must be opened as http://127.0.0.1 or http://localhost)`
          : `one from ${req.socket.remoteAddress ?? '?'}`;
        return json(res, 403, { ok: false, error: `E_CONFIG: e-stop reset: expected a request from this computer (${mode} reset), found ${found}; ${how}` });
      }
      return json(res, 200, { ok: true, message: await o.estop.reset(reason, robot) });
    } catch (e) {
      return json(res, 502, { ok: false, error: (e as Error).message });
    }
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' && path === '/api/estop') {
      void estop(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { ok: false, error: `expected GET, found ${req.method ?? '?'}` });
    if (path === '/api/config') {
      const { username, password, ...mqtt } = o.config.mqtt;
      const creds = isTrustedHost(req.headers.host) ? { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) } : {};
      return json(res, 200, { ...o.config, mqtt: { ...mqtt, ...creds }, token });
    }
    if (path === '/favicon.ico') return reply(res, 204, 'image/x-icon', '');
    const f = FILES[path];
    if (!f) return reply(res, 404, 'text/plain', `not found: ${path}\n`);
    const file = join(dir, f[0]);
    if (!existsSync(file)) return reply(res, 500, 'text/plain', `the dashboard is not built (${file} is missing): run npm run build\n`);
    reply(res, 200, f[1], readFileSync(file));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (e) => reject(new RewarddError('E_CONFIG', `dashboard: cannot listen on ${o.host}:${o.port}: ${e.message}`)));
    server.listen(o.port, o.host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/`,
    port,
    close: () =>
      (closing ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      })),
  };
}
