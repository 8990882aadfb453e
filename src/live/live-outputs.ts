import { join } from 'node:path';
import { systemClock } from '../core/clock.js';
import { rewarddVersion } from '../core/version.js';
import type { RunConfig } from '../daemon/config.js';
import type { FromControl, ToControl } from '../daemon/messages.js';
import type { PolicyRunnerStats } from '../policy/runner.js';
import { writeLatch } from '../safety/latch.js';
import type { EmbeddedBroker } from '../transport/embedded-broker.js';
import type { EpisodePublisher } from '../transport/publisher.js';
import { startDashboardServer, type DashboardServer, type PageConfig } from './dashboard-server.js';
import { startFoxgloveBridge, type FoxgloveBridge } from './foxglove-bridge.js';
import { HealthReporter } from './health.js';

/**
 * Everything `rewardd run` shows to people watching, started from one call in
 * the daemon: the 1 Hz `health` topic, the dashboard page (--dashboard-port)
 * and the Foxglove bridge (--foxglove-port). The daemon hands every control
 * thread message to observe(); nothing here is on the tick path, and a viewer
 * port that cannot be opened is logged, never fatal to the robot.
 *
 * It returns at once (the servers start in the background, `ready` says when):
 * the daemon calls it between starting the control thread and listening to it,
 * where waiting could let the thread's first messages go unheard.
 */
export interface LiveDeps {
  robot: string;
  publisher: EpisodePublisher;
  policy: { readonly backend: string; stats(): PolicyRunnerStats };
  broker: EmbeddedBroker | null;
  command(m: ToControl): void;
  log(line: string): void;
  /** What the terminal's status line adds after the control thread's part (the vision part), so `health.line` is the same line. */
  statusSuffix?: () => string;
}

export interface LiveOutputs {
  /** Resolves once the dashboard and Foxglove servers listen (or were found unable to). */
  readonly ready: Promise<void>;
  /** Set once ready: null when off or when the port could not be opened. */
  readonly dashboardUrl: string | null;
  readonly foxgloveUrl: string | null;
  /** Every message of the control thread, as it arrives. */
  observe(m: FromControl): void;
  /** The vision hook: a compressed camera frame for Foxglove (foxglove.CompressedImage on /camera/<name>). */
  cameraFrame(name: string, data: Uint8Array, format: 'jpeg' | 'png', wallMs: number): void;
  close(): Promise<void>;
}

/** Where the page finds the broker's WebSocket listener (docs/live.md). */
export function pageMqtt(cfg: Pick<RunConfig, 'mqtt'>, broker: EmbeddedBroker | null): PageConfig['mqtt'] {
  if (broker) return { url: null, port: broker.wsPort, path: '/' };
  const u = new URL(cfg.mqtt);
  if (u.protocol === 'ws:' || u.protocol === 'wss:') return { url: cfg.mqtt, port: null, path: u.pathname };
  // A TCP broker: its WebSocket listener is assumed on 9001 of the same host (docs/mosquitto/mosquitto.conf).
  const loopback = /^(127\.|localhost$|\[::1\]$|0\.0\.0\.0$)/.test(u.hostname);
  const scheme = u.protocol === 'mqtts:' || u.protocol === 'ssl:' || u.protocol === 'tls:' ? 'wss' : 'ws';
  return loopback ? { url: null, port: 9001, path: '/' } : { url: `${scheme}://${u.host.replace(/:\d+$/, '')}:9001/`, port: null, path: '/' };
}

export function startLiveOutputs(cfg: RunConfig, deps: LiveDeps): LiveOutputs {
  const health = new HealthReporter(deps.robot, cfg.hz);
  if (deps.broker?.wsError) deps.log(`embedded broker: no WebSocket listener (the dashboard cannot connect): ${deps.broker.wsError}`);
  else if (deps.broker?.wsUrl) deps.log(`embedded MQTT broker: WebSocket listener on ${deps.broker.wsUrl}`);

  let dashboard: DashboardServer | null = null;
  let foxglove: FoxgloveBridge | null = null;
  const ready = Promise.all([startDashboard(), startFoxglove()]).then(() => undefined);

  async function startDashboard(): Promise<void> {
    if (cfg.dashboardPort < 0) return;
    try {
      dashboard = await startDashboardServer({
        host: cfg.liveHost,
        port: cfg.dashboardPort,
        config: { robot: deps.robot, prefix: cfg.prefix, mqtt: pageMqtt(cfg, deps.broker), reset: cfg.auth === 'open' ? 'open' : 'local', servedBy: 'run', version: rewarddVersion() },
        estop: {
          stop: async (reason) => {
            deps.command({ type: 'estop', reason: `dashboard: ${reason}` });
            return 'e-stop latched';
          },
          reset: async (reason) => {
            if (cfg.auth === 'open') {
              deps.command({ type: 'estop-reset' });
              return `e-stop reset (--auth open): ${reason}`;
            }
            // The CLI's local rule: `rewardd estop reset` on the robot writes the latch file,
            // and the daemon's latch watcher resets the filter.
            writeLatch(join(cfg.stateDir, 'estop.json'), { latched: false, reason: '', wallMs: systemClock.wallMs() });
            return 'e-stop reset locally (latch file written, as `rewardd estop reset` does)';
          },
        },
      });
      deps.log(`dashboard: ${dashboard.url}`);
    } catch (e) {
      deps.log(`dashboard not served: ${(e as Error).message} (--dashboard-port 0 picks a free port, off turns it off)`);
    }
  }

  async function startFoxglove(): Promise<void> {
    if (cfg.foxglovePort < 0) return;
    try {
      foxglove = await startFoxgloveBridge({ host: cfg.liveHost, port: cfg.foxglovePort, robot: deps.robot });
      deps.log(`Foxglove bridge: ${foxglove.url} (open it in Foxglove: Open connection > Foxglove WebSocket; layout docs/foxglove/rewardd-layout.json)`);
    } catch (e) {
      deps.log(`Foxglove bridge not served: ${(e as Error).message}`);
    }
  }

  return {
    ready,
    get dashboardUrl() {
      return dashboard?.url ?? null;
    },
    get foxgloveUrl() {
      return foxglove?.url ?? null;
    },
    observe(m) {
      switch (m.type) {
        case 'status': {
          const wallMs = systemClock.wallMs();
          const body = JSON.stringify(health.report(m.loop, m.tick, deps.publisher.stats(), deps.policy.backend, deps.policy.stats(), wallMs, systemClock.nowNs(), deps.statusSuffix?.() ?? ''));
          deps.publisher.publishHealth(body);
          foxglove?.status(body, wallMs);
          break;
        }
        case 'batch':
          foxglove?.batch(m.bytes);
          break;
        case 'episode-start':
          foxglove?.episodeStart(m.start);
          break;
        case 'episode-end':
          foxglove?.episodeEnd(m.end);
          break;
        default:
          break;
      }
    },
    cameraFrame: (name, data, format, wallMs) => foxglove?.cameraFrame(name, data, format, wallMs),
    close: async () => {
      await ready;
      await Promise.all([dashboard?.close(), foxglove?.close()]);
    },
  };
}
