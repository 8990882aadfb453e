/**
 * The robot description's `camera` section and the vision observation fields.
 *
 *   "camera": { "name": "front", "source": "sim", "width": 96, "height": 72, "hz": 10 }
 *
 * source: "sim" (the rover simulator's first-person render), "mqtt" (JPEG/PNG frames
 * published on <prefix>/<robot>/camera/<name>), or "ffmpeg:<input>" (a child ffmpeg process:
 * "ffmpeg:v4l2:/dev/video0", "ffmpeg:lavfi:testsrc=size=96x72:rate=10", "ffmpeg:rtsp://cam/1",
 * "ffmpeg:/path/to/video.mp4"). `--camera` overrides source.
 *
 * Observation fields with `"source": "vision.<kind>"` are filled by the encoder, not the MCU:
 *   vision.goal_baseline   VLM-RM reward of the newest frame with the active prompts
 *   vision.goal_cosine     cosine similarity of the newest frame to the goal (LIV-style)
 *   vision.seq             which embedding the step used (its record sequence number; must be named vision_seq)
 *   vision.age_ms          how old that frame was at the tick, ms (must be named vision_age_ms; Infinity before the first)
 *   vision.frame_seq       the camera frame's own sequence number
 */
import { describeValue, RewarddError } from '../core/errors.js';
import type { FieldSpec } from '../core/robot.js';

export interface CameraSpec {
  readonly name: string;
  readonly source: string;
  readonly width: number;
  readonly height: number;
  /** Encoder rate, Hz: frames are encoded at most this often (the newest one each time). */
  readonly hz: number;
}

export const VISION_KINDS = ['goal_baseline', 'goal_cosine', 'seq', 'age_ms', 'frame_seq'] as const;
export type VisionKind = (typeof VISION_KINDS)[number];
/** Kinds computed from an embedding and the prompts (the rest are bookkeeping). */
export const SCORE_KINDS: readonly VisionKind[] = ['goal_baseline', 'goal_cosine'];
const FIXED_NAMES: Partial<Record<VisionKind, string>> = { seq: 'vision_seq', age_ms: 'vision_age_ms' };

export type CameraSource = { kind: 'sim' } | { kind: 'mqtt' } | { kind: 'ffmpeg'; args: string[] };

const fail = (at: string, msg: string): never => {
  throw new RewarddError('E_ROBOT', `${at}: ${msg}`);
};

export function parseCameraSource(at: string, s: unknown): CameraSource {
  if (s === 'sim') return { kind: 'sim' };
  if (s === 'mqtt') return { kind: 'mqtt' };
  if (typeof s === 'string' && s.startsWith('ffmpeg:') && s.length > 7) {
    const rest = s.slice(7);
    const m = /^(v4l2|lavfi):(.+)$/.exec(rest);
    return { kind: 'ffmpeg', args: m ? ['-f', m[1]!, '-i', m[2]!] : ['-i', rest] };
  }
  return fail(at, `expected "sim", "mqtt" or "ffmpeg:<input>" (e.g. ffmpeg:v4l2:/dev/video0), found ${describeValue(s)}`);
}

export function parseCamera(where: string, v: unknown): CameraSpec {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return fail(where, `expected an object, found ${describeValue(v)}`);
  const o = v as Record<string, unknown>;
  const int = (k: string, lo: number, hi: number): number => {
    const n = o[k];
    return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi ? n : fail(`${where}.${k}`, `expected an integer in [${lo}, ${hi}], found ${describeValue(n)}`);
  };
  if (typeof o.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(o.name)) fail(`${where}.name`, `expected a name usable in an MQTT topic ([A-Za-z0-9_-]+), found ${describeValue(o.name)}`);
  parseCameraSource(`${where}.source`, o.source);
  const hz = o.hz;
  if (typeof hz !== 'number' || !(hz > 0 && hz <= 60)) fail(`${where}.hz`, `expected a rate in (0, 60] Hz, found ${describeValue(hz)}`);
  return { name: o.name as string, source: o.source as string, width: int('width', 8, 4096), height: int('height', 8, 4096), hz: hz as number };
}

/** The vision kind a field's `source` names ("vision.<kind>", not checked against VISION_KINDS), or null for any other source. */
export function visionKindOf(source: unknown): VisionKind | null {
  return typeof source === 'string' && source.startsWith('vision.') ? (source.slice('vision.'.length) as VisionKind) : null;
}

/** The vision kind of an observation field, or null for a field the MCU sends. */
export function visionKind(f: FieldSpec): VisionKind | null {
  return visionKindOf(f.source);
}

/** Checks field sources; a description with vision fields needs a camera and vision_seq / vision_age_ms. */
export function checkVisionFields(where: string, fields: readonly FieldSpec[], camera: CameraSpec | undefined): void {
  const kinds = new Set<VisionKind>();
  fields.forEach((f, i) => {
    if (f.source === undefined) return;
    const k = visionKindOf(f.source);
    if (!k || !VISION_KINDS.includes(k)) fail(`${where}[${i}].source`, `expected one of ${VISION_KINDS.map((x) => `vision.${x}`).join(', ')} (or no source: the MCU's), found ${describeValue(f.source)}`);
    if (kinds.has(k!)) fail(`${where}[${i}].source`, `"${f.source}" is declared twice`);
    const fixed = FIXED_NAMES[k!];
    if (fixed && f.name !== fixed) fail(`${where}[${i}].name`, `expected "${fixed}" for source ${f.source} (reward programs read it as ctx.vision), found "${f.name}"`);
    kinds.add(k!);
  });
  if (kinds.size === 0) return;
  if (!camera) fail(where, 'vision fields need a "camera" section in the robot description, found none');
  for (const k of ['seq', 'age_ms'] as const) if (!kinds.has(k)) fail(where, `expected a field "${FIXED_NAMES[k]}" with source vision.${k} beside the vision fields (steps log which embedding they used and its age), found none`);
}
