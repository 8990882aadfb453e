import type { ChannelInfo, Frame } from '../../src/protocol/index.js';

/** A small mixed-type table so every wire type is exercised. */
export const MIXED: readonly ChannelInfo[] = [
  { id: 0, name: 'pos', type: 'i16', count: 2, scale: 0.001, unit: 'm' },
  { id: 1, name: 'ticks', type: 'u16', count: 1, scale: 1, unit: '1' },
  { id: 2, name: 'energy', type: 'i32', count: 1, scale: 0.5, unit: 'J' },
  { id: 3, name: 'imu', type: 'f32', count: 3, scale: 1, unit: 'm/s^2' },
];

export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

export function hello(seq = 0, channels: readonly ChannelInfo[] = MIXED, bootId = 0xdeadbeef): Frame {
  return { type: 'HELLO', seq, timeUs: 10, protocolVersion: 1, firmwareId: 'test-fw/1', bootId, watchdogMs: 150, channels };
}
