import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { captureEpisodes } from '../helpers/mqtt-capture.js';
import { tempDirs } from '../helpers/temp.js';
import { until } from '../helpers/wait.js';
import { requireBuild, startCli } from './bin.js';

/**
 * `rewardd run --link johnny-five:<pty>` (built binary) against a StandardFirmata board played
 * by a Python program on a pseudo-terminal (fixtures/firmata-board.py, written from the Firmata
 * protocol description). The board is unplugged (its process ends: the host reads EIO), then a
 * board comes back on the same path: the link reconnects with backoff, says HELLO again, and
 * the steps of the next episode carry the new board's readings.
 */
const MOSQUITTO = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const BOARD = join(process.cwd(), 'test', 'cli', 'fixtures', 'firmata-board.py');
const tmp = tempDirs();
const children: ChildProcess[] = [];
beforeAll(requireBuild);
afterAll(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

function startBoard(link: string, a0: number): Promise<ChildProcess> {
  const child = spawn('python3', [BOARD, '--link', link, '--analog', `0=${a0}`, '--analog', '1=800'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  return until(() => out.includes('pty '), 'the Firmata board to create its pty', 20_000).then(() => child);
}

const stopBoard = (c: ChildProcess): Promise<void> => new Promise((r) => (c.once('exit', () => r()), c.kill('SIGTERM')));

const constant = (name: string, unit: string, value = 0) => ({ name, constant: value, unit });
const mapping = {
  schema: 'rewardd.johnny-five/1',
  sampleHz: 50,
  watchdogMs: 150,
  components: {
    range: { class: 'Sensor', options: { pin: 'A0', freq: 20 } },
    battery: { class: 'Sensor', options: { pin: 'A1', freq: 20 } },
    left: { class: 'Motor', options: { pins: { pwm: 5, dir: 4 } } },
    right: { class: 'Motor', options: { pins: { pwm: 6, dir: 7 } } },
  },
  observations: [
    constant('accel_x', 'm/s^2'), constant('accel_y', 'm/s^2'), constant('accel_z', 'm/s^2', 9.81),
    constant('gyro_x', 'rad/s'), constant('gyro_y', 'rad/s'), constant('gyro_z', 'rad/s'),
    constant('wheel_speed_left', 'rad/s'), constant('wheel_speed_right', 'rad/s'),
    { name: 'range_front', from: 'range', read: 'value', scale: 0.004, unit: 'm' },
    { name: 'battery_voltage', from: 'battery', read: 'value', scale: 0.01466, unit: 'V' },
    constant('beacon_x', 'm', 1), constant('beacon_y', 'm'),
  ],
  actions: [{ name: 'wheel_left', to: 'left' }, { name: 'wheel_right', to: 'right' }],
};

describe('rewardd run --link johnny-five: reconnects after the board is lost', () => {
  it('the board goes away and comes back: the link reconnects and samples flow again', async () => {
    const dir = tmp('rewardd-j5-cli-');
    const link = join(dir, 'ttyFIRMATA');
    const map = join(dir, 'board.johnny-five.json');
    writeFileSync(map, JSON.stringify(mapping));
    const prefix = `rewardd-j5-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cap = await captureEpisodes(MOSQUITTO, prefix);
    let board = await startBoard(link, 250); // A0 = 250: range_front 1.0 m
    const robot = startCli(['run', '--link', `johnny-five:${link}?map=${map}`, '--calibration', 'identity', '--mqtt', MOSQUITTO, '--prefix', prefix, '--state-dir', join(dir, 'state'), '--dashboard-port', 'off', '--hz', '50']);
    try {
      await robot.waitFor(/running rover \(StandardFirmata via johnny-five\)/, 'the robot to start on the Firmata board', 60_000);
      const rangeOf = (pred: (ep: string) => boolean): number[] =>
        [...cap.episodes.entries()].filter(([id]) => pred(id)).flatMap(([, e]) => e.batches.flatMap((b) => [...batchSteps(b)].map((s) => s.obs[b.observationNames.indexOf('range_front')]!)));
      await until(() => rangeOf(() => true).some((v) => Math.abs(v - 1) < 1e-6), 'steps with the first board\'s reading', 30_000);

      await stopBoard(board); // unplugged
      await robot.waitFor(/link lost: board (close|disconnect)/, 'the loss to be reported', 30_000);
      await until(() => [...cap.episodes.values()].some((e) => e.end?.reason === 'link_lost'), 'the episode to end link_lost', 30_000);
      const before = new Set(cap.episodes.keys());

      board = await startBoard(link, 500); // plugged in again (a board reading 2.0 m)
      await robot.waitFor(/MCU rebooted \(boot id [0-9a-f]+\): disarmed until an explicit arm/, 'the reconnected board\'s HELLO', 60_000);
      await until(() => rangeOf((id) => !before.has(id)).some((v) => Math.abs(v - 2) < 1e-6), 'steps of a new episode with the new board\'s reading', 60_000);
      expect(rangeOf((id) => !before.has(id)).filter((v) => Math.abs(v - 1) < 1e-6)).toEqual([]); // nothing from the old board
      expect(robot.out()).toMatch(/link LOST/); // the status line said so while it was away
    } finally {
      expect(await robot.stop()).toBe(0);
      await stopBoard(board);
      await cap.close();
    }
    expect(robot.err()).not.toMatch(/control thread failed/);
  });
});
