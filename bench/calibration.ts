/**
 * Calibration benchmarks (issue 7): the per-tick cost of applying a full
 * calibration (IMU remap/bias/scale, affines, deadbands, range table) against
 * a plain copy of the same observation, measured in the same run; and how
 * long the procedures take on the sim's virtual clock (what tests and
 * `rewardd calibrate --link sim` pay).
 *
 *   NODE_OPTIONS=--no-node-snapshot npx tsx bench/calibration.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrate, compileCalibration, identityCalibration, virtualPacer, type CalibrationFile } from '../src/calibration/index.js';
import { loadRobot } from '../src/core/robot.js';
import { packageRoot } from '../src/core/version.js';
import { SimLink } from '../src/link/sim-link.js';
import { PERFECT_SENSORS } from '../src/link/sim/rover-model.js';

const N = 200_000;
const REPS = 7;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const robot = loadRobot(join(packageRoot(), 'robots', 'rover.json')).robot;
  const names = robot.observations.map((f) => f.name);
  const full: CalibrationFile = {
    schema: 'rewardd.calibration/1',
    robot: 'rover',
    channels: { wheel_speed_left: { scale: 1.01, deadband: 0.05 }, wheel_speed_right: { scale: 0.99, deadband: 0.05 }, battery_voltage: { offset: -0.1 } },
    imu: { axis_remap: ['y', 'x', 'z'], axis_sign: [1, -1, 1], gyro_bias: [0.01, 0.02, 0.03], accel_bias: [0.1, 0.2, 0.3], accel_scale: [1.01, 0.99, 1] },
    range: { field: 'range_front', table: Array.from({ length: 16 }, (_, i): [number, number] => [i * 0.25, i * 0.25 * 0.98]) },
  };
  const raw = new Float64Array(names.length);
  const out = new Float64Array(names.length);
  const variants: Array<[string, (r: Float64Array, o: Float64Array) => void]> = [
    ['copy (baseline)', (r, o) => o.set(r)],
    ['identity calibration', compileCalibration(identityCalibration(robot).file, names)],
    ['full calibration', compileCalibration(full, names)],
  ];
  const results: Array<[string, number]> = [];
  for (const [name, fn] of variants) {
    const ns: number[] = [];
    for (let rep = 0; rep <= REPS; rep++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        raw[8] = (i % 400) * 0.01; // sweep the range table
        raw[6] = (i % 7) * 0.02;
        fn(raw, out);
      }
      if (rep > 0) ns.push(Number(process.hrtime.bigint() - t0) / N);
    }
    results.push([name, median(ns)]);
  }
  const base = results[0]![1];
  console.log('apply per tick (12 fields)       median ns   ratio to copy');
  for (const [name, v] of results) console.log(`  ${name.padEnd(28)} ${v.toFixed(1).padStart(9)}   ${(v / base).toFixed(2)}x`);

  const dir = mkdtempSync(join(tmpdir(), 'rewardd-bench-cal-'));
  console.log('\nprocedure on the sim, virtual clock   median ms (3 runs)   simulated s');
  const simulated = { 'imu-rest': 10.5, range: 11.5, odometry: 10 } as const;
  for (const procedure of ['imu-rest', 'range', 'odometry'] as const) {
    const ms: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const link = new SimLink({ rover: { seed: rep + 1, errors: { ...PERFECT_SENSORS, gyroBias: [0.01, 0, 0], rangeGain: 1.1 } } });
      const t0 = process.hrtime.bigint();
      await calibrate({ procedure, link, robot, out: join(dir, `${procedure}-${rep}.json`), pacer: virtualPacer(), sim: link.model });
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(`  ${procedure.padEnd(34)} ${median(ms).toFixed(1).padStart(9)}   ${String(simulated[procedure]).padStart(16)}`);
  }
  rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
