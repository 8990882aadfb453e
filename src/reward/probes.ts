import type { RobotDescription } from '../core/robot.js';

/**
 * Synthetic steps built from the robot description, for `reward check`.
 * Each probe is a short episode (so ctx.prev and ctx.state are exercised):
 *   zeros    every observation and action 0 (a robot before its first frame)
 *   limits   all fields at min, all at max, then each field alone at min and max
 *   typical  a deterministic pseudo-random walk inside the ranges (seeded, so
 *            two checks of the same file report the same term ranges)
 * The raw values of a probe (ctx.raw) equal its observation: the check knows no
 * calibration, and identity is the one every robot starts with.
 */
export interface Probe {
  name: 'zeros' | 'limits' | 'typical';
  obs: Float32Array;
  /** Raw observation rows (ctx.raw): the same array as obs. */
  raw: Float32Array;
  actions: Float32Array;
  /** Human-readable description of step i, for diagnostics. */
  describe(i: number): string;
}

export const PROBE_DT_S = 0.01;

export function buildProbes(robot: RobotDescription, typicalSteps: number): Probe[] {
  const O = robot.observations;
  const A = robot.actions;
  const nO = O.length;
  const nA = A.length;
  const mid = (f: { min: number; max: number }): number => (f.min + f.max) / 2;

  const zeros0 = new Float32Array(2 * nO);
  const zeros: Probe = { name: 'zeros', obs: zeros0, raw: zeros0, actions: new Float32Array(2 * nA), describe: () => 'every observation and action 0' };

  const limitRows: { obs: number[]; act: number[]; what: string }[] = [
    { obs: O.map((f) => f.min), act: A.map((f) => f.min), what: 'every field at its minimum' },
    { obs: O.map((f) => f.max), act: A.map((f) => f.max), what: 'every field at its maximum' },
  ];
  O.forEach((f, i) => {
    for (const [end, v] of [['min', f.min], ['max', f.max]] as const) {
      limitRows.push({ obs: O.map((g, j) => (j === i ? v : mid(g))), act: A.map(mid), what: `${f.name} = ${v} (its ${end}), others mid-range` });
    }
  });
  const limitObs = Float32Array.from(limitRows.flatMap((r) => r.obs));
  const limits: Probe = {
    name: 'limits',
    obs: limitObs,
    raw: limitObs,
    actions: Float32Array.from(limitRows.flatMap((r) => r.act)),
    describe: (i) => limitRows[i]?.what ?? '',
  };

  // A bounded random walk: smooth enough that ctx.prev differences look like a real drive.
  let seed = 0x2545f491;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const obs = new Float32Array(typicalSteps * nO);
  const actions = new Float32Array(typicalSteps * nA);
  const cur = O.map((f) => mid(f) + (rand() - 0.5) * 0.5 * (f.max - f.min));
  const curA = A.map(mid);
  for (let s = 0; s < typicalSteps; s++) {
    O.forEach((f, i) => {
      const span = f.max - f.min;
      const next = (cur[i] as number) + (rand() - 0.5) * 0.02 * span;
      cur[i] = Math.min(f.max, Math.max(f.min, next));
      obs[s * nO + i] = cur[i] as number;
    });
    A.forEach((f, i) => {
      curA[i] = Math.min(f.max, Math.max(f.min, (curA[i] as number) + (rand() - 0.5) * 0.2 * (f.max - f.min)));
      actions[s * nA + i] = curA[i] as number;
    });
  }
  const typical: Probe = { name: 'typical', obs, raw: obs, actions, describe: (i) => `step ${i} of a random walk inside the observation ranges` };
  return [zeros, limits, typical];
}

/** "beacon_x=1.2, beacon_y=-0.4, ..." for a diagnostic (at most `max` fields). */
export function formatStep(names: readonly string[], values: Float32Array, offset: number, max = 12): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length && parts.length < max; i++) parts.push(`${names[i]}=${Number((values[offset + i] as number).toPrecision(4))}`);
  return parts.join(', ') + (names.length > max ? ', ...' : '');
}
