/**
 * The control thread's side of vision: once per tick, after the link's
 * samples are folded in, copy the encoder's newest fields into the
 * observation (a seqlock read of a few numbers: never a wait), with the
 * frame's age at this tick. Also publishes the sim's scene for the sim camera,
 * and tells the encoder when the active reward version brings other prompts.
 *
 * Before the first embedding: scores 0, vision_seq −1, vision_age_ms Infinity
 * (a reward program gates on ctx.vision.age_ms; a NaN would fail every step).
 */
import type { MessagePort } from 'node:worker_threads';
import { Mailbox } from '../core/mailbox.js';
import type { RobotDescription } from '../core/robot.js';
import { SCORE_KINDS, visionKind, type VisionKind } from './camera-spec.js';
import { sceneValues, SCENE_SIZE } from './sim-camera.js';
import type { PartialPrompts } from './manifest.js';
import type { PromptsMessage } from './worker-protocol.js';

export interface SceneLike {
  x: number;
  y: number;
  theta: number;
  opts: { arenaHalfSize: number };
  scenario: { beacon: { x: number; y: number }; obstacles: { x: number; y: number; r: number }[] };
}

/** Score kinds of a robot's vision fields, in observation order. */
export function scoreKinds(robot: RobotDescription): VisionKind[] {
  return robot.observations.map(visionKind).filter((k): k is VisionKind => k !== null && SCORE_KINDS.includes(k));
}

export class VisionTickFields {
  private readonly fields: Mailbox;
  private readonly buf: Float64Array;
  private readonly scoreAt: Int32Array;
  private readonly seqAt: number;
  private readonly ageAt: number;
  private readonly frameAt: number;
  private readonly scene: Mailbox | null;
  private readonly sceneBuf = new Float64Array(SCENE_SIZE);
  private lastVersion = '';
  private lastVision = '';

  constructor(
    robot: RobotDescription,
    fieldsSab: SharedArrayBuffer,
    private readonly promptsPort: MessagePort,
    sceneSab: SharedArrayBuffer | null,
    private readonly sim: SceneLike | null,
  ) {
    const kinds = robot.observations.map(visionKind);
    const at = (k: VisionKind): number => kinds.indexOf(k);
    this.scoreAt = Int32Array.from(scoreKinds(robot), (k) => at(k));
    this.seqAt = at('seq');
    this.ageAt = at('age_ms');
    this.frameAt = at('frame_seq');
    this.fields = new Mailbox(fieldsSab, 2 + this.scoreAt.length);
    this.buf = new Float64Array(2 + this.scoreAt.length);
    this.scene = sceneSab && sim ? new Mailbox(sceneSab, SCENE_SIZE) : null;
  }

  /** Writes the vision fields of this tick into the observation (values and raw alike). */
  fill(values: Float32Array, raw: Float32Array, nowNs: bigint): void {
    const b = this.buf;
    let age = Infinity;
    if (this.fields.read(b)) age = Number(nowNs - BigInt(Math.round(this.fields.lastTNs))) / 1e6;
    else b.fill(0).fill(-1, 0, 2);
    const put = (i: number, v: number): void => {
      if (i < 0) return;
      values[i] = v;
      raw[i] = values[i]!;
    };
    put(this.seqAt, b[0]!);
    put(this.frameAt, b[1]!);
    put(this.ageAt, age);
    for (let k = 0; k < this.scoreAt.length; k++) put(this.scoreAt[k]!, b[2 + k]!);
  }

  /** The sim camera's scene: the rover's true pose, the beacon and the obstacles. */
  publishScene(nowNs: bigint): void {
    const s = this.sim;
    if (!s || !this.scene) return;
    sceneValues({ x: s.x, y: s.y, theta: s.theta, beaconX: s.scenario.beacon.x, beaconY: s.scenario.beacon.y, arenaHalf: s.opts.arenaHalfSize, obstacles: s.scenario.obstacles }, this.sceneBuf);
    this.scene.write(this.sceneBuf, nowNs);
  }

  /** Called with the active reward version: a version with other meta.vision prompts is sent to the encoder. */
  rewardActive(info: { version: string; vision?: PartialPrompts }): void {
    if (info.version === this.lastVersion) return;
    this.lastVersion = info.version;
    const v = JSON.stringify(info.vision ?? null);
    if (v === this.lastVision) return;
    this.lastVision = v;
    const m: PromptsMessage = { type: 'prompts', rewardVersion: info.version, vision: info.vision ?? null };
    this.promptsPort.postMessage(m);
  }
}
