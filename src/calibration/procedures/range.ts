import { RewarddError } from '../../core/errors.js';
import type { CalibrationFile, ChannelCalibration } from '../calibration.js';
import { interpolate } from '../apply.js';
import { RunningStats, fitLine, round } from './stats.js';
import type { ProcedureEnv, ProcedureOutcome } from './types.js';

export type RangeFit = 'affine' | 'table';

export interface RangeOptions {
  /** The range observation to calibrate. */
  field: string;
  /** True distances from the sensor face to the wall, m, in the order they are visited. */
  distances: number[];
  /** Capture per distance, s. */
  secondsPerDistance: number;
  /** Discarded after each placement (hands off, sensor filter settling), s. */
  settleSeconds: number;
  /**
   * affine: least-squares line written as channels.<field>.scale/offset (sensors
   * linear in distance: ToF, ultrasonic). table: piecewise-linear range.table
   * through the measured points (IR triangulation sensors, ~1/x).
   */
  fit: RangeFit;
}

export const RANGE_DEFAULTS: RangeOptions = {
  field: 'range_front',
  distances: [0.3, 0.6, 1.0, 1.5, 2.0],
  secondsPerDistance: 2,
  settleSeconds: 0.3,
  fit: 'affine',
};

/** affine: the fit's largest error at a measured distance; table: the leave-one-out error at the interior points. */
export const RANGE_LIMITS = { 'range.max_error_m': 0.02 };

interface Point {
  truth: number;
  raw: number;
  std: number;
  n: number;
}

/**
 * Range sensor against known distances. On the sim the procedure places the
 * rover itself; on a real robot a person places it at each distance when
 * prompted (like LeRobot's calibration flow). The fit maps RAW readings to
 * true distance, so it replaces both the field's affine and any range table
 * of the base file (the deadband is kept).
 */
export async function rangeProcedure(env: ProcedureEnv, opts: Partial<RangeOptions> = {}): Promise<ProcedureOutcome> {
  const o = { ...RANGE_DEFAULTS, ...opts };
  const s = env.session;
  const fi = s.index(o.field);
  const spec = s.robot.observations[fi]!;
  const minPoints = o.fit === 'table' ? 3 : 2;
  if (o.distances.length < minPoints || !o.distances.every((d) => Number.isFinite(d) && d > 0)) {
    throw new RewarddError('E_CONFIG', `--distances: expected at least ${minPoints} positive distances in metres for a ${o.fit} fit, found [${o.distances.join(', ')}]`);
  }
  if (!env.sim && !env.prompter) {
    throw new RewarddError('E_CONFIG', 'range: a real robot must be placed by hand at each distance; run without --yes to be prompted');
  }
  const points: Point[] = [];
  for (const d of o.distances) {
    if (env.sim) {
      try {
        env.sim.placeFacingWall(d);
      } catch (e) {
        throw new RewarddError('E_CONFIG', `--distances: ${(e as Error).message}`);
      }
    } else {
      await env.prompter!.ask(`Place the robot with its ${o.field} sensor ${d} m from a flat wall, facing it squarely. Press Enter when it is still.`);
    }
    await s.capture(o.settleSeconds);
    const st = new RunningStats();
    await s.capture(o.secondsPerDistance, { onSample: (raw) => st.add(raw[fi]!) });
    if (st.count < 3) throw new RewarddError('E_LINK', `range: expected samples at ${d} m, found ${st.count}`);
    if (st.mean >= spec.max - 1e-6 || st.mean <= spec.min + 1e-6) {
      throw new RewarddError('E_CALIBRATION', `range: at ${d} m ${o.field} reads ${st.mean.toFixed(4)} ${spec.unit}, its limit (${spec.min}..${spec.max}): out of the sensor's range, choose other --distances`);
    }
    points.push({ truth: d, raw: st.mean, std: st.std, n: st.count });
    env.log(`range: ${d.toFixed(3)} m -> raw ${st.mean.toFixed(4)} ${spec.unit} (std ${st.std.toFixed(4)}, ${st.count} samples)`);
  }
  const xs = points.map((p) => p.raw);
  const ys = points.map((p) => p.truth);
  const line = fitLine(xs, ys);
  env.log(`range: affine fit true = ${line.a.toFixed(5)} x raw + ${line.b.toFixed(5)} (max error ${line.maxError.toFixed(4)} m, rms ${line.rmsError.toFixed(4)} m)`);
  const channels: Record<string, ChannelCalibration> = { ...env.base.channels };
  const keep: ChannelCalibration = channels[o.field]?.deadband !== undefined ? { deadband: channels[o.field]!.deadband! } : {};
  const file: CalibrationFile = { ...env.base };
  delete file.range;
  let maxError: number;
  if (o.fit === 'affine') {
    if (o.distances.length === 2) env.log('range: two distances fit a line exactly; the residual says nothing about the fit');
    channels[o.field] = { ...keep, scale: round(line.a), offset: round(line.b) };
    maxError = line.maxError;
  } else {
    const table = buildTable(points, spec.min, spec.max);
    maxError = leaveOneOutError(table.inner);
    if (Object.keys(keep).length > 0) channels[o.field] = keep;
    else delete channels[o.field];
    file.range = { field: o.field, table: table.full };
    env.log(`range: table ${JSON.stringify(table.full)} (leave-one-out max error ${maxError.toFixed(4)} m)`);
  }
  if (Object.keys(channels).length > 0) file.channels = channels;
  else delete file.channels;
  return { procedure: 'range', file, residuals: { 'range.max_error_m': round(maxError, 3) }, limits: { ...RANGE_LIMITS } };
}

/**
 * The table through the measured (raw, true) points, sorted by raw, extended
 * linearly along the end segments to the field's physical limits so that
 * readings outside the measured span are extrapolated, not clamped to it.
 */
function buildTable(points: Point[], min: number, max: number): { inner: Array<[number, number]>; full: Array<[number, number]> } {
  const inner = points.map((p): [number, number] => [round(p.raw), round(p.truth)]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < inner.length; i++) {
    if (inner[i]![0] <= inner[i - 1]![0]) {
      throw new RewarddError('E_CALIBRATION', `range: expected raw readings to grow with distance, found ${inner[i - 1]![0]} at ${inner[i - 1]![1]} m and ${inner[i]![0]} at ${inner[i]![1]} m`);
    }
  }
  const full = inner.map((p): [number, number] => [p[0], p[1]]);
  const extend = (a: [number, number], b: [number, number], x: number): [number, number] => [x, round(a[1] + ((x - a[0]) * (b[1] - a[1])) / (b[0] - a[0]))];
  if (inner[0]![0] > min) full.unshift(extend(inner[0]!, inner[1]!, min));
  const n = inner.length;
  if (inner[n - 1]![0] < max) full.push(extend(inner[n - 2]!, inner[n - 1]!, max));
  return { inner, full };
}

/** How well each interior point is predicted by the table without it: the table's honest error. */
function leaveOneOutError(table: Array<[number, number]>): number {
  let worst = 0;
  for (let i = 1; i < table.length - 1; i++) {
    const without = table.filter((_, j) => j !== i);
    worst = Math.max(worst, Math.abs(interpolate(without, table[i]![0]) - table[i]![1]));
  }
  return worst;
}
