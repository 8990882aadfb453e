import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { EpisodeEnd } from '../../src/core/records.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import type { HealthReport } from '../../src/live/health.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { PushVerifier, decideEstop, signRewardPush } from '../../src/trust/index.js';
import { tempDirs } from '../helpers/temp.js';
import { until } from '../helpers/wait.js';
import { freePort } from '../transport/helpers.js';
import { operator, writeAllowed } from '../trust/helpers.js';
import { artifactPath, launchBrowser, type Browser } from './browser.js';

/**
 * The dashboard in a real browser (Debian's Chromium, headless) against a
 * running daemon (sim, embedded broker with its WebSocket listener, --auth
 * signed): term curves of whole episodes in the plot's uPlot state, a signed
 * reward push shown as a swap marker, the e-stop button latching the robot and
 * the reset button (a local reset, the page being on this computer) clearing
 * it, both confirmed over MQTT by a separate client. Then `rewardd dashboard`
 * as a process against a broker that is not there yet.
 */
const tmp = tempDirs();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** What the page exposes for tests (main.ts `window.rewarddDashboard`), read in the browser. */
interface PageView {
  link: { state: string; reason?: string };
  steps: number;
  terms: string[];
  labels: string[];
  /** Non-null points per plotted series (total first): steps, or pixel columns when the window is dense. */
  points: number[];
  /** Steps behind the drawn points. */
  drawnSteps: number;
  xRange: [number, number];
  markers: { t: number; kind: string; label: string }[];
  ended: { id: string; reason: string; steps: number; seen: number }[];
}
const VIEW = `(() => {
  const d = window.rewarddDashboard;
  const u = d.plot.plot;
  return {
    link: d.link(),
    steps: d.history.size,
    terms: d.history.termNames,
    labels: u.series.slice(1).map((s) => s.label),
    points: u.data.slice(1).map((ys) => ys.filter((y) => y !== null && y !== undefined).length),
    drawnSteps: d.plot.drawn.steps,
    xRange: [u.scales.x.min, u.scales.x.max],
    markers: d.markers.list.map((m) => ({ t: m.t, kind: m.kind, label: m.label })),
    ended: [...d.book.episodes.values()].filter((e) => e.end).map((e) => ({ id: e.id, reason: e.end.reason, steps: e.end.steps, seen: e.seen })),
  };
})()`;

describe('dashboard in a browser', () => {
  let daemon: RunningDaemon;
  let browser: Browser;

  it('shows two episodes of term curves, marks a reward swap, latches and resets the e-stop', async () => {
    const prefix = `rewardd-test-dash-${Math.random().toString(16).slice(2, 8)}/v1`;
    const stateDir = tmp('rewardd-dash-');
    const alice = operator('alice');
    writeAllowed(join(stateDir, 'allowed_keys'), [alice]);
    const cfg = normaliseRunConfig({ prefix, stateDir, status: false, watchReward: false, stepLimit: 150, brokerPort: 0, brokerWsPort: 0, dashboardPort: 0, foxglovePort: 'off' });
    daemon = await startDaemon(cfg, { log: () => {}, status: () => {} });
    cleanups.push(() => daemon.stop());
    await daemon.live.ready;
    expect(daemon.live.dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    // The witness: a plain MQTT subscriber, as a second laptop would be.
    const witness = await mqtt.connectAsync(daemon.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => witness.endAsync());
    const health: HealthReport[] = [];
    const ends: EpisodeEnd[] = [];
    const replies: { ok: boolean; version?: string; error?: string; correlation?: string }[] = [];
    witness.on('message', (topic, p) => {
      if (topic.endsWith('/health')) health.push(JSON.parse(p.toString()) as HealthReport);
      else if (topic.endsWith('/end')) ends.push(JSON.parse(p.toString()) as EpisodeEnd);
      else if (topic.endsWith('/reward/set/result')) replies.push(JSON.parse(p.toString()) as (typeof replies)[number]);
    });
    await witness.subscribeAsync([`${prefix}/rover/health`, `${prefix}/rover/episodes/+/end`, `${prefix}/rover/reward/set/result`], { qos: 1 });

    browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.page();
    await page.goto(daemon.live.dashboardUrl!);
    const view = (): Promise<PageView> => page.evaluate(VIEW) as Promise<PageView>;

    // Two whole episodes in the page's history and in the plot's data.
    await until(() => ends.length >= 3, 'three episode ends over MQTT', 40_000);
    await page.waitForFunction(() => {
      const d = (window as unknown as { rewarddDashboard?: { book: { episodes: Map<string, { end: unknown; seen: number }> } } }).rewarddDashboard;
      return d !== undefined && [...d.book.episodes.values()].filter((e) => e.end && e.seen === (e.end as { steps: number }).steps).length >= 2;
    }, undefined, { timeout: 20_000 });
    let v = await view();
    expect(v.link.state).toBe('connected');
    expect(v.terms).toEqual(['distance', 'heading', 'progress', 'effort']);
    expect(v.labels).toEqual(['total', 'distance', 'heading', 'progress', 'effort']);
    // Episodes the page saw whole (the first may have begun before the page opened).
    const ended = v.ended.filter((e) => e.steps > 0 && e.seen === e.steps);
    expect(ended.length).toBeGreaterThanOrEqual(2);
    const twoEpisodes = ended.slice(-2).reduce((s, e) => s + e.steps, 0);
    expect(v.steps).toBeGreaterThanOrEqual(twoEpisodes);
    // The drawn window holds at least two whole episodes, and every series has points there
    // (one per step, or one per pixel column once there are more steps than a quarter of the columns).
    // The plot redraws at the browser's frame rate, behind the data: on a loaded machine the last
    // frame drawn may predate the last steps (CI: 283 of 300 drawn), so wait for a frame with them.
    await expect.poll(async () => (await view()).drawnSteps, { timeout: 10_000 }).toBeGreaterThanOrEqual(twoEpisodes);
    v = await view();
    for (const n of v.points) expect(n).toBeGreaterThanOrEqual(Math.min(twoEpisodes, 250));
    const starts = v.markers.filter((m) => m.kind === 'episode' && m.t >= v.xRange[0] && m.t <= v.xRange[1]);
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#episodes tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#stats tbody tr[data-term]').count()).toBe(4);
    await expect.poll(() => page.locator('#status-line').textContent(), { timeout: 5000 }).toMatch(/^tick \d+\.\d Hz p99 err \d+ us \| ep \d+/);

    // A signed reward push (one weight changed) appears as a swap marker at the step it took over.
    const source = readFileSync('rewards/reach-beacon.reward.js', 'utf8').replace('heading: 0.3', 'heading: 0.35');
    await witness.publishAsync(`${prefix}/rover/reward/set`, JSON.stringify({ ...signRewardPush({ source, robot: 'rover', privateKeyPem: alice.privateKeyPem }), correlation: 'dash' }), { qos: 1 });
    await until(() => replies.length > 0, 'the reply to the reward push', 20_000);
    expect(replies[0]).toMatchObject({ ok: true });
    const version = replies[0]!.version!;
    await page.waitForFunction((ver) => (window as unknown as { rewarddDashboard: { markers: { list: { kind: string; label: string }[] } } }).rewarddDashboard.markers.list.some((m) => m.kind === 'swap' && m.label.includes(ver.slice(0, 6))), version, { timeout: 20_000 });
    v = await view();
    const swap = v.markers.find((m) => m.kind === 'swap')!;
    expect(swap.label).toBe(`swap → reach-beacon ${version.slice(0, 6)}`);
    await expect.poll(() => page.locator('#reward').textContent(), { timeout: 5000 }).toContain(version);
    // Let the plot scroll a little past the swap, then keep the picture.
    await page.waitForTimeout(1500);
    const shot = artifactPath('dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${shot}\n`);

    // The e-stop button latches the robot: the witness sees it in health and in an end record.
    await page.click('#estop');
    await until(() => ends.some((e) => e.reason === 'estop'), 'an episode ended by the e-stop', 15_000);
    await until(() => health.at(-1)?.safety.estopped === true, 'health reporting the e-stop latched', 15_000);
    await expect.poll(() => page.locator('#estop-result').textContent(), { timeout: 5000 }).toMatch(/^STOP sent: published over MQTT; server: e-stop latched/);
    await expect.poll(() => page.locator('#estop-banner').isVisible(), { timeout: 5000 }).toBe(true);
    await page.waitForFunction(() => (window as unknown as { rewarddDashboard: { markers: { list: { kind: string }[] } } }).rewarddDashboard.markers.list.some((m) => m.kind === 'estop'), undefined, { timeout: 10_000 });

    // Reset from this computer: a local reset (the latch file, as `rewardd estop reset`); the robot confirms.
    await page.click('#reset');
    await until(() => health.at(-1)?.safety.estopped === false, 'health reporting the e-stop clear', 15_000);
    await expect.poll(() => page.locator('#estop-result').textContent(), { timeout: 10_000 }).toMatch(/^e-stop reset: the robot reports it clear \(e-stop reset locally/);
    expect(JSON.parse(readFileSync(join(stateDir, 'estop.json'), 'utf8'))).toMatchObject({ latched: false });
  }, 180_000); // a browser on a CI machine busy with other test files: minutes, not seconds
});

describe('rewardd dashboard (the laptop verb)', () => {
  it('shows "disconnected" with the reason while the broker is away, then connects when it comes', async () => {
    const wsPort = await freePort();
    const prefix = `rewardd-test-dash2-${Math.random().toString(16).slice(2, 8)}/v1`;
    const keys = tmp('rewardd-dash-keys-');
    const alice = operator('alice');
    writeFileSync(join(keys, 'alice.key'), alice.privateKeyPem, { mode: 0o600 });
    writeAllowed(join(keys, 'allowed_keys'), [alice]);
    const child: ChildProcess = spawn(process.execPath, ['bin/rewardd.js', 'dashboard', '--mqtt', `ws://127.0.0.1:${wsPort}`, '--robot', 'rover', '--prefix', prefix, '--port', '0', '--key', join(keys, 'alice.key')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => /dashboard: http:\/\/127\.0\.0\.1:\d+\//.test(out), 'the dashboard URL on stdout', 20_000);
    const url = /dashboard: (http:\/\/\S+)/.exec(out)![1]!;
    const b = await launchBrowser({ width: 1200, height: 700 });
    cleanups.push(() => b.close());
    const page = await b.page();
    await page.goto(url);
    await expect.poll(() => page.locator('#link').textContent(), { timeout: 15_000 }).toBe('disconnected');
    await expect.poll(() => page.locator('#link-reason').textContent(), { timeout: 5000 }).toContain(`disconnected from ws://127.0.0.1:${wsPort}: cannot open a WebSocket to ws://127.0.0.1:${wsPort}`);
    const reason = await page.locator('#link-reason').textContent();
    expect(reason).toMatch(/Retrying in \d+(\.\d+)? s \(attempt \d+\)\.$/);

    // The broker comes up on that port: the page connects by itself and shows the robot's retained status.
    const broker: EmbeddedBroker = await startEmbeddedBroker({ port: 0, wsPort });
    cleanups.push(() => broker.close());
    const robot = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => robot.endAsync());
    await robot.publishAsync(`${prefix}/rover/status`, JSON.stringify({ state: 'online', reason: 'connected', robot: 'rover' }), { qos: 1, retain: true });
    await expect.poll(() => page.locator('#link').textContent(), { timeout: 20_000 }).toBe(`connected ws://127.0.0.1:${wsPort}`);
    await expect.poll(() => page.locator('#link-reason').isVisible(), { timeout: 5000 }).toBe(false);
    await expect.poll(() => page.locator('#online').textContent(), { timeout: 5000 }).toBe('robot: online (connected)');

    // The vision hook: a frame on camera/<name> opens the camera panel.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    expect(await page.locator('#camera-panel').isVisible()).toBe(false);
    await robot.publishAsync(`${prefix}/rover/camera/front`, png, { qos: 0 });
    await expect.poll(() => page.locator('#camera-panel').isVisible(), { timeout: 5000 }).toBe(true);
    await expect.poll(() => page.locator('img[data-camera="front"]').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 5000 }).toBe(1);

    // Its stop button goes through this process too: a stop arrives on the robot's estop topic.
    const stops: Buffer[] = [];
    robot.on('message', (_t, p) => stops.push(p));
    await robot.subscribeAsync(`${prefix}/rover/estop`, { qos: 1 });
    await page.click('#estop');
    await until(() => stops.length >= 2, 'the stop from the page and from the dashboard process', 10_000);
    expect(stops.map((s) => (JSON.parse(s.toString()) as { action: string }).action)).toEqual(['stop', 'stop']);
    // Its reset is signed with --key: the robot's own rule (decideEstop with its allowed_keys) accepts it as alice's.
    const verifier = new PushVerifier({ robot: 'rover', allowedKeysFile: join(keys, 'allowed_keys') });
    await page.click('#reset');
    await until(() => stops.length >= 3, 'the reset', 10_000);
    expect(decideEstop(stops[2]!, verifier)).toMatchObject({ action: 'reset', signer: alice.fingerprint, signerName: 'alice' });
    await expect.poll(() => page.locator('#estop-result').textContent(), { timeout: 8000 }).toMatch(/no health report from the robot/);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 180_000); // a browser on a CI machine busy with other test files: minutes, not seconds

  it('refuses a TCP broker URL with the WebSocket URL to use, exit 2', async () => {
    const child = spawn(process.execPath, ['bin/rewardd.js', 'dashboard', '--mqtt', 'mqtt://robot.local:1884'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err.trim()).toBe('rewardd dashboard: --mqtt: expected ws:// or wss:// (a browser cannot speak MQTT over TCP), found mqtt://robot.local:1884; try --mqtt ws://robot.local:9001');
  });
});
