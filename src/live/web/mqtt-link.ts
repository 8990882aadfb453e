import mqtt, { type MqttClient } from 'mqtt';

/**
 * The page's one MQTT connection (mqtt.js's browser build over WebSockets).
 * It keeps trying with a backoff (1 s doubling to 10 s) and always says why
 * it is not connected: a browser hides the cause of a failed WebSocket, so the
 * reason names the URL and what usually causes it.
 */
export type LinkState =
  | { state: 'connecting'; url: string; attempt: number }
  | { state: 'connected'; url: string; since: number }
  | { state: 'disconnected'; url: string; reason: string; attempt: number; retryInS: number };

export interface LinkOptions {
  url: string;
  username?: string;
  password?: string;
  subscriptions: string[];
  onMessage(topic: string, payload: Uint8Array): void;
  onState(s: LinkState): void;
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10_000;

export class MqttLink {
  readonly client: MqttClient;
  private attempt = 0;
  private lastError = '';
  state: LinkState;

  constructor(private readonly o: LinkOptions) {
    this.state = { state: 'connecting', url: o.url, attempt: 0 };
    this.client = mqtt.connect(o.url, {
      // 3.1.1: the embedded broker (aedes) speaks only that; Mosquitto speaks both.
      protocolVersion: 4,
      clientId: `rewardd-dashboard-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      keepalive: 10,
      connectTimeout: 5000,
      reconnectPeriod: MIN_BACKOFF_MS,
      resubscribe: false,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    });
    const c = this.client;
    c.on('connect', () => {
      this.attempt = 0;
      this.lastError = '';
      c.options.reconnectPeriod = MIN_BACKOFF_MS;
      // QoS 0: a viewer takes what comes; episode data is kept by the recorder, not here.
      c.subscribe(o.subscriptions, { qos: 0 });
      this.set({ state: 'connected', url: o.url, since: performance.now() });
    });
    c.on('error', (e: Error) => {
      this.lastError = e.message;
    });
    c.on('close', () => {
      const retry = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt);
      c.options.reconnectPeriod = retry;
      this.attempt++;
      const reason = this.lastError && !/^(WebSocket|websocket) error|^\[object/.test(this.lastError)
        ? this.lastError
        : `cannot open a WebSocket to ${o.url} (no broker WebSocket listener there, wrong port, or blocked by a firewall or proxy)`;
      this.set({ state: 'disconnected', url: o.url, reason, attempt: this.attempt, retryInS: retry / 1000 });
    });
    c.on('reconnect', () => this.set({ state: 'connecting', url: o.url, attempt: this.attempt }));
    c.on('message', (topic: string, payload: Uint8Array) => o.onMessage(topic, payload));
  }

  private set(s: LinkState): void {
    this.state = s;
    this.o.onState(s);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** QoS 1, resolves once the broker acknowledged it. */
  publish(topic: string, body: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.publish(topic, body, { qos: 1 }, (e?: Error) => (e ? reject(e) : resolve())));
  }
}
