import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { IClientOptions } from 'mqtt';
import { RewarddError, describeValue } from '../core/errors.js';

/**
 * How rewardd connects to a broker, for the publisher and the recorder alike.
 * Defaults are written once here and in docs/mqtt.md.
 */
export interface MqttConnectionOptions {
  /** mqtt://host:port, mqtts://host:port (TLS), ws:// or wss://. */
  mqttUrl: string;
  /** Default: `rewardd-<role>-<8 random hex>`. A stable id is what makes a persistent session resumable. */
  clientId?: string;
  username?: string;
  password?: string;
  /** PEM file paths for TLS: the broker's CA, and a client certificate + key for mutual TLS. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Verify the broker's certificate. Default true; false only for a lab broker with a self-signed cert. */
  rejectUnauthorized?: boolean;
  /** Seconds. A dead link (even one that keeps the TCP socket open) is detected within ~1.5x this. Default 10. */
  keepaliveS?: number;
  /** 5, 4 (3.1.1), or 'auto': MQTT 5, falling back to 3.1.1 when the broker refuses 5 (aedes). Default 'auto'. */
  protocolVersion?: 5 | 4 | 'auto';
  /** Reconnect backoff: delay doubles from minMs to maxMs, each delay jittered by ±jitter. Default 250 / 10000 / 0.5. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  reconnectJitter?: number;
  /** Give up on one connection attempt after this. Default 10000 ms. */
  connectTimeoutMs?: number;
}

export const CONNECTION_DEFAULTS = {
  keepaliveS: 10,
  protocolVersion: 'auto' as const,
  reconnectMinMs: 250,
  reconnectMaxMs: 10_000,
  reconnectJitter: 0.5,
  connectTimeoutMs: 10_000,
  rejectUnauthorized: true,
};

export interface ResolvedConnection {
  url: string;
  clientId: string;
  keepaliveS: number;
  protocol: 5 | 4 | 'auto';
  backoff: { minMs: number; maxMs: number; jitter: number };
  /** mqtt.js options except will, clean and session properties, which the caller adds. */
  client: IClientOptions;
}

function num(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new RewarddError('E_CONFIG', `mqtt.${name}: expected a number in [${min}, ${max}], found ${describeValue(v)}`);
  }
  return v;
}

function pem(name: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new RewarddError('E_FILE', `mqtt.${name}: cannot read ${path}: ${(e as Error).message}`);
  }
}

export function resolveConnection(o: MqttConnectionOptions, role: string): ResolvedConnection {
  if (typeof o.mqttUrl !== 'string' || !/^(mqtts?|wss?|tcp|ssl):\/\/[^/]+/.test(o.mqttUrl)) {
    throw new RewarddError('E_CONFIG', `mqtt url: expected mqtt://host:port (or mqtts://, ws://, wss://), found ${describeValue(o.mqttUrl)}`);
  }
  const clientId = o.clientId ?? `rewardd-${role}-${randomBytes(4).toString('hex')}`;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 128) {
    throw new RewarddError('E_CONFIG', `mqtt.clientId: expected 1..128 characters, found ${describeValue(clientId)}`);
  }
  const keepaliveS = num('keepaliveS', o.keepaliveS ?? CONNECTION_DEFAULTS.keepaliveS, 1, 65535);
  const protocol = o.protocolVersion ?? CONNECTION_DEFAULTS.protocolVersion;
  if (protocol !== 5 && protocol !== 4 && protocol !== 'auto') {
    throw new RewarddError('E_CONFIG', `mqtt.protocolVersion: expected 5, 4 or "auto", found ${describeValue(protocol)}`);
  }
  const minMs = num('reconnectMinMs', o.reconnectMinMs ?? CONNECTION_DEFAULTS.reconnectMinMs, 10, 3_600_000);
  const maxMs = num('reconnectMaxMs', o.reconnectMaxMs ?? CONNECTION_DEFAULTS.reconnectMaxMs, minMs, 3_600_000);
  const jitter = num('reconnectJitter', o.reconnectJitter ?? CONNECTION_DEFAULTS.reconnectJitter, 0, 1);
  const connectTimeout = num('connectTimeoutMs', o.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs, 100, 600_000);
  const ca = pem('caFile', o.caFile);
  const cert = pem('certFile', o.certFile);
  const key = pem('keyFile', o.keyFile);
  if ((cert === undefined) !== (key === undefined)) throw new RewarddError('E_CONFIG', 'mqtt: expected certFile and keyFile together, found only one');
  const client: IClientOptions = {
    clientId,
    keepalive: keepaliveS,
    protocolVersion: protocol === 4 ? 4 : 5,
    connectTimeout,
    reconnectPeriod: minMs,
    // Pings on a fixed schedule even while publishing, so a blackholed link is noticed
    // within ~1.5x keepalive instead of only after the in-flight window fills.
    reschedulePings: false,
    // A robot keeps trying (with backoff) even when the broker refuses it: the refusal may be
    // fixed on the broker side, and the fallback from MQTT 5 to 3.1.1 needs the retry.
    reconnectOnConnackError: true,
    // Subscriptions are renewed by our own 'connect' handlers (they may change options per session).
    resubscribe: false,
    rejectUnauthorized: o.rejectUnauthorized ?? CONNECTION_DEFAULTS.rejectUnauthorized,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
  };
  return { url: o.mqttUrl, clientId, keepaliveS, protocol, backoff: { minMs, maxMs, jitter }, client };
}
