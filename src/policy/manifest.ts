/**
 * The policy contract (`policy.json`): what a sim-trained model expects to
 * read and what it writes, in robot terms. A model file alone (Isaac Lab's
 * ONNX, a Keras export) carries none of this; a policy run against the wrong
 * observation order or units drives the robot confidently into a wall, so
 * every field is checked against the robot description before the first tick.
 */
import { describeValue, RewarddError } from '../core/errors.js';

export const POLICY_SCHEMA = 'rewardd.policy/1';
export const DEFAULT_POLICY_RATE_HZ = 20;

/** Input normalisation: (x - mean) / std, or min..max mapped onto -1..1. */
export type Normalisation = { readonly mean: number; readonly std: number } | { readonly min: number; readonly max: number };

export interface ObservationSpec {
  /** A field of the robot description's observations. */
  readonly name: string;
  /** Must equal the robot field's unit: a policy trained on degrees fed radians fails here, not on the floor. */
  readonly unit: string;
  /** Omitted = identity. */
  readonly normalise?: Normalisation;
  /** Applied after normalisation, [lo, hi]. Omitted = no clip. */
  readonly clip?: readonly [number, number];
}

export interface ActionSpec {
  /** A field of the robot description's actions; every robot action appears exactly once. */
  readonly name: string;
  readonly unit: string;
  /** robot value = model output × scale + offset, then clipped to [min, max]. */
  readonly scale: number;
  readonly offset: number;
  /** Policy-level limits; must lie within the robot's range (the safety filter enforces the robot's). */
  readonly min: number;
  readonly max: number;
}

export type ModelFormat = 'tfjs-layers' | 'tfjs-graph' | 'onnx';
export const MODEL_FORMATS: readonly ModelFormat[] = ['tfjs-layers', 'tfjs-graph', 'onnx'];

export interface ModelSpec {
  readonly format: ModelFormat;
  /** Relative to the policy folder: model.json for TF.js, a .onnx file for ONNX. */
  readonly path: string;
  /** Input tensor name (ONNX, TF.js graph); shape [1, observations.length], float32. Default "obs". */
  readonly input?: string;
  /** Output tensor name (ONNX, TF.js graph); shape [1, actions.length]. Default: the first output. */
  readonly output?: string;
}

/**
 * One recurrent state tensor: fed as `input`, read back from `output` after
 * each step, zeroed at episode start. (Supported for ONNX models.)
 */
export interface RecurrentStateSpec {
  readonly input: string;
  readonly output: string;
  readonly shape: readonly number[];
}

export interface TrainingProvenance {
  readonly simulator: string;
  readonly algorithm: string;
  readonly seed?: number;
  readonly code_revision?: string;
  readonly [key: string]: unknown;
}

export interface PolicyManifest {
  readonly schema: typeof POLICY_SCHEMA;
  readonly name: string;
  /** Robot description name this policy was trained for. */
  readonly robot: string;
  readonly description?: string;
  /** Inference rate, Hz; the action is held between inferences. Default 20. */
  readonly rate_hz: number;
  readonly observations: readonly ObservationSpec[];
  readonly actions: readonly ActionSpec[];
  /** One or more exports of the same weights; the runner picks the one its backend runs. */
  readonly models: readonly ModelSpec[];
  readonly state: readonly RecurrentStateSpec[];
  readonly training: TrainingProvenance;
}

const fail = (at: string, msg: string): never => {
  throw new RewarddError('E_POLICY', `${at}: ${msg}`);
};
const obj = (at: string, v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(at, `expected an object, found ${describeValue(v)}`);
const str = (at: string, v: unknown): string => (typeof v === 'string' && v.length > 0 ? v : fail(at, `expected a non-empty string, found ${describeValue(v)}`));
const num = (at: string, v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : fail(at, `expected a finite number, found ${describeValue(v)}`));
const arr = (at: string, v: unknown): unknown[] => (Array.isArray(v) ? v : fail(at, `expected an array, found ${describeValue(v)}`));

function parseNormalise(at: string, v: unknown): Normalisation {
  const o = obj(at, v);
  if ('mean' in o || 'std' in o) {
    const std = num(`${at}.std`, o.std);
    if (std <= 0) fail(`${at}.std`, `expected > 0, found ${std}`);
    return { mean: num(`${at}.mean`, o.mean), std };
  }
  if ('min' in o || 'max' in o) {
    const min = num(`${at}.min`, o.min);
    const max = num(`${at}.max`, o.max);
    if (!(max > min)) fail(at, `expected min < max, found min ${min}, max ${max}`);
    return { min, max };
  }
  return fail(at, 'expected {mean, std} or {min, max}');
}

function parseObservation(at: string, v: unknown): ObservationSpec {
  const o = obj(at, v);
  const spec: { -readonly [K in keyof ObservationSpec]: ObservationSpec[K] } = { name: str(`${at}.name`, o.name), unit: str(`${at}.unit`, o.unit) };
  if (o.normalise !== undefined) spec.normalise = parseNormalise(`${at}.normalise`, o.normalise);
  if (o.clip !== undefined) {
    const c = arr(`${at}.clip`, o.clip);
    if (c.length !== 2) fail(`${at}.clip`, `expected [lo, hi], found ${describeValue(c)}`);
    const lo = num(`${at}.clip[0]`, c[0]);
    const hi = num(`${at}.clip[1]`, c[1]);
    if (!(hi > lo)) fail(`${at}.clip`, `expected lo < hi, found [${lo}, ${hi}]`);
    spec.clip = [lo, hi];
  }
  return spec;
}

function parseAction(at: string, v: unknown): ActionSpec {
  const o = obj(at, v);
  const min = num(`${at}.min`, o.min);
  const max = num(`${at}.max`, o.max);
  if (!(max > min)) fail(at, `expected min < max, found min ${min}, max ${max}`);
  const scale = o.scale === undefined ? 1 : num(`${at}.scale`, o.scale);
  if (scale === 0) fail(`${at}.scale`, 'expected a non-zero number, found 0');
  return { name: str(`${at}.name`, o.name), unit: str(`${at}.unit`, o.unit), scale, offset: o.offset === undefined ? 0 : num(`${at}.offset`, o.offset), min, max };
}

function parseModel(at: string, v: unknown): ModelSpec {
  const o = obj(at, v);
  const format = o.format as ModelFormat;
  if (!MODEL_FORMATS.includes(format)) fail(`${at}.format`, `expected one of ${MODEL_FORMATS.join(' | ')}, found ${describeValue(o.format)}`);
  const path = str(`${at}.path`, o.path);
  if (path.startsWith('/') || path.split(/[\\/]/).includes('..')) fail(`${at}.path`, `expected a path inside the policy folder, found "${path}"`);
  return {
    format,
    path,
    ...(o.input !== undefined ? { input: str(`${at}.input`, o.input) } : {}),
    ...(o.output !== undefined ? { output: str(`${at}.output`, o.output) } : {}),
  };
}

function parseState(at: string, v: unknown): RecurrentStateSpec {
  const o = obj(at, v);
  const shape = arr(`${at}.shape`, o.shape).map((d, i) => {
    const n = num(`${at}.shape[${i}]`, d);
    return Number.isInteger(n) && n > 0 ? n : fail(`${at}.shape[${i}]`, `expected a positive integer, found ${n}`);
  });
  return { input: str(`${at}.input`, o.input), output: str(`${at}.output`, o.output), shape };
}

function uniqueNames(at: string, items: readonly { name: string }[]): void {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (seen.has(it.name)) fail(`${at}[${i}].name`, `duplicate "${it.name}"`);
    seen.add(it.name);
  });
}

/** Checks the shape of a parsed policy.json (not yet against a robot). */
export function parsePolicyManifest(json: unknown, where = 'policy.json'): PolicyManifest {
  const o = obj(where, json);
  if (o.schema !== POLICY_SCHEMA) fail(`${where}.schema`, `expected "${POLICY_SCHEMA}", found ${describeValue(o.schema)}`);
  const rate = o.rate_hz === undefined ? DEFAULT_POLICY_RATE_HZ : num(`${where}.rate_hz`, o.rate_hz);
  if (rate <= 0 || rate > 1000) fail(`${where}.rate_hz`, `expected 0 < rate_hz <= 1000, found ${rate}`);
  const observations = arr(`${where}.observations`, o.observations).map((v, i) => parseObservation(`${where}.observations[${i}]`, v));
  if (observations.length === 0) fail(`${where}.observations`, 'expected at least one observation, found none');
  const actions = arr(`${where}.actions`, o.actions).map((v, i) => parseAction(`${where}.actions[${i}]`, v));
  if (actions.length === 0) fail(`${where}.actions`, 'expected at least one action, found none');
  uniqueNames(`${where}.observations`, observations);
  uniqueNames(`${where}.actions`, actions);
  const models = arr(`${where}.models`, o.models).map((v, i) => parseModel(`${where}.models[${i}]`, v));
  if (models.length === 0) fail(`${where}.models`, 'expected at least one model file, found none');
  const state = o.state === undefined ? [] : arr(`${where}.state`, o.state).map((v, i) => parseState(`${where}.state[${i}]`, v));
  const t = obj(`${where}.training`, o.training);
  str(`${where}.training.simulator`, t.simulator);
  str(`${where}.training.algorithm`, t.algorithm);
  return {
    schema: POLICY_SCHEMA,
    name: str(`${where}.name`, o.name),
    robot: str(`${where}.robot`, o.robot),
    ...(typeof o.description === 'string' ? { description: o.description } : {}),
    rate_hz: rate,
    observations,
    actions,
    models,
    state,
    training: t as unknown as TrainingProvenance,
  };
}
