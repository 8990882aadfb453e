import { RewarddError, describeValue } from '../core/errors.js';

/** Options of the serial link, each default written once here (and in `rewardd run --help`). */
export interface SerialLinkOptions {
  /** Device path: /dev/ttyACM0, /dev/serial/by-id/..., or a pty. */
  readonly path: string;
  /** Default 115200. USB CDC boards ignore it; a UART bridge needs the sketch's value. */
  readonly baudRate: number;
  /** Host HEARTBEAT period, ms. Default 50 (a third of the MCU's default 150 ms watchdog). */
  readonly heartbeatMs: number;
  /** No valid frame for this long -> link lost. Default 500 ms. */
  readonly rxSilenceMs: number;
  /** open() rejects when no HELLO arrived within this. Default 3000 ms. */
  readonly openTimeoutMs: number;
  /** Reconnect backoff: first delay, doubling up to the max. Defaults 100 and 2000 ms. */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
}

export const SERIAL_DEFAULTS: Omit<SerialLinkOptions, 'path'> = {
  baudRate: 115200,
  heartbeatMs: 50,
  rxSilenceMs: 500,
  openTimeoutMs: 3000,
  reconnectMinMs: 100,
  reconnectMaxMs: 2000,
};

const KEYS: Record<string, keyof typeof SERIAL_DEFAULTS> = {
  baud: 'baudRate',
  heartbeat: 'heartbeatMs',
  silence: 'rxSilenceMs',
  'open-timeout': 'openTimeoutMs',
  'reconnect-min': 'reconnectMinMs',
  'reconnect-max': 'reconnectMaxMs',
};

/** Fill defaults and reject bad values early (E_CONFIG, expected vs found). */
export function normalizeSerialOptions(o: Partial<SerialLinkOptions> & { path: string }): SerialLinkOptions {
  if (typeof o.path !== 'string' || o.path === '') throw new RewarddError('E_CONFIG', `serial link: expected a device path, found ${describeValue(o.path)}`);
  const out = { ...SERIAL_DEFAULTS, ...o } as SerialLinkOptions;
  for (const k of Object.keys(SERIAL_DEFAULTS) as (keyof typeof SERIAL_DEFAULTS)[]) {
    const v = out[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new RewarddError('E_CONFIG', `serial link ${k}: expected a positive integer, found ${describeValue(v)}`);
    }
  }
  if (out.heartbeatMs >= out.rxSilenceMs) {
    throw new RewarddError('E_CONFIG', `serial link: expected heartbeatMs < rxSilenceMs, found ${out.heartbeatMs} >= ${out.rxSilenceMs}`);
  }
  if (out.reconnectMinMs > out.reconnectMaxMs) {
    throw new RewarddError('E_CONFIG', `serial link: expected reconnectMinMs <= reconnectMaxMs, found ${out.reconnectMinMs} > ${out.reconnectMaxMs}`);
  }
  return out;
}

/**
 * Parses `serial:<path>[?baud=N&heartbeat=MS&silence=MS&open-timeout=MS&reconnect-min=MS&reconnect-max=MS]`
 * (the `--link` value of `rewardd run`).
 */
export function parseSerialLinkSpec(spec: string): SerialLinkOptions {
  const m = /^serial:([^?]+)(?:\?(.*))?$/.exec(spec);
  if (!m) throw new RewarddError('E_CONFIG', `--link: expected serial:<path>[?baud=N...], found ${describeValue(spec)}`);
  const o: Record<string, unknown> = { path: m[1] };
  for (const [k, v] of new URLSearchParams(m[2] ?? '')) {
    const key = KEYS[k];
    if (key === undefined) throw new RewarddError('E_CONFIG', `--link ${spec}: unknown option "${k}" (expected one of ${Object.keys(KEYS).join(', ')})`);
    o[key] = Number(v);
  }
  return normalizeSerialOptions(o as Partial<SerialLinkOptions> & { path: string });
}
