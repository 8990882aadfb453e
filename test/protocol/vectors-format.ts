import type { ChannelInfo, Frame } from '../../src/protocol/index.js';
import { channelTypeSize } from '../../src/protocol/index.js';

/**
 * The golden-vector line format shared with firmware-bridge/test/describe.cpp:
 * `name | wire bytes (hex) | expected`, where expected is a canonical frame
 * description or an outcome (!crc, !malformed, !oversize, !none). Floats are
 * written as their f32 bits and strings as UTF-8 hex, so nothing depends on
 * how either language prints numbers.
 */
export interface Vector {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly expected: string;
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const strHex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

const dv = new DataView(new ArrayBuffer(4));
const f32hex = (v: number): string => {
  dv.setFloat32(0, v, true);
  return `0x${dv.getUint32(0, true).toString(16).padStart(8, '0')}`;
};

export function describeFrame(f: Frame, channels: readonly ChannelInfo[] | null): string {
  const head = `${f.type} seq=${f.seq} time_us=${f.timeUs}`;
  switch (f.type) {
    case 'HELLO': {
      const ch = f.channels.map((c) => `${c.id}:${c.name}:${c.type}:${c.count}:${f32hex(c.scale)}:${strHex(c.unit)}`).join(',');
      return `${head} version=${f.protocolVersion} boot_id=${f.bootId} watchdog_ms=${f.watchdogMs} firmware_id=${strHex(f.firmwareId)} channels=${ch}`;
    }
    case 'SAMPLE': {
      const kinds: string[] = [];
      for (const c of channels ?? []) for (let i = 0; i < c.count; i++) kinds.push(c.type);
      return `${head} values=${f.values.map((v, i) => (kinds[i] === 'f32' ? f32hex(v) : String(v))).join(',')}`;
    }
    case 'COMMAND':
      return `${head} raw=${f.values.map((v) => Math.round(v * 32767)).join(',')}`;
    case 'HEARTBEAT':
      return `${head} status=${f.status}`;
    case 'ARM':
    case 'DISARM':
      return head;
    case 'FAULT':
      return `${head} code=${f.code} message=${strHex(f.message)}`;
    case 'LOG':
      return `${head} level=${f.level} message=${strHex(f.message)}`;
  }
}

export function parseVectors(text: string): Vector[] {
  const out: Vector[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, hex, expected] = line.split(' | ');
    if (name === undefined || hex === undefined || expected === undefined) throw new Error(`bad vector line: ${line.slice(0, 60)}`);
    out.push({ name: name.trim(), bytes: fromHex(hex.trim()), expected: expected.trim() });
  }
  return out;
}

export const formatVector = (v: Vector): string => `${v.name} | ${toHex(v.bytes)} | ${v.expected}`;

/** Byte size of one SAMPLE under a table (for hand-built malformed vectors). */
export const sampleBytes = (channels: readonly ChannelInfo[]): number =>
  channels.reduce((n, c) => n + channelTypeSize[c.type] * c.count, 0);
