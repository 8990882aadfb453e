import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/codec.js';
import type { ChannelInfo } from '../../src/protocol/frames.js';
import { ROVER_CHANNELS } from '../../src/protocol/rover-channels.js';
import { frameWireBytes, serialBudget, serialTickWarning } from '../../src/link/serial-budget.js';

/** The rover firmware's table: the eight shared channels plus motor_applied (firmware-bridge/.../rover_channels.h). */
const FIRMWARE_CHANNELS: ChannelInfo[] = [...ROVER_CHANNELS, { id: 8, name: 'motor_applied', type: 'i16', count: 2, scale: 1 / 32767, unit: '1' }];

describe('serial link budget', () => {
  it('sizes frames as the encoder writes them', () => {
    const sample = encodeFrame({ type: 'SAMPLE', seq: 1, timeUs: 2, values: [...Array(12).fill(1.5), 100, -100] }, FIRMWARE_CHANNELS);
    const command = encodeFrame({ type: 'COMMAND', seq: 1, timeUs: 2, values: [0.5, -1] });
    const heartbeat = encodeFrame({ type: 'HEARTBEAT', seq: 1, timeUs: 2, status: 1 });
    expect(serialBudget({ baudRate: 115200, channels: FIRMWARE_CHANNELS, motors: 2, hostHeartbeatMs: 50 }).sampleWireBytes).toBe(sample.length);
    expect(frameWireBytes(4)).toBe(command.length);
    expect(frameWireBytes(1)).toBe(heartbeat.length);
  });

  it('gives samples/s and the largest tick rate per baud rate (10 bits a byte, heartbeats subtracted)', () => {
    const sampleBytes = encodeFrame({ type: 'SAMPLE', seq: 0, timeUs: 0, values: Array(14).fill(0) }, FIRMWARE_CHANNELS).length;
    const hb = encodeFrame({ type: 'HEARTBEAT', seq: 0, timeUs: 0, status: 0 }).length;
    for (const baud of [115200, 1_000_000]) {
      const b = serialBudget({ baudRate: baud, channels: FIRMWARE_CHANNELS, motors: 2, hostHeartbeatMs: 50 });
      expect(b.samplesPerSecond).toBeCloseTo((baud / 10 - 10 * hb) / sampleBytes, 6);
      expect(b.maxTickHz).toBe(Math.min(b.samplesPerSecond, b.commandsPerSecond));
      expect(b.maxTickHz).toBe(b.samplesPerSecond); // the MCU -> host direction is the narrow one for the rover
    }
    expect(Math.floor(serialBudget({ baudRate: 115200, channels: FIRMWARE_CHANNELS, motors: 2, hostHeartbeatMs: 50 }).maxTickHz)).toBe(180);
    expect(Math.floor(serialBudget({ baudRate: 1_000_000, channels: FIRMWARE_CHANNELS, motors: 2, hostHeartbeatMs: 50 }).maxTickHz)).toBe(1585);
  });

  it('warns only above the budget, naming the rate, the baud and the limit', () => {
    const b = serialBudget({ baudRate: 115200, channels: FIRMWARE_CHANNELS, motors: 2, hostHeartbeatMs: 50 });
    expect(serialTickWarning(100, b, '/dev/ttyUSB0')).toBeNull();
    expect(serialTickWarning(180, b, '/dev/ttyUSB0')).toBeNull();
    const w = serialTickWarning(200, b, '/dev/ttyUSB0');
    expect(w).toMatch(/^warning: serial \/dev\/ttyUSB0: --hz 200 is above what 115200 baud carries/);
    expect(w).toMatch(/at most 180 ticks\/s/);
    expect(w!.split('\n')).toHaveLength(1);
    // A tiny baud rate: commands become the limit when the sample is small.
    const tiny = serialBudget({ baudRate: 9600, channels: [{ id: 0, name: 'x', type: 'i16', count: 1, scale: 1, unit: '' }], motors: 4, hostHeartbeatMs: 50 });
    expect(tiny.maxTickHz).toBe(tiny.commandsPerSecond);
    expect(serialTickWarning(100, tiny, 'p')).toMatch(/commands\/s of 19 bytes/);
  });
});
