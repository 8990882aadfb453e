import type { RoverModel } from '../../link/sim/rover-model.js';
import type { CalibrationFile } from '../calibration.js';
import type { CalibrationSession } from './session.js';

export const PROCEDURES = ['imu-rest', 'range', 'odometry'] as const;
export type ProcedureName = (typeof PROCEDURES)[number];

/** Asks the person at the robot; answers are trimmed lines. Absent in non-interactive runs. */
export interface Prompter {
  ask(question: string): Promise<string>;
}

export interface ProcedureEnv {
  session: CalibrationSession;
  /** The calibration this run starts from (the existing --out file, or identity): sections this procedure does not measure are kept. */
  base: CalibrationFile;
  /** Progress and measurements, one line each. */
  log(line: string): void;
  /** null = non-interactive (--yes): the procedure must get its ground truth without a person. */
  prompter: Prompter | null;
  /** The simulated rover behind a sim link: the procedure places it and reads ground truth from it. */
  sim: RoverModel | null;
}

export interface ProcedureOutcome {
  procedure: ProcedureName;
  /** `base` with this procedure's sections replaced; not yet validated or written. */
  file: CalibrationFile;
  /** Named residuals, unit in the name (e.g. "range.max_error_m"); also stored in the file. */
  residuals: Record<string, number>;
  /** Default refusal threshold per residual name (overridable with --max-residual). */
  limits: Record<string, number>;
}
