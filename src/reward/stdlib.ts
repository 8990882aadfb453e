/**
 * The reward standard library, as JavaScript source text that runs INSIDE the
 * sandbox (and, for benchmarks and tests, on the host through `hostStdlib`).
 * It is source text rather than imported functions because the sandbox is a
 * separate V8 isolate: functions cannot cross, only code.
 *
 * Everything here is pure and deterministic: no clock, no randomness, no I/O.
 * `tolerance` follows dm_control's rewards.tolerance exactly (same sigmoids,
 * same value_at_margin semantics, same argument checks).
 */
export const STDLIB_NAMES = [
  'tolerance', 'clamp', 'clamp01', 'lerp', 'inverseLerp', 'remap', 'smoothstep', 'hypot', 'norm', 'dot',
  'dist2d', 'wrapAngle', 'angleDiff', 'sq', 'sign', 'gaussian', 'logistic', 'softplus', 'tanh', 'deadzone',
  'mean', 'sum', 'minOf', 'maxOf', 'deg2rad', 'rad2deg', 'isFiniteNumber', 'SIGMOIDS',
] as const;

export const STDLIB_SOURCE = String.raw`
const SIGMOIDS = Object.freeze(['gaussian', 'hyperbolic', 'long_tail', 'reciprocal', 'cosine', 'linear', 'quadratic', 'tanh_squared']);
function fail(msg) { throw new TypeError(msg); }
function num(name, v) {
  if (typeof v !== 'number' || v !== v) fail(name + ': expected a number, found ' + (typeof v === 'number' ? 'NaN' : typeof v));
  return v;
}
function sigmoidAt(x, valueAt1, sigmoid) {
  if (sigmoid === 'cosine' || sigmoid === 'linear' || sigmoid === 'quadratic') {
    if (!(valueAt1 >= 0 && valueAt1 < 1)) fail('tolerance: value_at_margin must be in [0, 1) for ' + sigmoid + ', found ' + valueAt1);
  } else if (!(valueAt1 > 0 && valueAt1 < 1)) {
    fail('tolerance: value_at_margin must be in (0, 1) for ' + sigmoid + ', found ' + valueAt1);
  }
  let scale, s;
  switch (sigmoid) {
    case 'gaussian': scale = Math.sqrt(-2 * Math.log(valueAt1)); return Math.exp(-0.5 * (x * scale) * (x * scale));
    case 'hyperbolic': scale = Math.acosh(1 / valueAt1); return 1 / Math.cosh(x * scale);
    case 'long_tail': scale = Math.sqrt(1 / valueAt1 - 1); return 1 / ((x * scale) * (x * scale) + 1);
    case 'reciprocal': scale = 1 / valueAt1 - 1; return 1 / (Math.abs(x) * scale + 1);
    case 'cosine': scale = Math.acos(2 * valueAt1 - 1) / Math.PI; s = x * scale; return Math.abs(s) < 1 ? (1 + Math.cos(Math.PI * s)) / 2 : 0;
    case 'linear': scale = 1 - valueAt1; s = x * scale; return Math.abs(s) < 1 ? 1 - s : 0;
    case 'quadratic': scale = Math.sqrt(1 - valueAt1); s = x * scale; return Math.abs(s) < 1 ? 1 - s * s : 0;
    case 'tanh_squared': scale = Math.atanh(Math.sqrt(1 - valueAt1)); s = Math.tanh(x * scale); return 1 - s * s;
    default: return fail('tolerance: sigmoid must be one of ' + SIGMOIDS.join(', ') + ', found ' + String(sigmoid));
  }
}
function tolerance(x, opts) {
  num('tolerance(x)', x);
  const o = opts === undefined ? {} : opts;
  const bounds = o.bounds === undefined ? [0, 0] : o.bounds;
  const margin = o.margin === undefined ? 0 : num('tolerance: margin', o.margin);
  const sigmoid = o.sigmoid === undefined ? 'gaussian' : o.sigmoid;
  const vam = o.value_at_margin !== undefined ? o.value_at_margin : o.valueAtMargin !== undefined ? o.valueAtMargin : 0.1;
  if (!bounds || typeof bounds.length !== 'number' || bounds.length !== 2) fail('tolerance: bounds must be [lower, upper]');
  const lower = num('tolerance: bounds[0]', bounds[0]), upper = num('tolerance: bounds[1]', bounds[1]);
  if (lower > upper) fail('tolerance: lower bound must be <= upper bound, found [' + lower + ', ' + upper + ']');
  if (margin < 0) fail('tolerance: margin must be non-negative, found ' + margin);
  num('tolerance: value_at_margin', vam);
  const inBounds = lower <= x && x <= upper;
  if (margin === 0) return inBounds ? 1 : 0;
  if (inBounds) return 1;
  const d = (x < lower ? lower - x : x - upper) / margin;
  return sigmoidAt(d, vam, sigmoid);
}
function clamp(x, lo, hi) { return x < lo ? lo : x > hi ? hi : x; }
function clamp01(x) { return x < 0 ? 0 : x > 1 ? 1 : x; }
function lerp(a, b, t) { return a + (b - a) * t; }
function inverseLerp(a, b, x) { return a === b ? 0 : (x - a) / (b - a); }
function remap(x, inLo, inHi, outLo, outHi) { return lerp(outLo, outHi, clamp01(inverseLerp(inLo, inHi, x))); }
function smoothstep(edge0, edge1, x) { const t = clamp01(inverseLerp(edge0, edge1, x)); return t * t * (3 - 2 * t); }
function hypot(a, b, c) { return c === undefined ? Math.sqrt(a * a + b * b) : Math.sqrt(a * a + b * b + c * c); }
function norm(v) { let s = 0; for (let i = 0; i < v.length; i++) s += v[i] * v[i]; return Math.sqrt(s); }
function dot(a, b) {
  if (a.length !== b.length) fail('dot: vectors differ in length: ' + a.length + ' vs ' + b.length);
  let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s;
}
function dist2d(x0, y0, x1, y1) { const dx = x1 - x0, dy = y1 - y0; return Math.sqrt(dx * dx + dy * dy); }
function wrapAngle(a) { const t = (a + Math.PI) % (2 * Math.PI); return (t < 0 ? t + 2 * Math.PI : t) - Math.PI; }
function angleDiff(a, b) { return wrapAngle(a - b); }
function sq(x) { return x * x; }
function sign(x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
function gaussian(x, sigma) { const s = sigma === undefined ? 1 : sigma; return Math.exp(-0.5 * (x / s) * (x / s)); }
function logistic(x) { return 1 / (1 + Math.exp(-x)); }
function softplus(x) { return x > 30 ? x : Math.log1p(Math.exp(x)); }
function tanh(x) { return Math.tanh(x); }
function deadzone(x, width) { return Math.abs(x) <= width ? 0 : x - sign(x) * width; }
function sum(v) { let s = 0; for (let i = 0; i < v.length; i++) s += v[i]; return s; }
function mean(v) { return v.length === 0 ? 0 : sum(v) / v.length; }
function minOf(v) { let m = Infinity; for (let i = 0; i < v.length; i++) if (v[i] < m) m = v[i]; return m; }
function maxOf(v) { let m = -Infinity; for (let i = 0; i < v.length; i++) if (v[i] > m) m = v[i]; return m; }
function deg2rad(d) { return d * Math.PI / 180; }
function rad2deg(r) { return r * 180 / Math.PI; }
function isFiniteNumber(x) { return typeof x === 'number' && x - x === 0; }
`;

/** JS expression (after STDLIB_SOURCE) that builds the frozen `rw` object. */
export const STDLIB_OBJECT_EXPR = `Object.freeze({ ${STDLIB_NAMES.join(', ')} })`;

export type Stdlib = Record<(typeof STDLIB_NAMES)[number], unknown>;

/**
 * The same library evaluated on the host, for the direct-call baseline in the
 * benchmark and for unit tests of the math. Never used to run reward programs.
 */
export function hostStdlib(): Stdlib {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`${STDLIB_SOURCE}\nreturn ${STDLIB_OBJECT_EXPR};`)() as Stdlib;
}
