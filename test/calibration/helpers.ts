import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRobot } from '../../src/core/robot.js';
import { SimLink } from '../../src/link/sim-link.js';
import { PERFECT_SENSORS, type SensorErrors } from '../../src/link/sim/rover-model.js';
import { calibrate, virtualPacer, type CalibrateOptions, type ProcedureName } from '../../src/calibration/index.js';

export const robot = loadRobot(join(process.cwd(), 'robots', 'rover.json')).robot;

export function simLink(errors: Partial<SensorErrors> = {}, seed = 7): SimLink {
  return new SimLink({ rover: { seed, errors: { ...PERFECT_SENSORS, ...errors } } });
}

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rewardd-cal-'));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A non-interactive sim run on a virtual clock, log kept for assertions. */
export async function runSim(procedure: ProcedureName, link: SimLink, out: string, extra: Partial<CalibrateOptions> = {}) {
  const lines: string[] = [];
  const result = await calibrate({ procedure, link, robot, out, pacer: virtualPacer(), sim: link.model, log: (l) => lines.push(l), ...extra });
  return { result, lines };
}
