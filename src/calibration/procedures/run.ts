import { existsSync } from 'node:fs';
import { RewarddError } from '../../core/errors.js';
import type { RobotDescription } from '../../core/robot.js';
import type { Link } from '../../link/link.js';
import type { RoverModel } from '../../link/sim/rover-model.js';
import { identityCalibration, loadCalibration, type CalibrationFile } from '../calibration.js';
import { imuRest, type ImuRestOptions } from './imu-rest.js';
import { odometryProcedure, type OdometryOptions } from './odometry.js';
import { resolveLimits, residualViolations, writeCalibration } from './output.js';
import type { Pacer } from './pacer.js';
import { rangeProcedure, type RangeOptions } from './range.js';
import { CalibrationSession } from './session.js';
import type { ProcedureEnv, ProcedureName, ProcedureOutcome, Prompter } from './types.js';

export interface CalibrateOptions {
  procedure: ProcedureName;
  link: Link;
  robot: RobotDescription;
  /** Calibration file to write; an existing one is the base (its other sections are kept) and is backed up. */
  out: string;
  pacer: Pacer;
  /** Link poll and capture rate, Hz. Default 100. */
  rateHz?: number;
  log?: (line: string) => void;
  /** null = non-interactive (--yes). */
  prompter?: Prompter | null;
  /** Asked before an existing --out is replaced (the old one is kept either way); absent = replace without asking. */
  confirm?: (question: string) => Promise<boolean>;
  /** The sim link's rover model, when the link is the sim. */
  sim?: RoverModel | null;
  maxResidual?: number | Record<string, number>;
  imuRest?: Partial<ImuRestOptions>;
  range?: Partial<RangeOptions>;
  odometry?: Partial<OdometryOptions>;
  /** Wall time for `created` and the backup name. */
  now?: () => Date;
}

export interface CalibrateResult {
  outcome: ProcedureOutcome;
  limits: Record<string, number>;
  /** The file as written. */
  file: CalibrationFile;
  /** Where the previous file was kept, or null when there was none. */
  backup: string | null;
}

export const CALIBRATE_RATE_HZ = 100;

/**
 * One calibration run: open the link, run the procedure on raw values, print
 * what it measured, refuse if a residual is over its limit, else merge into
 * the --out file (keeping the old one as .bak) and say where everything went.
 */
export async function calibrate(o: CalibrateOptions): Promise<CalibrateResult> {
  const log = o.log ?? (() => {});
  const prompter = o.prompter ?? null;
  const base = existsSync(o.out) ? loadExisting(o.out, o.robot) : identityCalibration(o.robot).file;
  const session = await CalibrationSession.open(o.link, o.robot, o.pacer, o.rateHz ?? CALIBRATE_RATE_HZ);
  let outcome: ProcedureOutcome;
  try {
    const env: ProcedureEnv = { session, base: { ...base }, log, prompter, sim: o.sim ?? null };
    if (o.procedure === 'imu-rest') outcome = await imuRest(env, o.imuRest);
    else if (o.procedure === 'range') outcome = await rangeProcedure(env, o.range);
    else outcome = await odometryProcedure(env, o.odometry);
  } finally {
    await session.close();
  }
  const limits = resolveLimits(outcome.limits, o.maxResidual);
  for (const [k, v] of Object.entries(outcome.residuals)) log(`residual ${k} = ${v} (limit ${limits[k]})`);
  const over = residualViolations(outcome.residuals, limits);
  if (over.length > 0) {
    throw new RewarddError('E_CALIBRATION', `${o.procedure}: residuals over their limits, ${o.out} not written: ${over.join('; ')} (re-run, or raise --max-residual if the sensor really is this poor)`);
  }
  const now = (o.now ?? (() => new Date()))();
  const file: CalibrationFile = {
    ...outcome.file,
    note: `${o.procedure} measured on the ${o.link.kind} link at ${now.toISOString()}${base.created ? `; other sections as of ${base.created}` : ''}`,
    created: now.toISOString(),
    residuals: { ...(base.residuals ?? {}), ...outcome.residuals },
  };
  if (o.confirm && existsSync(o.out) && !(await o.confirm(`Replace ${o.out}? The old file is kept as a .bak beside it. [y/N]`))) {
    throw new RewarddError('E_CALIBRATION', `${o.out} not written: replacing it was not confirmed`);
  }
  const { backup } = writeCalibration(o.out, file, o.robot, now);
  if (backup) log(`kept the previous ${o.out} as ${backup}`);
  log(`wrote ${o.out}`);
  return { outcome, limits, file, backup };
}

function loadExisting(path: string, robot: RobotDescription): CalibrationFile {
  try {
    return loadCalibration(path, robot).file;
  } catch (e) {
    throw new RewarddError('E_CALIBRATION', `${(e as Error).message.replace(/^E_\w+: /, '')} (the existing --out file must be valid to merge into; fix it or choose another --out)`);
  }
}
