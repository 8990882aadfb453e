import { SeededRandom, episodeSeed } from './random.js';

/**
 * A 2-D differential-drive rover in a walled arena with round obstacles.
 * Pure physics and sensing, no I/O, no protocol: the sim link wraps it in
 * firmware frames, and the trainer steps it directly.
 *
 * Frames: world x/y in metres, heading theta in rad (0 = +x). Robot frame:
 * x forward, y left. Wheel commands in [-1, 1] map to a target wheel speed
 * that the motor reaches with a first-order lag.
 */
export interface SensorErrors {
  /** Added to each accelerometer axis, m/s^2. */
  accelBias: [number, number, number];
  /** Multiplies each accelerometer axis (1 = perfect). */
  accelScale: [number, number, number];
  /** Added to each gyro axis, rad/s. */
  gyroBias: [number, number, number];
  /** Range sensor reads `gain × true + offset`, m. */
  rangeGain: number;
  rangeOffset: number;
  /** True wheel radius as a fraction of the nominal one (odometry error). */
  wheelRadiusScale: number;
  /** True track width as a fraction of the nominal one (odometry error in turns). */
  trackWidthScale: number;
}

export interface RoverOptions {
  seed: number;
  /** Noise standard deviations (set all to 0 for a noiseless sim). */
  noise: { accel: number; gyro: number; wheel: number; range: number; beacon: number; battery: number };
  errors: SensorErrors;
  arenaHalfSize: number;
  wheelRadius: number;
  trackWidth: number;
  maxWheelSpeed: number;
  /** Motor time constant, s. */
  motorTau: number;
  rangeMax: number;
  obstacleCount: number;
}

export const PERFECT_SENSORS: SensorErrors = {
  accelBias: [0, 0, 0],
  accelScale: [1, 1, 1],
  gyroBias: [0, 0, 0],
  rangeGain: 1,
  rangeOffset: 0,
  wheelRadiusScale: 1,
  trackWidthScale: 1,
};

export const DEFAULT_ROVER: RoverOptions = {
  seed: 1,
  noise: { accel: 0.05, gyro: 0.005, wheel: 0.05, range: 0.005, beacon: 0.01, battery: 0.005 },
  errors: PERFECT_SENSORS,
  arenaHalfSize: 3,
  wheelRadius: 0.035,
  trackWidth: 0.16,
  maxWheelSpeed: 20,
  motorTau: 0.05,
  rangeMax: 4,
  obstacleCount: 3,
};

export interface Obstacle {
  x: number;
  y: number;
  r: number;
}

export interface RoverScenario {
  episodeIndex: number;
  seed: number;
  beacon: { x: number; y: number };
  start: { x: number; y: number; theta: number };
  obstacles: Obstacle[];
}

/** Sensor reading order; matches robots/rover.json observations. */
export const ROVER_SENSOR_NAMES = [
  'accel_x', 'accel_y', 'accel_z', 'gyro_x', 'gyro_y', 'gyro_z',
  'wheel_speed_left', 'wheel_speed_right', 'range_front', 'battery_voltage', 'beacon_x', 'beacon_y',
] as const;
export const ROVER_SENSOR_COUNT = ROVER_SENSOR_NAMES.length;

const G = 9.81;

export class RoverModel {
  readonly opts: RoverOptions;
  x = 0;
  y = 0;
  theta = 0;
  wl = 0;
  wr = 0;
  v = 0;
  omega = 0;
  private accelFwd = 0;
  battery = 12.4;
  collided = false;
  scenario: RoverScenario;
  private rng: SeededRandom;

  constructor(opts: Partial<RoverOptions> = {}) {
    this.opts = { ...DEFAULT_ROVER, ...opts, noise: { ...DEFAULT_ROVER.noise, ...opts.noise }, errors: { ...PERFECT_SENSORS, ...opts.errors } };
    this.rng = new SeededRandom(this.opts.seed);
    this.scenario = this.reset(0);
  }

  /** Places the robot, beacon and obstacles for an episode, reproducibly from (seed, index). */
  reset(episodeIndex: number): RoverScenario {
    const seed = episodeSeed(this.opts.seed, episodeIndex);
    const r = new SeededRandom(seed);
    this.rng = new SeededRandom(seed ^ 0x5bd1e995);
    const h = this.opts.arenaHalfSize;
    const theta = r.uniform(-Math.PI, Math.PI);
    const dist = r.uniform(1.0, 2.2);
    const bearing = r.uniform(-Math.PI, Math.PI);
    const beacon = { x: dist * Math.cos(bearing), y: dist * Math.sin(bearing) };
    const obstacles: Obstacle[] = [];
    for (let tries = 0; obstacles.length < this.opts.obstacleCount && tries < 100; tries++) {
      const o = { x: r.uniform(-h + 0.4, h - 0.4), y: r.uniform(-h + 0.4, h - 0.4), r: r.uniform(0.15, 0.3) };
      // Keep obstacles off the start, the beacon and the straight path between them.
      if (Math.hypot(o.x, o.y) < o.r + 0.5) continue;
      if (Math.hypot(o.x - beacon.x, o.y - beacon.y) < o.r + 0.5) continue;
      if (distanceToSegment(o.x, o.y, 0, 0, beacon.x, beacon.y) < o.r + 0.3) continue;
      obstacles.push(o);
    }
    this.x = 0;
    this.y = 0;
    this.theta = theta;
    this.wl = this.wr = this.v = this.omega = this.accelFwd = 0;
    this.collided = false;
    this.scenario = { episodeIndex, seed: this.opts.seed, beacon, start: { x: 0, y: 0, theta }, obstacles };
    return this.scenario;
  }

  /** Advances the physics by dt seconds under wheel commands in [-1, 1] (clamped, NaN = 0). */
  step(dt: number, left: number, right: number): void {
    const o = this.opts;
    const cl = Number.isFinite(left) ? Math.max(-1, Math.min(1, left)) : 0;
    const cr = Number.isFinite(right) ? Math.max(-1, Math.min(1, right)) : 0;
    const a = 1 - Math.exp(-dt / o.motorTau);
    this.wl += (cl * o.maxWheelSpeed - this.wl) * a;
    this.wr += (cr * o.maxWheelSpeed - this.wr) * a;
    const radius = o.wheelRadius * o.errors.wheelRadiusScale;
    const v = (radius * (this.wl + this.wr)) / 2;
    const omega = (radius * (this.wr - this.wl)) / (o.trackWidth * o.errors.trackWidthScale);
    this.accelFwd = dt > 0 ? (v - this.v) / dt : 0;
    this.v = v;
    this.omega = omega;
    this.theta = wrap(this.theta + omega * dt);
    const nx = this.x + v * Math.cos(this.theta) * dt;
    const ny = this.y + v * Math.sin(this.theta) * dt;
    if (this.blocked(nx, ny)) {
      this.collided = true;
      this.v = 0;
    } else {
      this.x = nx;
      this.y = ny;
    }
    // Battery sags with load and drains slowly: ~0.1 V per minute at full drive.
    const load = (Math.abs(cl) + Math.abs(cr)) / 2;
    this.battery -= load * dt * (0.1 / 60) + dt * (0.005 / 60);
  }

  /**
   * A calibration bench: the rover at rest at (x, y, theta) in an arena with
   * no obstacles, so a drive or a range reading meets only the walls. The
   * beacon stays where it was; rewards are meaningless until the next reset().
   */
  placeForCalibration(x: number, y: number, theta: number): void {
    const h = this.opts.arenaHalfSize - 0.1;
    if (!(Math.abs(x) <= h && Math.abs(y) <= h && Number.isFinite(theta))) {
      throw new RangeError(`placeForCalibration: expected a pose inside the arena (|x|, |y| <= ${h} m), found (${x}, ${y}, ${theta})`);
    }
    this.scenario = { ...this.scenario, obstacles: [] };
    this.x = x;
    this.y = y;
    this.theta = wrap(theta);
    this.wl = this.wr = this.v = this.omega = this.accelFwd = 0;
    this.collided = false;
  }

  /** Places the rover facing the +x wall with its range sensor `distance` m from it (the range procedure's fixture). */
  placeFacingWall(distance: number): void {
    const h = this.opts.arenaHalfSize;
    if (!(distance >= 0.1 && distance <= 2 * h - 0.2)) {
      throw new RangeError(`placeFacingWall: expected a distance in [0.1, ${2 * h - 0.2}] m, found ${distance}`);
    }
    this.placeForCalibration(h - distance, 0, 0);
  }

  beaconDistance(): number {
    return Math.hypot(this.scenario.beacon.x - this.x, this.scenario.beacon.y - this.y);
  }

  /** True range to the nearest wall or obstacle straight ahead, capped at rangeMax. */
  trueRange(): number {
    const o = this.opts;
    const c = Math.cos(this.theta);
    const s = Math.sin(this.theta);
    let best = o.rangeMax;
    const h = o.arenaHalfSize;
    if (c > 1e-9) best = Math.min(best, (h - this.x) / c);
    if (c < -1e-9) best = Math.min(best, (-h - this.x) / c);
    if (s > 1e-9) best = Math.min(best, (h - this.y) / s);
    if (s < -1e-9) best = Math.min(best, (-h - this.y) / s);
    for (const ob of this.scenario.obstacles) {
      const dx = ob.x - this.x;
      const dy = ob.y - this.y;
      const along = dx * c + dy * s;
      if (along <= 0) continue;
      const perp2 = dx * dx + dy * dy - along * along;
      if (perp2 > ob.r * ob.r) continue;
      best = Math.min(best, along - Math.sqrt(ob.r * ob.r - perp2));
    }
    return Math.max(0, best);
  }

  /** Writes the sensor readings, in ROVER_SENSOR_NAMES order, with noise and injected errors. */
  sense(out: Float64Array): void {
    const n = this.opts.noise;
    const e = this.opts.errors;
    const g = () => this.rng.gaussian();
    const trueAccel = [this.accelFwd, this.v * this.omega, G];
    for (let i = 0; i < 3; i++) out[i] = trueAccel[i]! * e.accelScale[i]! + e.accelBias[i]! + n.accel * g();
    out[3] = e.gyroBias[0] + n.gyro * g();
    out[4] = e.gyroBias[1] + n.gyro * g();
    out[5] = this.omega + e.gyroBias[2] + n.gyro * g();
    // Encoders measure wheel rotation; a wrong radius shows up only in odometry.
    out[6] = this.wl + n.wheel * g();
    out[7] = this.wr + n.wheel * g();
    out[8] = Math.max(0, Math.min(this.opts.rangeMax, this.trueRange() * e.rangeGain + e.rangeOffset + n.range * g()));
    out[9] = this.battery + n.battery * g();
    const dx = this.scenario.beacon.x - this.x;
    const dy = this.scenario.beacon.y - this.y;
    const c = Math.cos(this.theta);
    const s = Math.sin(this.theta);
    out[10] = dx * c + dy * s + n.beacon * g();
    out[11] = -dx * s + dy * c + n.beacon * g();
  }

  private blocked(x: number, y: number): boolean {
    const body = 0.1;
    const h = this.opts.arenaHalfSize - body;
    if (x < -h || x > h || y < -h || y > h) return true;
    return this.scenario.obstacles.some((ob) => Math.hypot(ob.x - x, ob.y - y) < ob.r + body);
  }
}

function wrap(a: number): number {
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy)));
  return Math.hypot(px - ax - t * vx, py - ay - t * vy);
}
