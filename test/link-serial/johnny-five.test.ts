import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { loadRobot } from '../../src/core/robot.js';
import { JohnnyFiveLink } from '../../src/link/johnny-five-link.js';
import { loadJ5Mapping, parseJ5Mapping } from '../../src/link/johnny-five-mapping.js';
import { channelTableMismatches } from '../../src/protocol/robot-check.js';
import { RecordingSink } from './harness.js';

/**
 * johnny-five's own way of testing without a board: a mock Firmata IO
 * (mock-firmata). We stand in for the board's replies (analog reads) and
 * record what johnny-five writes to the pins. Not tried on hardware.
 */
const require = createRequire(import.meta.url);
const MockFirmata = require('mock-firmata').Firmata as new () => Record<string, unknown> & { emit(ev: string): void };

function mockBoard() {
  const io = new MockFirmata();
  const analogReads = new Map<number, (v: number) => void>();
  const writes: [string, number, number][] = [];
  io.analogRead = (pin: number, cb: (v: number) => void) => analogReads.set(pin, cb);
  io.analogWrite = (pin: number, v: number) => writes.push(['pwm', pin, v]);
  io.digitalWrite = (pin: number, v: number) => writes.push(['dig', pin, v]);
  io.servoWrite = (pin: number, v: number) => writes.push(['servo', pin, v]);
  return { io, analogReads, writes };
}

const mapping = parseJ5Mapping({
  schema: 'rewardd.johnny-five/1',
  sampleHz: 100,
  watchdogMs: 150,
  components: {
    range: { class: 'Sensor', options: { pin: 'A0', freq: 5 } },
    left: { class: 'Motor', options: { pins: { pwm: 5, dir: 4 } } },
    pan: { class: 'Servo', options: { pin: 9 } },
  },
  observations: [
    { name: 'range_front', from: 'range', read: 'raw', scale: 0.004, unit: 'm' },
    { name: 'beacon_x', constant: 0, unit: 'm' },
  ],
  actions: [{ name: 'wheel_left', to: 'left' }, { name: 'pan', to: 'pan', center: 90, range: 45 }],
});

describe('JohnnyFiveLink on a mock Firmata board', () => {
  it('synthesises HELLO from the mapping and SAMPLEs from component readings, through the real codec', async () => {
    const { io, analogReads } = mockBoard();
    const sink = new RecordingSink();
    const link = new JohnnyFiveLink({ io, mapping });
    const opening = link.open(sink);
    io.emit('connect');
    io.emit('ready');
    const hello = await opening;
    expect(hello.channels.map((c) => [c.name, c.type, c.unit])).toEqual([['range_front', 'f32', 'm'], ['beacon_x', 'f32', 'm']]);
    expect(hello.watchdogMs).toBe(0); // StandardFirmata has no MCU watchdog, and says so
    expect(analogReads.size).toBe(1);
    [...analogReads.values()][0]!(500);
    await sink.until('a sample with the reading', () => sink.samples().some((s) => Math.abs(s.values[0]! - 2) < 1e-6));
    expect(sink.samples().at(-1)!.values[1]).toBe(0);
    expect(link.counters()).toMatchObject({ crcErrors: 0, malformed: 0 });
    await link.close();
  });

  it('drives Motor and Servo only while armed, and its host-side watchdog stops them', async () => {
    const { io, writes } = mockBoard();
    const clock = new ManualClock(1_000_000_000n);
    const sink = new RecordingSink();
    const link = new JohnnyFiveLink({ io, mapping, clock });
    const opening = link.open(sink);
    io.emit('connect');
    io.emit('ready');
    await opening;
    writes.length = 0;
    link.sendCommand(Float32Array.of(0.5, 1));
    expect(writes).toEqual([]); // not armed
    link.arm();
    link.sendCommand(Float32Array.of(0.5, 1));
    expect(writes).toContainEqual(['pwm', 5, 128]); // motor forward at half speed
    // centre 90 + 1 x range 45 = 135 deg, which johnny-five writes as a 1950 us pulse (600..2400 us over 0..180 deg)
    expect(writes).toContainEqual(['servo', 9, 1950]);
    writes.length = 0;
    link.sendCommand(Float32Array.of(-1, 0));
    expect(writes).toContainEqual(['pwm', 5, 255]);

    writes.length = 0;
    clock.advanceMs(151);
    link.poll(clock.nowNs());
    expect(writes).toContainEqual(['pwm', 5, 0]); // stopped by the host-side watchdog
    expect(link.counters().watchdogStops).toBe(1);
    expect(sink.frames.some((f) => f.type === 'FAULT' && f.code === 1)).toBe(true);
    writes.length = 0;
    link.sendCommand(Float32Array.of(0.5, 0));
    expect(writes).toEqual([]); // disarmed until an explicit arm
    await link.close();
  });

  it('reconnects with backoff after the board goes away, and samples flow again from the new board', async () => {
    const boards: ReturnType<typeof mockBoard>[] = [];
    const sink = new RecordingSink();
    // Each connection gets a fresh mock board, as a real port gets a fresh Firmata session.
    const link = new JohnnyFiveLink({ ioFactory: () => (boards.push(mockBoard()), boards.at(-1)!.io), mapping, reconnectMinMs: 20, reconnectMaxMs: 200 });
    const opening = link.open(sink);
    boards[0]!.io.emit('connect');
    boards[0]!.io.emit('ready');
    const first = await opening;
    link.arm();
    [...boards[0]!.analogReads.values()][0]!(250);
    await sink.until('a sample from the first board', () => sink.samples().some((s) => Math.abs(s.values[0]! - 1) < 1e-6));

    boards[0]!.io.emit('close'); // the USB cable is pulled
    await sink.until('the loss reported', () => sink.events.some((e) => e.kind === 'lost'));
    expect(sink.events.find((e) => e.kind === 'lost')).toMatchObject({ reason: 'board close' });
    const samplesAtLoss = sink.samples().length;
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.samples().length).toBe(samplesAtLoss); // nothing is made up while the board is gone
    link.sendCommand(Float32Array.of(1, 0));
    expect(link.counters().commandsHeld).toBeGreaterThan(0); // and nothing is driven

    // The board comes back: the link has already asked for a new one (backoff, not a busy loop).
    await sink.until('a reconnect attempt', () => boards.length === 2, 5000);
    boards[1]!.io.emit('connect');
    boards[1]!.io.emit('ready');
    await sink.until('a second HELLO', () => sink.events.filter((e) => e.kind === 'hello').length === 2);
    const hello2 = sink.events.filter((e) => e.kind === 'hello')[1]!;
    expect(hello2).toMatchObject({ bootChanged: true }); // its pins were set up afresh: the daemon disarms
    expect(hello2.kind === 'hello' && hello2.hello.bootId).not.toBe(first.bootId);
    expect(boards[1]!.analogReads.size).toBe(1); // the components were built again on the new board
    [...boards[1]!.analogReads.values()][0]!(750);
    await sink.until('samples from the new board', () => sink.samples().slice(samplesAtLoss).some((s) => Math.abs(s.values[0]! - 3) < 1e-6));
    expect(link.counters()).toMatchObject({ connects: 2, lost: 1, crcErrors: 0 });
    link.sendCommand(Float32Array.of(1, 0));
    expect(boards[1]!.writes).not.toContainEqual(['pwm', 5, 255]); // disarmed until an explicit arm
    link.arm();
    link.sendCommand(Float32Array.of(1, 0));
    expect(boards[1]!.writes).toContainEqual(['pwm', 5, 255]);
    await link.close();
  });

  it('keeps trying with backoff while the board stays away, and stops when closed', async () => {
    let made = 0;
    const sink = new RecordingSink();
    const first = mockBoard();
    const link = new JohnnyFiveLink({ ioFactory: () => (made++ === 0 ? first.io : mockBoard().io), mapping, reconnectMinMs: 20, reconnectMaxMs: 80, openTimeoutMs: 50 });
    const opening = link.open(sink);
    first.io.emit('connect');
    first.io.emit('ready');
    await opening;
    first.io.emit('disconnect');
    // Boards that never become ready: each attempt times out after 50 ms, then waits 20, 40, 80, 80... ms.
    await sink.until('several reconnect attempts', () => made >= 4, 10_000);
    await link.close();
    const after = made;
    await new Promise((r) => setTimeout(r, 400));
    expect(made).toBe(after);
  });

  it('the example rover mapping parses and covers robots/rover.json (constants where Firmata cannot measure)', () => {
    const m = loadJ5Mapping('firmware-bridge/johnny-five/rover.johnny-five.json');
    const channels = m.observations.map((o, id) => ({ id, name: o.name, type: 'f32' as const, count: 1, scale: 1, unit: o.unit }));
    expect(channelTableMismatches(channels, loadRobot('robots/rover.json').robot)).toEqual([]);
    expect(m.observations.filter((o) => 'constant' in o).map((o) => o.name)).toEqual(['wheel_speed_left', 'wheel_speed_right', 'beacon_x', 'beacon_y']);
    expect(() => new JohnnyFiveLink({ port: '/dev/ttyACM0' })).toThrow(/E_CONFIG: johnny-five link: expected a mapping/);
    expect(() => parseJ5Mapping({ ...m, actions: [{ name: 'x', to: 'nope' }] })).toThrow(/actions\[0\]\.to: expected one of the components/);
  });
});
