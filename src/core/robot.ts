import { readFileSync } from 'node:fs';
import { RewarddError, describeValue } from './errors.js';
import { canonicalJson, sha256Hex, shortHash } from './hash.js';
import { checkVisionFields, parseCamera, type CameraSpec } from '../vision/camera-spec.js';

/**
 * A robot description (robots/<name>.json): the named observation fields and
 * actuator channels every other stage is checked against. Observation fields
 * are scalars named in snake_case (vectors are expanded: accel_x, accel_y, ...)
 * so that reward programs read `obs.range_front`, not `obs[8]`.
 */
export interface FieldSpec {
  readonly name: string;
  readonly unit: string;
  /** Physical range: used for probes, normalisation checks and safety limits. */
  readonly min: number;
  readonly max: number;
  /** Where the value comes from when not the MCU: "vision.<kind>" (docs/vision.md). */
  readonly source?: string;
}

export interface RobotDescription {
  readonly schema: 'rewardd.robot/1';
  readonly name: string;
  readonly description?: string;
  readonly observations: readonly FieldSpec[];
  readonly actions: readonly FieldSpec[];
  readonly geometry?: Readonly<Record<string, number>>;
  /** A camera whose frames the vision encoder scores (docs/vision.md). */
  readonly camera?: CameraSpec;
}

export interface LoadedRobot {
  readonly robot: RobotDescription;
  /** Short content hash of the canonical JSON. */
  readonly hash: string;
  readonly sha256: string;
  readonly path: string;
}

const NAME_RE = /^[a-z][a-z0-9_]*$/;

function checkFields(where: string, v: unknown): FieldSpec[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new RewarddError('E_ROBOT', `${where}: expected a non-empty array of fields, found ${describeValue(v)}`);
  }
  const seen = new Set<string>();
  return v.map((f: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!f || typeof f !== 'object') throw new RewarddError('E_ROBOT', `${at}: expected an object, found ${describeValue(f)}`);
    const o = f as Record<string, unknown>;
    if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) {
      throw new RewarddError('E_ROBOT', `${at}.name: expected a snake_case identifier, found ${describeValue(o.name)}`);
    }
    if (seen.has(o.name)) throw new RewarddError('E_ROBOT', `${at}.name: duplicate field "${o.name}"`);
    seen.add(o.name);
    if (typeof o.unit !== 'string') throw new RewarddError('E_ROBOT', `${at}.unit: expected a unit string, found ${describeValue(o.unit)}`);
    for (const k of ['min', 'max'] as const) {
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) {
        throw new RewarddError('E_ROBOT', `${at}.${k}: expected a finite number, found ${describeValue(o[k])}`);
      }
    }
    if ((o.min as number) > (o.max as number)) throw new RewarddError('E_ROBOT', `${at}: min ${String(o.min)} > max ${String(o.max)}`);
    if (o.source !== undefined && typeof o.source !== 'string') throw new RewarddError('E_ROBOT', `${at}.source: expected a string such as "vision.goal_baseline", found ${describeValue(o.source)}`);
    return { name: o.name, unit: o.unit, min: o.min as number, max: o.max as number, ...(typeof o.source === 'string' ? { source: o.source } : {}) };
  });
}

export function parseRobot(json: unknown, where = 'robot'): RobotDescription {
  if (!json || typeof json !== 'object') throw new RewarddError('E_ROBOT', `${where}: expected an object, found ${describeValue(json)}`);
  const o = json as Record<string, unknown>;
  if (o.schema !== 'rewardd.robot/1') {
    throw new RewarddError('E_ROBOT', `${where}.schema: expected "rewardd.robot/1", found ${describeValue(o.schema)}`);
  }
  if (typeof o.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(o.name)) {
    throw new RewarddError('E_ROBOT', `${where}.name: expected a name usable in an MQTT topic ([A-Za-z0-9_-]+), found ${describeValue(o.name)}`);
  }
  const robot: RobotDescription = {
    schema: 'rewardd.robot/1',
    name: o.name,
    observations: checkFields(`${where}.observations`, o.observations),
    actions: checkFields(`${where}.actions`, o.actions),
    ...(typeof o.description === 'string' ? { description: o.description } : {}),
    ...(o.geometry && typeof o.geometry === 'object' ? { geometry: o.geometry as Record<string, number> } : {}),
    ...(o.camera !== undefined ? { camera: parseCamera(`${where}.camera`, o.camera) } : {}),
  };
  checkVisionFields(`${where}.observations`, robot.observations, robot.camera);
  return robot;
}

export function loadRobot(path: string): LoadedRobot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RewarddError('E_FILE', `robot description ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RewarddError('E_ROBOT', `${path}: expected JSON, ${(e as Error).message}`);
  }
  const robot = parseRobot(json, path);
  const canon = canonicalJson(robot);
  return { robot, hash: shortHash(canon), sha256: sha256Hex(canon), path };
}

export const observationNames = (r: RobotDescription): string[] => r.observations.map((f) => f.name);
/** Observations the MCU sends (everything but the vision encoder's fields). */
export const mcuObservations = (r: RobotDescription): FieldSpec[] => r.observations.filter((f) => f.source === undefined);
export const actionNames = (r: RobotDescription): string[] => r.actions.map((f) => f.name);
