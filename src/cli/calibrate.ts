/**
 * `rewardd calibrate <imu-rest|range|odometry>`: measures a calibration on a
 * live link and merges it into --out. Parses flags and wires the link, the
 * pacer and the prompts; the procedures live in src/calibration/procedures.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { RewarddError, isRewarddError } from '../core/errors.js';
import { loadRobot } from '../core/robot.js';
import { packageRoot } from '../core/version.js';
import type { Link } from '../link/link.js';
import { SimLink } from '../link/sim-link.js';
import { PERFECT_SENSORS, type SensorErrors } from '../link/sim/rover-model.js';
import {
  CALIBRATE_RATE_HZ, IMU_REST_DEFAULTS, ODOMETRY_DEFAULTS, PROCEDURES, RANGE_DEFAULTS, calibrate, realTimePacer, virtualPacer,
  type CalibrateOptions, type ProcedureName, type Prompter,
} from '../calibration/procedures/index.js';
import { exitCodeOf, parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd calibrate <imu-rest|range|odometry> --out FILE [options]',
  '',
  '  imu-rest   robot still on a level floor: gyro bias, accel bias (gravity on +z), noise; refuses if it moved',
  '  range      range sensor against known distances to a wall: affine or piecewise-linear table',
  '  odometry   drives forward, back and spins both ways: wheel radius and track width',
  '',
  'Each prints what it measured and its residuals, refuses to write when a residual is over its limit,',
  'and merges into --out (other sections kept); an existing --out is kept as <out>.<UTC time>.bak.',
  'On a real robot it prompts (place the robot, enter measured distances); --yes runs without prompts.',
  '',
  '  --out FILE             calibration file to write (merged into when it exists)            (required)',
  '  --link SPEC            sim | serial:<path>[@baud] | johnny-five:<path>                    (default: sim)',
  '  --robot FILE           robot description                                                 (default: robots/rover.json)',
  `  --rate HZ              poll and capture rate                                             (default: ${CALIBRATE_RATE_HZ})`,
  `  --seconds N            imu-rest: capture length; range: capture per distance, s         (default: ${IMU_REST_DEFAULTS.seconds} / ${RANGE_DEFAULTS.secondsPerDistance})`,
  `  --distances LIST       range: true distances in m, comma-separated                      (default: ${RANGE_DEFAULTS.distances.join(',')})`,
  `  --field NAME           range: the range observation                                      (default: ${RANGE_DEFAULTS.field})`,
  `  --fit affine|table     range: channel scale/offset, or a piecewise-linear range.table    (default: ${RANGE_DEFAULTS.fit})`,
  `  --command C            odometry: wheel command magnitude in (0, 1]                       (default: ${ODOMETRY_DEFAULTS.command})`,
  `  --drive-seconds S      odometry: drive time per segment, s                               (default: ${ODOMETRY_DEFAULTS.driveSeconds})`,
  `  --gravity G            imu-rest: local gravity, m/s^2                                    (default: ${IMU_REST_DEFAULTS.gravity})`,
  '  --max-residual V       N (every residual, each in its unit) or name=V,name=V             (default: per procedure, see docs/calibration.md)',
  '                         imu-rest: gyro_drift_rad_s=0.01, accel_drift_m_s2=0.15; range: max_error_m=0.02;',
  '                         odometry: distance_error_m=0.02, turn_error_rad=0.05',
  '  --yes                  no prompts (the sim places itself; a real robot needs prompts)    (default: false)',
  '  --sim-errors JSON      sim: injected sensor errors, e.g. \'{"gyroBias":[0.01,0,0.02],"rangeGain":1.1}\'',
  '                         keys: accelBias accelScale gyroBias rangeGain rangeOffset wheelRadiusScale trackWidthScale',
  '                                                                                           (default: {} = perfect sensors)',
  '  --sim-seed N           sim: noise seed                                                   (default: 1)',
  '  --realtime             sim: pace on the real clock instead of running as fast as it can (default: false)',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'out', type: 'string' },
  { flag: 'link', type: 'string' },
  { flag: 'robot', type: 'string' },
  { flag: 'rate', type: 'string' },
  { flag: 'seconds', type: 'string' },
  { flag: 'distances', type: 'string' },
  { flag: 'field', type: 'string' },
  { flag: 'fit', type: 'string' },
  { flag: 'command', type: 'string' },
  { flag: 'drive-seconds', type: 'string' },
  { flag: 'gravity', type: 'string' },
  { flag: 'max-residual', type: 'string' },
  { flag: 'yes', type: 'boolean' },
  { flag: 'sim-errors', type: 'string' },
  { flag: 'sim-seed', type: 'string' },
  { flag: 'realtime', type: 'boolean' },
];

function num(values: Record<string, string | boolean>, flag: string, min: number, max: number): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new RewarddError('E_CONFIG', `--${flag}: expected a number in [${min}, ${max}], found "${String(v)}"`);
  }
  return n;
}

function parseMaxResidual(v: string): number | Record<string, number> {
  if (/^[\d.eE+-]+$/.test(v) && Number.isFinite(Number(v)) && Number(v) > 0) return Number(v);
  const out: Record<string, number> = {};
  for (const part of v.split(',')) {
    const m = /^([a-z_.]+)=(.+)$/.exec(part.trim());
    const n = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isFinite(n) || n <= 0) throw new RewarddError('E_CONFIG', `--max-residual: expected a positive number or name=value pairs, found "${part}"`);
    out[m[1]!] = n;
  }
  return out;
}

const ERROR_KEYS: Record<keyof SensorErrors, 'triple' | 'number'> = {
  accelBias: 'triple', accelScale: 'triple', gyroBias: 'triple', rangeGain: 'number', rangeOffset: 'number', wheelRadiusScale: 'number', trackWidthScale: 'number',
};

export function parseSimErrors(text: string): SensorErrors {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RewarddError('E_CONFIG', `--sim-errors: expected JSON, ${(e as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new RewarddError('E_CONFIG', '--sim-errors: expected a JSON object');
  const out: SensorErrors = { ...PERFECT_SENSORS };
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    const kind = ERROR_KEYS[k as keyof SensorErrors];
    if (kind === undefined) throw new RewarddError('E_CONFIG', `--sim-errors.${k}: expected one of ${Object.keys(ERROR_KEYS).join(', ')}`);
    const ok = kind === 'number' ? typeof v === 'number' && Number.isFinite(v) : Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!ok) throw new RewarddError('E_CONFIG', `--sim-errors.${k}: expected ${kind === 'number' ? 'a finite number' : 'an array of 3 finite numbers'}, found ${JSON.stringify(v)}`);
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Bound on answers typed or piped ahead of their questions. */
const MAX_PENDING_ANSWERS = 64;

/**
 * Prompts on the terminal, or takes answers piped into stdin in order (lines
 * that arrive before their question are queued, up to a bound). stdin closing
 * with a question open is an error, not a hang.
 */
function stdinPrompter(): Prompter & { close(): void } {
  const rl = createInterface({ input: process.stdin, terminal: process.stdin.isTTY === true });
  const answers: string[] = [];
  let waiting: { resolve: (a: string) => void; reject: (e: Error) => void } | null = null;
  let closed = false;
  const eof = () => new RewarddError('E_CALIBRATION', 'stdin closed while waiting for an answer (use --yes for a run without prompts)');
  rl.on('line', (line) => {
    if (waiting) {
      const w = waiting;
      waiting = null;
      w.resolve(line);
    } else if (answers.length < MAX_PENDING_ANSWERS) answers.push(line);
  });
  rl.once('close', () => {
    closed = true;
    waiting?.reject(eof());
    waiting = null;
  });
  return {
    ask(q) {
      process.stdout.write(`${q} `);
      const queued = answers.shift();
      if (queued !== undefined) {
        process.stdout.write('\n');
        return Promise.resolve(queued);
      }
      if (closed) return Promise.reject(eof());
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
    close: () => rl.close(),
  };
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (!isRewarddError(e)) throw e;
    process.stderr.write(`rewardd calibrate: ${e.message}\n`);
    return exitCodeOf(e);
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help === true) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const procedure = positionals[0] as ProcedureName | undefined;
  if (procedure === undefined || !PROCEDURES.includes(procedure) || positionals.length > 1) {
    throw new RewarddError('E_CONFIG', `expected one procedure of ${PROCEDURES.join(', ')}, found ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see --help)`);
  }
  if (typeof values.out !== 'string' || values.out === '') throw new RewarddError('E_CONFIG', '--out: expected the calibration file to write, found nothing');
  const linkSpec = typeof values.link === 'string' ? values.link : 'sim';
  let robotPath = typeof values.robot === 'string' ? values.robot : 'robots/rover.json';
  if (values.robot === undefined && !existsSync(robotPath)) robotPath = join(packageRoot(), robotPath);
  if (!isAbsolute(robotPath) && !existsSync(robotPath)) throw new RewarddError('E_CONFIG', `--robot: expected an existing file, found "${robotPath}"`);
  const robot = loadRobot(robotPath).robot;
  const seconds = num(values, 'seconds', 0.1, 600);
  const fit = values.fit;
  if (fit !== undefined && fit !== 'affine' && fit !== 'table') throw new RewarddError('E_CONFIG', `--fit: expected affine or table, found "${String(fit)}"`);
  let distances: number[] | undefined;
  if (typeof values.distances === 'string') {
    distances = values.distances.split(',').map((s) => Number(s.trim()));
    if (!distances.every((d) => Number.isFinite(d) && d > 0)) throw new RewarddError('E_CONFIG', `--distances: expected positive metres like 0.3,0.6,1.0, found "${values.distances}"`);
  }
  const isSim = linkSpec === 'sim';
  if (!isSim && (values['sim-errors'] !== undefined || values['sim-seed'] !== undefined)) throw new RewarddError('E_CONFIG', '--sim-errors/--sim-seed: only with --link sim');
  const yes = values.yes === true;
  const realtime = values.realtime === true || !isSim;
  let link: Link;
  let sim: SimLink | null = null;
  if (isSim) {
    const errors = typeof values['sim-errors'] === 'string' ? parseSimErrors(values['sim-errors']) : PERFECT_SENSORS;
    // The sim's watchdog reads the real clock; faster than real time it would trip between commands.
    sim = new SimLink({ rover: { seed: num(values, 'sim-seed', 0, 2 ** 31) ?? 1, errors }, ...(realtime ? {} : { watchdogMs: 3_600_000 }) });
    link = sim;
  } else {
    const { createLink } = await import('../link/create-link.js');
    link = await createLink(linkSpec, { seed: 1 });
  }
  const prompter = yes ? null : stdinPrompter();
  const opts: CalibrateOptions = {
    procedure,
    link,
    robot,
    out: values.out,
    pacer: realtime ? realTimePacer : virtualPacer(),
    rateHz: num(values, 'rate', 1, 2000) ?? CALIBRATE_RATE_HZ,
    log: (line) => process.stdout.write(`${line}\n`),
    // The sim needs no one to place it or measure it; asking would only be in the way.
    prompter: isSim ? null : prompter,
    ...(prompter ? { confirm: async (q: string) => /^y(es)?$/i.test((await prompter.ask(q)).trim()) } : {}),
    sim: sim?.model ?? null,
    ...(typeof values['max-residual'] === 'string' ? { maxResidual: parseMaxResidual(values['max-residual']) } : {}),
    imuRest: { ...(seconds !== undefined ? { seconds } : {}), ...(values.gravity !== undefined ? { gravity: num(values, 'gravity', 9, 10.5)! } : {}) },
    range: {
      ...(seconds !== undefined ? { secondsPerDistance: seconds } : {}),
      ...(distances ? { distances } : {}),
      ...(typeof values.field === 'string' ? { field: values.field } : {}),
      ...(fit !== undefined ? { fit } : {}),
    },
    odometry: {
      ...(values.command !== undefined ? { command: num(values, 'command', 0.05, 1)! } : {}),
      ...(values['drive-seconds'] !== undefined ? { driveSeconds: num(values, 'drive-seconds', 0.1, 30)! } : {}),
    },
  };
  try {
    await calibrate(opts);
  } finally {
    prompter?.close();
  }
  return 0;
}
