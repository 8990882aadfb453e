import { readFileSync } from 'node:fs';
import { RewarddError, describeValue } from '../core/errors.js';

/**
 * How a StandardFirmata board's parts become a robot's observations and
 * actions: johnny-five components by class and constructor options, then one
 * entry per observation (which component property, times scale, plus offset)
 * and per action (which Motor or Servo). File schema "rewardd.johnny-five/1";
 * example: firmware-bridge/johnny-five/rover.johnny-five.json.
 */
export interface J5Component {
  /** A johnny-five class: Sensor, Proximity, Accelerometer, Gyro, IMU, Motor, Servo, ... */
  readonly class: string;
  /** Passed to the constructor (board is added). */
  readonly options: Readonly<Record<string, unknown>>;
}

export type J5Observation =
  | { readonly name: string; readonly from: string; readonly read: string; readonly scale: number; readonly offset: number; readonly unit: string }
  /** A field the board cannot measure, sent as a constant so the robot contract holds. Say so in the robot's README. */
  | { readonly name: string; readonly constant: number; readonly unit: string };

export interface J5Action {
  readonly name: string;
  readonly to: string;
  /** Servo only: degrees at 0 and degrees per unit of command. Defaults 90 and 90. */
  readonly center: number;
  readonly range: number;
}

export interface J5Mapping {
  readonly schema: 'rewardd.johnny-five/1';
  /** SAMPLE rate the link synthesises, Hz. Default 50. */
  readonly sampleHz: number;
  /** Host-side command watchdog, ms (StandardFirmata has none of its own). Default 150. */
  readonly watchdogMs: number;
  readonly components: Readonly<Record<string, J5Component>>;
  readonly observations: readonly J5Observation[];
  readonly actions: readonly J5Action[];
}

const bad = (where: string, expected: string, found: unknown): never => {
  throw new RewarddError('E_CONFIG', `johnny-five mapping ${where}: expected ${expected}, found ${describeValue(found)}`);
};
const obj = (v: unknown, where: string): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(where, 'an object', v);
const str = (v: unknown, where: string): string => (typeof v === 'string' && v !== '' ? v : bad(where, 'a non-empty string', v));
const num = (v: unknown, where: string, dflt?: number): number =>
  v === undefined && dflt !== undefined ? dflt : typeof v === 'number' && Number.isFinite(v) ? v : bad(where, 'a finite number', v);

export function parseJ5Mapping(json: unknown, where = 'mapping'): J5Mapping {
  const o = obj(json, where);
  if (o.schema !== 'rewardd.johnny-five/1') bad(`${where}.schema`, '"rewardd.johnny-five/1"', o.schema);
  const components: Record<string, J5Component> = {};
  for (const [id, c] of Object.entries(obj(o.components, `${where}.components`))) {
    const co = obj(c, `${where}.components.${id}`);
    components[id] = { class: str(co.class, `${where}.components.${id}.class`), options: obj(co.options ?? {}, `${where}.components.${id}.options`) };
  }
  const comp = (id: unknown, at: string): string => {
    const s = str(id, at);
    return components[s] ? s : bad(at, `one of the components (${Object.keys(components).join(', ')})`, s);
  };
  if (!Array.isArray(o.observations) || o.observations.length === 0) bad(`${where}.observations`, 'a non-empty array', o.observations);
  const observations = (o.observations as unknown[]).map((e, i): J5Observation => {
    const at = `${where}.observations[${i}]`;
    const eo = obj(e, at);
    const name = str(eo.name, `${at}.name`);
    const unit = typeof eo.unit === 'string' ? eo.unit : '';
    if (eo.constant !== undefined) return { name, constant: num(eo.constant, `${at}.constant`), unit };
    return { name, from: comp(eo.from, `${at}.from`), read: str(eo.read ?? 'value', `${at}.read`), scale: num(eo.scale, `${at}.scale`, 1), offset: num(eo.offset, `${at}.offset`, 0), unit };
  });
  const actions = (Array.isArray(o.actions) ? o.actions : bad(`${where}.actions`, 'an array', o.actions)).map((e: unknown, i: number): J5Action => {
    const at = `${where}.actions[${i}]`;
    const eo = obj(e, at);
    return { name: str(eo.name, `${at}.name`), to: comp(eo.to, `${at}.to`), center: num(eo.center, `${at}.center`, 90), range: num(eo.range, `${at}.range`, 90) };
  });
  const sampleHz = num(o.sampleHz, `${where}.sampleHz`, 50);
  const watchdogMs = num(o.watchdogMs, `${where}.watchdogMs`, 150);
  if (sampleHz <= 0 || sampleHz > 1000) bad(`${where}.sampleHz`, '1..1000', sampleHz);
  if (watchdogMs <= 0) bad(`${where}.watchdogMs`, 'a positive number', watchdogMs);
  return { schema: 'rewardd.johnny-five/1', sampleHz, watchdogMs, components, observations, actions };
}

export function loadJ5Mapping(path: string): J5Mapping {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RewarddError('E_FILE', `johnny-five mapping ${path}: ${(e as Error).message}`);
  }
  try {
    return parseJ5Mapping(JSON.parse(text) as unknown, path);
  } catch (e) {
    if (e instanceof SyntaxError) throw new RewarddError('E_CONFIG', `${path}: expected JSON, ${e.message}`);
    throw e;
  }
}
