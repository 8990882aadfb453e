import { copyFileSync, constants, existsSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RewarddError } from '../../core/errors.js';
import type { RobotDescription } from '../../core/robot.js';
import { parseCalibration, type CalibrationFile } from '../calibration.js';

/**
 * Thresholds a run is held to: the procedure's defaults, overridden by
 * --max-residual. A bare number applies to every residual of the procedure
 * (each in its own unit); `name=value` pairs override single residuals and
 * may drop the procedure prefix ("max_error_m=0.01").
 */
export function resolveLimits(defaults: Record<string, number>, override: number | Record<string, number> | undefined): Record<string, number> {
  if (override === undefined) return { ...defaults };
  if (typeof override === 'number') return Object.fromEntries(Object.keys(defaults).map((k) => [k, override]));
  const out = { ...defaults };
  for (const [k, v] of Object.entries(override)) {
    const full = k in defaults ? k : Object.keys(defaults).find((d) => d.endsWith(`.${k}`));
    if (full === undefined) throw new RewarddError('E_CONFIG', `--max-residual: expected one of ${Object.keys(defaults).join(', ')}, found "${k}"`);
    out[full] = v;
  }
  return out;
}

/** The residuals over their limits, as "name value > limit" lines (empty = accept). */
export function residualViolations(residuals: Record<string, number>, limits: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [k, limit] of Object.entries(limits)) {
    const v = residuals[k];
    if (v === undefined || !Number.isFinite(v) || v > limit) out.push(`${k} ${v ?? 'missing'} > ${limit}`);
  }
  return out;
}

/** `rover.json` -> `rover.json.20261127T150102Z.bak`, numbered if two runs land in one second. */
export function backupName(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = join(dirname(path), `${basename(path)}.${stamp}`);
  let name = `${base}.bak`;
  for (let i = 1; existsSync(name); i++) name = `${base}-${i}.bak`;
  return name;
}

/**
 * Validates the file against the robot, keeps any existing file as a
 * timestamped .bak, and writes atomically (tmp + rename: a crash leaves the
 * old file or the new one, never half of one). Returns the backup's path.
 */
export function writeCalibration(path: string, file: CalibrationFile, robot: RobotDescription, now: Date): { backup: string | null } {
  const checked = parseCalibration(JSON.parse(JSON.stringify(file)) as unknown, robot, `${path} (about to be written)`);
  let backup: string | null = null;
  if (existsSync(path)) {
    backup = backupName(path, now);
    copyFileSync(path, backup, constants.COPYFILE_EXCL);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  renameSync(tmp, path);
  return { backup };
}
