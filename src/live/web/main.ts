import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { PageConfig } from '../dashboard-server.js';
import type { HealthReport } from '../health.js';
import { EpisodeBook } from './episodes.js';
import { reset, stop, type EstopContext } from './estop.js';
import { MqttLink, type LinkState } from './mqtt-link.js';
import { Markers } from './markers.js';
import { OverlayPlot } from './overlay-plot.js';
import { renderEpisodes, renderHealth, renderStats } from './panels.js';
import { RewardPlot } from './reward-plot.js';
import { RobotFeed } from './robot-feed.js';
import { StepHistory } from './step-history.js';
import { CameraPanel } from './camera-panel.js';

/**
 * The dashboard page: configuration from the server that served it (overridable
 * with ?mqtt=ws://HOST:PORT&robot=NAME&prefix=P), one MQTT connection, the
 * models (step history, episode book, markers), and one animation-frame loop
 * that redraws the reward plot when new steps came in.
 */
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

async function loadConfig(): Promise<(PageConfig & { token: string | null }) | null> {
  try {
    const r = await fetch('api/config');
    return r.ok ? ((await r.json()) as PageConfig & { token: string }) : null;
  } catch {
    return null;
  }
}

function brokerUrl(cfg: PageConfig | null, q: URLSearchParams): string {
  const given = q.get('mqtt');
  if (given) return given;
  if (cfg?.mqtt.url) return cfg.mqtt.url;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname}:${cfg?.mqtt.port ?? 9001}${cfg?.mqtt.path ?? '/'}`;
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const cfg = await loadConfig();
  const prefix = q.get('prefix') ?? cfg?.prefix ?? 'rewardd/v1';
  const url = brokerUrl(cfg, q);
  const history = new StepHistory();
  const book = new EpisodeBook();
  const markers = new Markers();
  let dirty = true;
  const plot = new RewardPlot($('plot'), history, markers, () => updateViewControls());
  history.onNewTerm = (name) => {
    plot.rebuild();
    const opt = document.createElement('option');
    opt.value = opt.textContent = name;
    $<HTMLSelectElement>('overlay-series').append(opt);
  };
  const overlay = new OverlayPlot($('overlay'), book);
  const camera = new CameraPanel($('camera-panel'), $('cameras'), $('vlm'));
  let health: { report: HealthReport; at: number } | null = null;
  let link: MqttLink | null = null;

  const feed = new RobotFeed({ prefix, robot: q.get('robot') ?? cfg?.robot ?? null, history, book, markers, camera });
  feed.onChange = () => (dirty = true);
  feed.onHealth = (h) => (health = { report: h, at: performance.now() });
  feed.onRobot = (robot) => {
    $('robot').textContent = robot;
    link?.client.subscribe(feed.subscriptions(), { qos: 0 });
  };
  $('robot').textContent = feed.robot ?? '(waiting for a robot)';

  const showLink = (s: LinkState): void => {
    const pill = $('link');
    const banner = $('link-reason');
    if (s.state === 'connected') {
      pill.textContent = `connected ${url}`;
      pill.className = 'pill ok';
      banner.classList.add('hidden');
    } else if (s.state === 'connecting') {
      pill.textContent = `connecting to ${url}…`;
      pill.className = 'pill warn';
    } else {
      pill.textContent = 'disconnected';
      pill.className = 'pill bad';
      banner.textContent = `disconnected from ${s.url}: ${s.reason}. Retrying in ${s.retryInS} s (attempt ${s.attempt}).`;
      banner.classList.remove('hidden');
    }
  };
  link = new MqttLink({
    url,
    ...(cfg?.mqtt.username !== undefined ? { username: cfg.mqtt.username } : {}),
    ...(cfg?.mqtt.password !== undefined ? { password: cfg.mqtt.password } : {}),
    subscriptions: feed.subscriptions(),
    onMessage: (topic, payload) => feed.handle(topic, payload),
    onState: showLink,
  });
  showLink(link.state);

  const estopCtx: EstopContext = {
    link: () => link,
    get topic() {
      return `${prefix}/${feed.robot ?? 'rover'}/estop`;
    },
    robot: () => feed.robot,
    token: cfg?.token ?? null,
    resetMode: cfg?.reset ?? 'unsigned',
    latched: () => (health ? health.report.safety.estopped : null),
    show: (text, level) => {
      const el = $('estop-result');
      el.textContent = text;
      el.style.color = level === 'ok' ? '#166534' : '#b91c1c';
    },
  };
  $('estop').addEventListener('click', () => void stop(estopCtx));
  $('reset').addEventListener('click', () => void reset(estopCtx));
  $('reset').title = {
    local: 'Reset the e-stop: works from a browser on the robot itself (written to the latch file, as `rewardd estop reset`)',
    signed: 'Reset the e-stop: signed with the key given to `rewardd dashboard --key` (from this computer only)',
    open: 'Reset the e-stop: the robot runs with --auth open and accepts an unsigned reset',
    unsigned: 'Reset the e-stop: unsigned (no --key); a robot run with --auth signed refuses it',
  }[cfg?.reset ?? 'unsigned'];

  $('pause').addEventListener('click', () => plot.pause());
  $('live').addEventListener('click', () => plot.goLive());
  $<HTMLSelectElement>('window').addEventListener('change', (e) => plot.setWindow(Number((e.target as HTMLSelectElement).value)));
  $<HTMLSelectElement>('overlay-series').addEventListener('change', (e) => {
    overlay.setSeries((e.target as HTMLSelectElement).value);
  });
  const scrub = $<HTMLInputElement>('scrub');
  scrub.addEventListener('input', () => {
    const lo = history.oldestT + plot.windowS;
    const hi = history.newestT;
    if (!(hi > lo)) return;
    plot.scrubTo(lo + ((hi - lo) * Number(scrub.value)) / 1000);
  });
  function updateViewControls(): void {
    $<HTMLButtonElement>('pause').disabled = !plot.live;
    $<HTMLButtonElement>('live').disabled = plot.live;
    if (plot.live) scrub.value = '1000';
    $('view-note').textContent = plot.live ? 'live' : 'paused: steps keep arriving';
  }

  // One loop: count frames, redraw the plot when new steps arrived, the rest once a second.
  // The plot redraws at most 30 times a second, and less when a redraw is slow (a busy laptop):
  // at most a fifth of the page's time goes to it, so the page stays responsive at 1 kHz input.
  let lastRedrawAt = 0;
  let frames = 0;
  let fpsWindowStart = performance.now();
  let fps = 0;
  let lastSlow = 0;
  const loop = (now: number): void => {
    frames++;
    if (now - fpsWindowStart >= 1000) {
      fps = (frames * 1000) / (now - fpsWindowStart);
      frames = 0;
      fpsWindowStart = now;
    }
    const gliding = plot.live && history.count > 0 && now - history.lastAppendMs < 1000;
    if ((dirty || gliding) && plot.live && now - lastRedrawAt >= Math.max(1000 / 30, 5 * plot.lastRedrawMs)) {
      dirty = false;
      lastRedrawAt = now;
      plot.redraw();
    }
    if (now - lastSlow >= 1000) {
      lastSlow = now;
      markers.dropBefore(history.oldestT);
      renderHealth($('health'), health?.report ?? null, health ? (now - health.at) / 1000 : 0);
      if (health) $('status-line').textContent = health.report.line;
      renderEpisodes($('episodes').querySelector('tbody')!, book);
      renderStats($('stats').querySelector('tbody')!, $('stats-note'), book);
      overlay.redraw();
      feed.renderState($('online'), $('reward'), $('estop-state'), $('estop-banner'), health?.report ?? null);
      $('footer').textContent = `kept ${history.size} steps (at most ${history.t.length}) · ${history.termNames.length} terms · ${markers.list.length} markers · drawn ${plot.drawn.points} points for ${plot.drawn.steps} steps · redraw ${plot.lastRedrawMs.toFixed(1)} ms · ${fps.toFixed(0)} fps`;
    }
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);

  // For tests and measurements (test/live/dashboard.test.ts, bench/live.ts): read-only views of the models.
  (window as unknown as { rewarddDashboard: unknown }).rewarddDashboard = {
    history, book, markers, plot, overlay, feed,
    link: () => link?.state,
    health: () => health?.report ?? null,
    fps: () => fps,
  };
}

void main();
