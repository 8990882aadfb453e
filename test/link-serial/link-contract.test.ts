import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRobot } from '../../src/core/robot.js';
import type { Link } from '../../src/link/link.js';
import { SimLink } from '../../src/link/sim-link.js';
import { SerialLink } from '../../src/link/serial-link.js';
import { JohnnyFiveLink } from '../../src/link/johnny-five-link.js';
import { parseJ5Mapping } from '../../src/link/johnny-five-mapping.js';
import { HostFirmware } from '../../src/link/serial-firmware-sim.js';
import { channelFieldNames } from '../../src/protocol/index.js';
import { channelTableMismatches } from '../../src/protocol/robot-check.js';
import { RecordingSink, sleep, uniqueLinkPath } from './harness.js';

/**
 * One contract, one suite (STYLE.md 1): the same checks against every Link —
 * the simulated rover, the serial link to the host-built firmware on a real
 * pty, and johnny-five on a mock Firmata board.
 */
const robot = loadRobot('robots/rover.json').robot;
const require = createRequire(import.meta.url);
const MockFirmata = require('mock-firmata').Firmata as new () => Record<string, unknown> & { emit(ev: string): void };
const firmwares: HostFirmware[] = [];
afterAll(async () => {
  for (const f of firmwares) await f.stop('SIGKILL');
});

interface Subject {
  make(): Promise<{ link: Link; afterOpen?: () => void }>;
}

const subjects: Record<string, Subject> = {
  sim: { make: async () => ({ link: new SimLink({ rover: { seed: 3 } }) }) },
  'serial (host firmware on a pty)': {
    make: async () => {
      const path = uniqueLinkPath();
      firmwares.push(await HostFirmware.start({ rateHz: 200, linkPath: path }));
      return { link: new SerialLink({ path }) };
    },
  },
  'johnny-five (mock Firmata)': {
    make: async () => {
      const io = new MockFirmata();
      io.analogRead = (_pin: number, cb: (v: number) => void) => cb(300);
      const mapping = parseJ5Mapping({
        schema: 'rewardd.johnny-five/1',
        sampleHz: 200,
        components: { range: { class: 'Sensor', options: { pin: 'A0', freq: 5 } }, left: { class: 'Motor', options: { pins: { pwm: 5, dir: 4 } } }, right: { class: 'Motor', options: { pins: { pwm: 6, dir: 7 } } } },
        observations: robot.observations.map((f) => (f.name === 'range_front' ? { name: f.name, from: 'range', read: 'raw', scale: 0.004, unit: f.unit } : { name: f.name, constant: 0, unit: f.unit })),
        actions: [{ name: 'wheel_left', to: 'left' }, { name: 'wheel_right', to: 'right' }],
      });
      const link = new JohnnyFiveLink({ io, mapping });
      return { link, afterOpen: () => (io.emit('connect'), io.emit('ready')) };
    },
  },
};

describe.each(Object.entries(subjects))('Link contract: %s', (_name, subject) => {
  it('opens with a HELLO that serves the robot, streams SAMPLEs in table shape, takes commands and arm/disarm without throwing, and closes', async () => {
    const { link, afterOpen } = await subject.make();
    const sink = new RecordingSink();
    const opening = link.open(sink);
    afterOpen?.();
    const hello = await opening;
    expect(sink.events.filter((e) => e.kind === 'hello')).toHaveLength(1);
    expect(channelTableMismatches(hello.channels, robot)).toEqual([]);
    expect(typeof link.kind).toBe('string');

    link.sendCommand(Float32Array.of(0.5, 0.5)); // not armed: must not throw, must not move
    const width = channelFieldNames(hello.channels).length;
    const t0 = Date.now();
    while (sink.samples().length < 10 && Date.now() - t0 < 5000) {
      link.poll(process.hrtime.bigint()); // the sim makes its frames here; the others from I/O
      await sleep(5);
    }
    expect(sink.samples().length).toBeGreaterThanOrEqual(10);
    expect(sink.samples().every((s) => s.values.length === width)).toBe(true);
    expect(sink.events.some((e) => e.kind === 'lost')).toBe(false);

    link.arm();
    link.sendCommand(Float32Array.of(0.2, -0.2));
    link.disarm();
    const c = link.counters();
    expect(Object.values(c).every((v) => Number.isFinite(v))).toBe(true);
    expect(c.crcErrors ?? 0).toBe(0);
    expect(link.resetScenario(0)).toBeTypeOf('object');
    await link.close();
    expect(() => link.poll(process.hrtime.bigint())).not.toThrow();
  });
});
