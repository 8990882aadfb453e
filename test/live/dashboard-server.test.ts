import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer, type PageConfig } from '../../src/live/dashboard-server.js';
import { pageMqtt } from '../../src/live/live-outputs.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';

/**
 * The dashboard's HTTP side: the page config, the token and origin checks on
 * the e-stop endpoint, and the rule that a local or signed reset only comes
 * from a browser on the same computer (never through a rebound DNS name).
 */
const calls: string[] = [];
let server: DashboardServer;
const config: PageConfig = { robot: 'rover', prefix: 'rewardd/v1', mqtt: { url: null, port: 9001, path: '/' }, reset: 'local', servedBy: 'run', version: 'test' };

beforeAll(async () => {
  server = await startDashboardServer({
    host: '127.0.0.1',
    port: 0,
    config,
    estop: {
      stop: async (reason, robot) => (calls.push(`stop ${robot} ${reason}`), 'latched'),
      reset: async (reason, robot) => (calls.push(`reset ${robot} ${reason}`), 'reset'),
    },
  });
});
afterAll(() => server.close());

function http(method: string, path: string, o: { headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: o.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('dashboard server', () => {
  it('serves the built page and its configuration with a token', async () => {
    const page = await http('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="app.js">');
    expect((await http('GET', '/app.js')).status).toBe(200);
    const cfg = JSON.parse((await http('GET', '/api/config')).body) as PageConfig & { token: string };
    expect(cfg).toMatchObject(config);
    expect(cfg.token).toMatch(/^[0-9a-f]{32}$/);
    expect((await http('GET', '/../package.json')).status).toBe(404);
  });

  it('an e-stop request needs the page token and its own origin; a local reset needs a loopback Host', async () => {
    const { token } = JSON.parse((await http('GET', '/api/config')).body) as { token: string };
    const post = (body: object, headers: Record<string, string>) => http('POST', '/api/estop', { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await post({ action: 'stop' }, {})).status).toBe(403);
    expect((await post({ action: 'stop' }, { 'x-rewardd-token': token, origin: 'http://evil.example' })).body).toMatch(/expected origin/);
    expect(await post({ action: 'stop', reason: 'test' }, { 'x-rewardd-token': token })).toMatchObject({ status: 200 });
    expect(await post({ action: 'reset', reason: 'test' }, { 'x-rewardd-token': token })).toMatchObject({ status: 200 });
    // A DNS-rebinding page reaches 127.0.0.1 under another name: no reset.
    const rebound = await post({ action: 'reset' }, { 'x-rewardd-token': token, host: 'evil.example:80' });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/expected a request from this computer \(local reset\), found one for Host \\"evil.example:80\\" \(the page must be opened as http:\/\/127.0.0.1 or http:\/\/localhost\)/);
    expect(JSON.parse((await post({ action: 'jump' }, { 'x-rewardd-token': token })).body).error).toMatch(/expected action "stop" or "reset", found "jump"/);
    const big = await http('POST', '/api/estop', { headers: { 'x-rewardd-token': token }, body: 'x'.repeat(10_000) });
    expect(big.status).toBe(400);
    expect(calls).toEqual(['stop rover test', 'reset rover test']);
  });

  it('hands broker credentials only to a page opened under a name a rebinding site cannot use', async () => {
    const withCreds = await startDashboardServer({ host: '127.0.0.1', port: 0, config: { ...config, mqtt: { ...config.mqtt, username: 'op+alice', password: 'pw' } }, estop: { stop: async () => '', reset: async () => '' } });
    try {
      const get = (host: string) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          request({ host: '127.0.0.1', port: withCreds.port, path: '/api/config', headers: { host } }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve((JSON.parse(body) as { mqtt: Record<string, unknown> }).mqtt));
          }).on('error', reject).end();
        });
      expect(await get(`127.0.0.1:${withCreds.port}`)).toMatchObject({ username: 'op+alice', password: 'pw' });
      expect(await get(`localhost:${withCreds.port}`)).toMatchObject({ password: 'pw' });
      const rebound = await get('evil.example:80');
      expect(rebound).not.toHaveProperty('password');
      expect(rebound).not.toHaveProperty('username');
    } finally {
      await withCreds.close();
    }
  });

  it('tells the page where the broker WebSocket is', () => {
    expect(pageMqtt({ mqtt: 'mqtt://10.0.0.2:1883' }, null)).toEqual({ url: 'ws://10.0.0.2:9001/', port: null, path: '/' });
    expect(pageMqtt({ mqtt: 'mqtts://broker.field:8883' }, null)).toEqual({ url: 'wss://broker.field:9001/', port: null, path: '/' });
    expect(pageMqtt({ mqtt: 'mqtt://127.0.0.1:1883' }, null)).toEqual({ url: null, port: 9001, path: '/' });
    expect(pageMqtt({ mqtt: 'wss://b:443/mqtt' }, null)).toEqual({ url: 'wss://b:443/mqtt', port: null, path: '/mqtt' });
  });

  it('rewardd run takes its viewer ports as a number or "off", and says what it expected', () => {
    expect(normaliseRunConfig({}).dashboardPort).toBe(8080);
    expect(normaliseRunConfig({}).brokerWsPort).toBe(9001);
    expect(normaliseRunConfig({}).foxglovePort).toBe(-1);
    expect(normaliseRunConfig({ foxglovePort: '8765', dashboardPort: 'off' })).toMatchObject({ foxglovePort: 8765, dashboardPort: -1 });
    expect(() => normaliseRunConfig({ dashboardPort: '80x' })).toThrow('E_CONFIG: --dashboard-port: expected a port in [0, 65535] or "off", found "80x"');
    expect(() => normaliseRunConfig({ brokerWsPort: 70000 })).toThrow('E_CONFIG: --broker-ws-port: expected a port in [0, 65535] or "off", found 70000');
  });
});
