import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupName, calibrate, loadCalibration, virtualPacer, type Prompter } from '../../src/calibration/index.js';
import type { Link } from '../../src/link/link.js';
import type { SimLink } from '../../src/link/sim-link.js';
import { removeTempDirs, robot, runSim, simLink, tempDir } from './helpers.js';

afterAll(removeTempDirs);

/** The sim with someone pushing it: a drive command before every poll. */
function pushed(inner: SimLink, left: number, right: number): Link {
  const cmd = Float32Array.of(left, right);
  return {
    kind: 'sim',
    detail: {},
    open: async (sink) => {
      const h = await inner.open(sink);
      inner.arm();
      return h;
    },
    poll: (ns) => {
      inner.sendCommand(cmd);
      inner.poll(ns);
    },
    sendCommand: (v) => inner.sendCommand(v),
    arm: () => inner.arm(),
    disarm: () => inner.disarm(),
    resetScenario: (i) => inner.resetScenario(i),
    counters: () => inner.counters(),
    close: () => inner.close(),
  };
}

const existing = { schema: 'rewardd.calibration/1', robot: 'rover', note: 'hand-made', channels: { battery_voltage: { scale: 1.01 } }, odometry: { wheel_radius_m: 0.034, track_width_m: 0.161 } };

describe('imu-rest refuses when the robot moved', () => {
  it('wheels turning during the capture: refused, naming what moved, nothing written', async () => {
    const out = join(tempDir(), 'rover.json');
    const inner = simLink();
    await expect(calibrate({ procedure: 'imu-rest', link: pushed(inner, 0.4, 0.4), robot, out, pacer: virtualPacer(), sim: inner.model })).rejects.toThrow(
      /E_CALIBRATION: imu-rest: the robot moved during the capture, nothing written: .*wheel_speed_left rms [\d.]+ rad\/s \(limit 0\.5\)/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('turning steadily in place: caught by the gyro mean even with the wheel check off', async () => {
    const out = join(tempDir(), 'rover.json');
    const inner = simLink();
    await expect(
      calibrate({ procedure: 'imu-rest', link: pushed(inner, -0.3, 0.3), robot, out, pacer: virtualPacer(), imuRest: { maxWheelRms: 100, maxAccelStd: 100 } }),
    ).rejects.toThrow(/gyro_z mean [\d.]+ rad\/s \(limit ±0\.5\)/);
  });

  it('gravity off +z (tilted, or a wrong remap): refused', async () => {
    const out = join(tempDir(), 'rover.json');
    await expect(runSim('imu-rest', simLink({ accelBias: [4, 0, 0] }), out)).rejects.toThrow(/expected gravity on robot \+z/);
  });
});

describe('the link', () => {
  it('an MCU lost mid-capture stops the procedure with E_LINK and closes the link', async () => {
    const inner = simLink();
    let polls = 0;
    let closed = false;
    let lost: ((reason: string) => void) | null = null;
    const link: Link = {
      ...pushed(inner, 0, 0),
      open: (sink) => ((lost = (r) => sink.onLost(r)), inner.open(sink)),
      poll: (ns) => {
        inner.poll(ns);
        if (++polls === 300) lost?.('serial port unplugged');
      },
      close: () => ((closed = true), inner.close()),
    };
    const out = join(tempDir(), 'rover.json');
    await expect(calibrate({ procedure: 'imu-rest', link, robot, out, pacer: virtualPacer() })).rejects.toThrow('E_LINK: calibration stopped: serial port unplugged');
    expect(closed).toBe(true);
    expect(existsSync(out)).toBe(false);
  });

  it('a long capture reports progress every 2 s of capture time', async () => {
    const { lines } = await runSim('imu-rest', simLink(), join(tempDir(), 'rover.json'), { imuRest: { seconds: 7 } });
    expect(lines.filter((l) => /^imu-rest: \d\/7 s$/.test(l))).toEqual(['imu-rest: 2/7 s', 'imu-rest: 4/7 s', 'imu-rest: 6/7 s']);
  });
});

describe('residual limits', () => {
  it('a residual over its limit refuses to write and leaves the existing file as it was', async () => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    writeFileSync(out, JSON.stringify(existing));
    const before = readFileSync(out, 'utf8');
    await expect(runSim('range', simLink({ rangeGain: 1.1 }), out, { maxResidual: { max_error_m: 1e-6 } })).rejects.toThrow(
      /E_CALIBRATION: range: residuals over their limits, .* not written: range\.max_error_m [\d.e-]+ > 0\.000001/,
    );
    expect(readFileSync(out, 'utf8')).toBe(before);
    expect(readdirSync(dir)).toEqual(['rover.json']);
  });

  it('a reading at the sensor limit (clipped) is refused, naming the distance', async () => {
    const out = join(tempDir(), 'rover.json');
    const distances = [0.15, 0.3, 0.6, 1.0];
    // offset -0.2 clips the 0.15 m reading to 0 (the field minimum): refused as out of range, naming the distance.
    await expect(runSim('range', simLink({ rangeOffset: -0.2 }), out, { range: { distances } })).rejects.toThrow(/at 0\.15 m range_front reads 0\.0000 m, its limit/);
  });

  it('unknown residual names in --max-residual are refused', async () => {
    const out = join(tempDir(), 'rover.json');
    await expect(runSim('range', simLink(), out, { maxResidual: { turn_error_rad: 1 } })).rejects.toThrow(/--max-residual: expected one of range\.max_error_m, found "turn_error_rad"/);
  });
});

describe('writing', () => {
  it('keeps the old file as <name>.<UTC time>.bak, says so, and keeps the sections it did not measure', async () => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    writeFileSync(out, JSON.stringify(existing));
    const before = readFileSync(out, 'utf8');
    const now = new Date('2026-11-27T15:01:02.345Z');
    const { result, lines } = await runSim('imu-rest', simLink({ gyroBias: [0.01, 0, 0] }), out, { now: () => now });
    expect(result.backup).toBe(join(dir, 'rover.json.20261127T150102Z.bak'));
    expect(readFileSync(result.backup!, 'utf8')).toBe(before);
    expect(lines).toContain(`kept the previous ${out} as ${result.backup}`);
    const cal = loadCalibration(out, robot).file;
    expect(cal.channels).toEqual(existing.channels);
    expect(cal.odometry).toEqual(existing.odometry);
    expect(cal.imu?.gyro_bias?.[0]).toBeCloseTo(0.01, 3);
    expect(cal.created).toBe(now.toISOString());
    // A second run in the same second does not overwrite the first backup.
    const again = await runSim('imu-rest', simLink(), out, { now: () => now });
    expect(again.result.backup).toBe(join(dir, 'rover.json.20261127T150102Z-1.bak'));
    expect(readFileSync(result.backup!, 'utf8')).toBe(before);
  });

  it('no existing file: no backup, and the written file validates', async () => {
    const out = join(tempDir(), 'new.json');
    const { result, lines } = await runSim('odometry', simLink(), out);
    expect(result.backup).toBeNull();
    expect(lines.some((l) => l.startsWith('kept'))).toBe(false);
    expect(loadCalibration(out, robot).file.residuals?.['odometry.turn_error_rad']).toBeLessThan(0.05);
  });

  it('an unconfirmed replacement writes nothing', async () => {
    const dir = tempDir();
    const out = join(dir, 'rover.json');
    writeFileSync(out, JSON.stringify(existing));
    await expect(runSim('imu-rest', simLink(), out, { confirm: () => Promise.resolve(false) })).rejects.toThrow(/not written: replacing it was not confirmed/);
    expect(readdirSync(dir)).toEqual(['rover.json']);
  });

  it('an existing --out that does not validate is refused before anything runs, naming its field', async () => {
    const out = join(tempDir(), 'rover.json');
    writeFileSync(out, JSON.stringify({ ...existing, odometry: { wheel_radius_m: 35, track_width_m: 0.16 } }));
    await expect(runSim('imu-rest', simLink(), out)).rejects.toThrow(/odometry\.wheel_radius_m: expected metres .* \(the existing --out file must be valid to merge into/);
  });

  it('backupName numbers collisions', () => {
    const dir = tempDir();
    const p = join(dir, 'cal.json');
    const now = new Date('2026-01-02T03:04:05Z');
    expect(backupName(p, now)).toBe(join(dir, 'cal.json.20260102T030405Z.bak'));
    writeFileSync(join(dir, 'cal.json.20260102T030405Z.bak'), '');
    expect(backupName(p, now)).toBe(join(dir, 'cal.json.20260102T030405Z-1.bak'));
  });
});

describe('interactive flow (a person at a real robot, played by a script)', () => {
  it('range: prompts for each distance; the "person" places the robot; recovers the gain', async () => {
    const link = simLink({ rangeGain: 1.08 });
    const asked: string[] = [];
    const person: Prompter = {
      ask(q) {
        asked.push(q);
        const m = /sensor ([\d.]+) m from a flat wall/.exec(q);
        if (m) link.model.placeFacingWall(Number(m[1]));
        return Promise.resolve('');
      },
    };
    const out = join(tempDir(), 'rover.json');
    // sim: null: the procedure treats the link as a real robot it cannot place itself.
    await calibrate({ procedure: 'range', link, robot, out, pacer: virtualPacer(), prompter: person, range: { distances: [0.4, 0.8, 1.6] } });
    expect(asked).toHaveLength(3);
    expect(asked[0]).toMatch(/^Place the robot with its range_front sensor 0\.4 m from a flat wall.*Press Enter/);
    // 6 σ of a 200-sample mean over the 1.3 m raw span.
    expect(Math.abs(loadCalibration(out, robot).file.channels!.range_front!.scale! - 1 / 1.08)).toBeLessThan((6 * 0.005) / Math.sqrt(200) / 1.3);
  });

  it('odometry: the "person" measures each segment with a tape and a protractor', async () => {
    const link = simLink({ wheelRadiusScale: 1.05 });
    const m = link.model;
    m.placeForCalibration(0, 0, 0);
    let start = { x: 0, y: 0, theta: 0 };
    let turns = 0;
    const person: Prompter = {
      ask(q) {
        if (q.startsWith('Mark')) start = { x: m.x, y: m.y, theta: m.theta };
        if (q.startsWith('Measured distance')) return Promise.resolve(((m.x - start.x) * Math.cos(start.theta) + (m.y - start.y) * Math.sin(start.theta)).toFixed(3));
        if (q.startsWith('Measured turn')) {
          // A person counts whole turns; the protractor gives the rest. Spin 1 is CCW, spin 2 CW.
          const d = (((m.theta - start.theta) * 180) / Math.PI + 540) % 360 - 180;
          turns++;
          const whole = turns === 1 ? 1 : -1;
          return Promise.resolve((whole * 360 + d).toFixed(1));
        }
        return Promise.resolve('');
      },
    };
    const out = join(tempDir(), 'rover.json');
    const { outcome } = await calibrate({ procedure: 'odometry', link, robot, out, pacer: virtualPacer(), prompter: person });
    expect(outcome.residuals['odometry.distance_error_m']).toBeLessThan(0.005);
    const od = loadCalibration(out, robot).file.odometry!;
    expect(od.wheel_radius_m).toBeCloseTo(0.035 * 1.05, 4);
    expect(od.track_width_m).toBeCloseTo(0.16, 2);
  });

  it('a real robot with no one to prompt (--yes) is refused for range and odometry', async () => {
    const out = join(tempDir(), 'rover.json');
    await expect(calibrate({ procedure: 'range', link: simLink(), robot, out, pacer: virtualPacer() })).rejects.toThrow(/must be placed by hand .* run without --yes/);
    await expect(calibrate({ procedure: 'odometry', link: simLink(), robot, out, pacer: virtualPacer() })).rejects.toThrow(/needs measured distances and turns/);
  });
});
