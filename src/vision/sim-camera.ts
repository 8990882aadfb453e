/**
 * The rover simulator's camera: a first-person RGB view rendered in software
 * from the rover model's state (a column raycaster: the arena's walls and the
 * round obstacles as lit columns, a floor and a ceiling, the beacon as a red
 * post drawn with a depth test). The beacon's image grows as 1/distance, so a
 * closer beacon is visibly bigger. ~0.2 ms for 96×72 here.
 *
 * The control thread publishes the scene (pose, beacon, obstacles) through a
 * seqlock Mailbox (sceneMailbox); the encoder worker renders it when it wants
 * a frame, so the tick never renders.
 */
import { Mailbox } from '../core/mailbox.js';

/** Obstacles carried in the scene, at most (the sim places 3). */
export const SCENE_MAX_OBSTACLES = 8;
export const SCENE_SIZE = 6 + 3 * SCENE_MAX_OBSTACLES;

export interface Scene {
  x: number;
  y: number;
  theta: number;
  beaconX: number;
  beaconY: number;
  arenaHalf: number;
  obstacles: { x: number; y: number; r: number }[];
}

export function sceneValues(s: Scene, out: Float64Array): Float64Array {
  out.fill(NaN);
  out.set([s.x, s.y, s.theta, s.beaconX, s.beaconY, s.arenaHalf]);
  s.obstacles.slice(0, SCENE_MAX_OBSTACLES).forEach((o, k) => out.set([o.x, o.y, o.r], 6 + 3 * k));
  return out;
}

export function sceneFrom(v: ArrayLike<number>): Scene {
  const obstacles: Scene['obstacles'] = [];
  for (let k = 0; k < SCENE_MAX_OBSTACLES; k++) {
    const r = v[6 + 3 * k + 2]!;
    if (r > 0) obstacles.push({ x: v[6 + 3 * k]!, y: v[6 + 3 * k + 1]!, r });
  }
  return { x: v[0]!, y: v[1]!, theta: v[2]!, beaconX: v[3]!, beaconY: v[4]!, arenaHalf: v[5]!, obstacles };
}

export const createSceneMailbox = (): Mailbox => Mailbox.create(SCENE_SIZE);

const FOV = (70 * Math.PI) / 180;
/** Beacon post: radius and height, m; camera height, m. */
const BEACON_R = 0.08;
const BEACON_H = 0.35;
const EYE = 0.1;
const WALL_H = 0.5;

/** Renders the scene into rgb (width × height × 3). */
export function renderScene(s: Scene, width: number, height: number, rgb: Uint8Array = new Uint8Array(width * height * 3)): Uint8Array {
  const depth = new Float64Array(width);
  const focal = width / 2 / Math.tan(FOV / 2);
  const horizon = height / 2;
  for (let col = 0; col < width; col++) {
    const rel = Math.atan((width / 2 - (col + 0.5)) / focal); // + = left
    const a = s.theta + rel;
    const dx = Math.cos(a);
    const dy = Math.sin(a);
    // Nearest hit: the arena's square walls, then each obstacle circle.
    let d = Infinity;
    let shade = 0.6;
    const h = s.arenaHalf;
    if (dx > 1e-9) d = Math.min(d, (h - s.x) / dx);
    if (dx < -1e-9) d = Math.min(d, (-h - s.x) / dx);
    const dWallX = d;
    if (dy > 1e-9) d = Math.min(d, (h - s.y) / dy);
    if (dy < -1e-9) d = Math.min(d, (-h - s.y) / dy);
    shade = d === dWallX ? 0.75 : 0.55;
    let obstacle = false;
    for (const o of s.obstacles) {
      const ox = o.x - s.x;
      const oy = o.y - s.y;
      const b = ox * dx + oy * dy;
      const c = ox * ox + oy * oy - o.r * o.r;
      const disc = b * b - c;
      if (disc < 0) continue;
      const t = b - Math.sqrt(disc);
      if (t > 0 && t < d) {
        d = t;
        obstacle = true;
      }
    }
    const perp = Math.max(1e-3, d * Math.cos(rel));
    depth[col] = perp;
    const top = horizon - ((WALL_H - EYE) * focal) / perp;
    const bottom = horizon + (EYE * focal) / perp;
    const fog = Math.max(0.25, 1 - perp / 8);
    for (let y = 0; y < height; y++) {
      const p = (y * width + col) * 3;
      let r: number;
      let g: number;
      let bl: number;
      if (y < top) [r, g, bl] = [150, 170, 190]; // ceiling
      else if (y > bottom) [r, g, bl] = [90, 80, 70]; // floor
      else if (obstacle) [r, g, bl] = [60 * fog, 110 * fog, 60 * fog];
      else [r, g, bl] = [200 * shade * fog, 200 * shade * fog, 205 * shade * fog];
      rgb[p] = r;
      rgb[p + 1] = g;
      rgb[p + 2] = bl;
    }
  }
  // The beacon: a red post, drawn where it is nearer than the wall or obstacle in that column.
  const bx = s.beaconX - s.x;
  const by = s.beaconY - s.y;
  const fwd = bx * Math.cos(s.theta) + by * Math.sin(s.theta);
  const left = -bx * Math.sin(s.theta) + by * Math.cos(s.theta);
  if (fwd > 0.05) {
    const cx = width / 2 - (left / fwd) * focal;
    const half = Math.max(0.5, (BEACON_R * focal) / fwd);
    const top = horizon - ((BEACON_H - EYE) * focal) / fwd;
    const bottom = horizon + (EYE * focal) / fwd;
    for (let col = Math.max(0, Math.floor(cx - half)); col < Math.min(width, Math.ceil(cx + half)); col++) {
      if (fwd >= depth[col]!) continue;
      for (let y = Math.max(0, Math.floor(top)); y < Math.min(height, Math.ceil(bottom)); y++) {
        const p = (y * width + col) * 3;
        rgb[p] = 230;
        rgb[p + 1] = 30;
        rgb[p + 2] = 30;
      }
    }
  }
  return rgb;
}
