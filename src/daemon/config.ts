import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { packageRoot } from '../core/version.js';
import { parseResetMode } from './episode-gate.js';

/**
 * Every option of `rewardd run`, its default, and the one normaliser that
 * rejects bad values before anything starts. The help text is generated from
 * this table, so code, --help and docs cannot disagree about a default.
 */
export interface RunConfig {
  robot: string;
  link: string;
  reward: string;
  policy: string;
  calibration: string;
  policyBackend: 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'onnx';
  mqtt: string;
  brokerHost: string;
  brokerPort: number;
  prefix: string;
  hz: number;
  tickSpinUs: number | 'auto';
  stepLimit: number;
  episodes: number;
  duration: number;
  reset: string;
  minEpisodeSteps: number;
  batchSteps: number;
  batchMaxAgeMs: number;
  rewardBudgetMs: number;
  rewardMemoryMb: number;
  rewardHostMemoryMb: number;
  rollbackAfter: number;
  swap: 'now' | 'next-episode';
  dryRunSteps: number;
  auth: 'signed' | 'open';
  arm: 'auto' | 'start' | 'command';
  rewardFileAuth: 'trusted' | 'signed';
  watchReward: boolean;
  stateDir: string;
  seed: number;
  status: boolean;
  vision: boolean;
  visionModel: string;
  camera: string;
  visionThreads: number;
  visionLogFrames: number;
  visionFrameSize: number;
  visionLogMax: number;
  brokerWsPort: number;
  liveHost: string;
  dashboardPort: number;
  foxglovePort: number;
}

interface OptionSpec {
  key: keyof RunConfig;
  flag: string;
  /** 'auto-number': the word "auto" or a number. 'port': a port number, or "off" (kept as -1). */
  type: 'string' | 'number' | 'auto-number' | 'port' | 'boolean';
  default: string | number | boolean;
  help: string;
}

export const RUN_OPTIONS: readonly OptionSpec[] = [
  { key: 'robot', flag: 'robot', type: 'string', default: 'robots/rover.json', help: 'robot description (observation and action names, units, limits)' },
  { key: 'link', flag: 'link', type: 'string', default: 'sim', help: 'sim | serial:/dev/ttyACM0[@baud] | johnny-five:/dev/ttyACM0' },
  { key: 'reward', flag: 'reward', type: 'string', default: 'rewards/reach-beacon.reward.js', help: 'reward program file (.js or .ts)' },
  { key: 'policy', flag: 'policy', type: 'string', default: 'policies/rover-reach', help: 'policy folder with policy.json and its model' },
  { key: 'policyBackend', flag: 'policy-backend', type: 'string', default: 'auto', help: 'auto (TF.js: tensorflow if @tensorflow/tfjs-node is installed, else wasm, else cpu; ONNX if the policy has no TF.js model) | tensorflow | wasm | cpu | onnx' },
  { key: 'calibration', flag: 'calibration', type: 'string', default: 'calibration/rover.json', help: 'calibration file ("identity" for none)' },
  { key: 'mqtt', flag: 'mqtt', type: 'string', default: 'embedded', help: 'broker URL (mqtt://, mqtts://), or "embedded" to start one in-process' },
  { key: 'brokerHost', flag: 'broker-host', type: 'string', default: '127.0.0.1', help: 'embedded broker: address to listen on' },
  { key: 'brokerPort', flag: 'broker-port', type: 'number', default: 1884, help: 'embedded broker: port (0 = any free port; the port is printed)' },
  { key: 'prefix', flag: 'prefix', type: 'string', default: 'rewardd/v1', help: 'MQTT topic prefix; topics are <prefix>/<robot>/...' },
  { key: 'hz', flag: 'hz', type: 'number', default: 100, help: 'control tick rate, Hz (1..2000)' },
  { key: 'tickSpinUs', flag: 'tick-spin', type: 'auto-number', default: 'auto', help: 'µs before each deadline at which the tick thread stops sleeping and busy-waits; >= the period never sleeps (one core at 100%, tightest timing); auto = the whole period at 500 Hz and above on a computer with 2+ cores, else 300' },
  { key: 'stepLimit', flag: 'step-limit', type: 'number', default: 1500, help: 'steps per episode before it is truncated' },
  { key: 'episodes', flag: 'episodes', type: 'number', default: 0, help: 'stop after this many episodes (0 = run until Ctrl-C)' },
  { key: 'reset', flag: 'reset', type: 'string', default: 'auto', help: 'what happens between episodes (the reset phase; actuators held at their stop values, steps not logged): immediate = the next episode starts at the next tick (the sim resets its own world); operator = wait for "next" (`rewardd episode next`, or the episode/next topic); until-clear[:K] = wait until the reward\'s success() and done() are both false for K evaluated ticks (default 50); pause:MS = wait MS ms; auto = immediate for the sim, operator for serial and johnny-five links' },
  { key: 'minEpisodeSteps', flag: 'min-episode-steps', type: 'number', default: 10, help: 'a success() or done() before this many steps does not end the episode (a debounce against a world that did not reset; warned once); step limit, e-stop, lost link and shutdown still do' },
  { key: 'duration', flag: 'duration', type: 'number', default: 0, help: 'stop cleanly after this many seconds (0 = no limit)' },
  { key: 'batchSteps', flag: 'batch-steps', type: 'number', default: 50, help: 'steps per published batch (most)' },
  { key: 'batchMaxAgeMs', flag: 'batch-max-age', type: 'number', default: 250, help: 'publish a partial batch once its first step is this old, ms' },
  { key: 'rewardBudgetMs', flag: 'reward-budget', type: 'number', default: 2, help: 'per-step time budget of the reward program, ms' },
  { key: 'rewardMemoryMb', flag: 'reward-memory', type: 'number', default: 32, help: 'memory limit of the reward sandbox, MB' },
  { key: 'rewardHostMemoryMb', flag: 'reward-host-memory', type: 'number', default: 256, help: 'hard memory cap of each reward host process (resident, MB): past it the host is killed, the step is out_of_memory and the previous version takes over; the daemon is never at risk' },
  { key: 'rollbackAfter', flag: 'rollback-after', type: 'number', default: 20, help: 'consecutive failed reward steps before the previous version is restored' },
  { key: 'swap', flag: 'swap', type: 'string', default: 'now', help: 'when a new reward version takes over: now (next step) | next-episode' },
  { key: 'dryRunSteps', flag: 'dry-run-steps', type: 'number', default: 1000, help: 'a new reward version must evaluate this many recent logged steps without failure before it is activated (0 = compile check only)' },
  { key: 'auth', flag: 'auth', type: 'string', default: 'signed', help: 'who may push rewards (reward/set) and reset the e-stop over MQTT: signed = only signatures by keys in <state-dir>/allowed_keys (rewardd keys new); open = anyone the broker lets in (a lab bench only)' },
  { key: 'arm', flag: 'arm', type: 'string', default: 'auto', help: 'when the robot may move: command = only after an arm command (`rewardd arm`, or the arm topic; signed unless --auth open); start = arm as soon as the link is up (a bench); auto = start for the sim, command for serial and johnny-five links. A rebooted MCU or an e-stop always disarms until the next arm' },
  { key: 'rewardFileAuth', flag: 'reward-file-auth', type: 'string', default: 'trusted', help: 'the reward file on disk: trusted = whoever can write it is trusted; signed = it needs a valid <file>.sig by an allowed key' },
  { key: 'watchReward', flag: 'watch-reward', type: 'boolean', default: true, help: 'reload the reward file when it changes on disk (--no-watch-reward to disable)' },
  { key: 'stateDir', flag: 'state-dir', type: 'string', default: '.rewardd', help: 'outbox, e-stop latch and other state kept across restarts' },
  { key: 'seed', flag: 'seed', type: 'number', default: 1, help: 'sim link: random seed of scenarios and sensor noise' },
  { key: 'status', flag: 'status', type: 'boolean', default: true, help: 'print the one-line status every second (--no-status to disable)' },
  { key: 'vision', flag: 'vision', type: 'boolean', default: false, help: 'the vision example: robots/rover-vision.json (a camera and VLM fields) and rewards/reach-beacon-vision.reward.js unless --robot / --reward say otherwise (docs/vision.md). Vision runs whenever the robot description has a camera' },
  { key: 'visionModel', flag: 'vision-model', type: 'string', default: 'models/clip-tiny', help: 'vision model folder with vision.json (the default is CLIP-shaped with RANDOM weights: no semantics; rewardd vision fetch gets real ones)' },
  { key: 'camera', flag: 'camera', type: 'string', default: '', help: 'camera source instead of the robot description\'s: sim | mqtt | ffmpeg:v4l2:/dev/video0 | ffmpeg:lavfi:testsrc | ffmpeg:<url or file>' },
  { key: 'visionThreads', flag: 'vision-threads', type: 'number', default: 1, help: 'onnxruntime threads of the image encoder' },
  { key: 'visionLogFrames', flag: 'vision-log-frames', type: 'number', default: 10, help: 'log a downscaled JPEG of every Nth embedding with the episode (0 = none)' },
  { key: 'visionFrameSize', flag: 'vision-frame-size', type: 'number', default: 160, help: 'longer side of logged JPEG frames, px' },
  { key: 'visionLogMax', flag: 'vision-log-max', type: 'number', default: 20000, help: 'embeddings logged per episode, at most (the rest are counted in the end record)' },
  { key: 'brokerWsPort', flag: 'broker-ws-port', type: 'port', default: 9001, help: 'embedded broker: MQTT over WebSockets port, for the dashboard (0 = any free port, off = none); a port in use is logged, not fatal' },
  { key: 'liveHost', flag: 'live-host', type: 'string', default: '127.0.0.1', help: 'address the dashboard and the Foxglove bridge listen on (0.0.0.0: every interface)' },
  { key: 'dashboardPort', flag: 'dashboard-port', type: 'port', default: 8080, help: 'serve the reward dashboard on http://<live-host>:<port>/ (0 = any free port, off = none); a port in use is logged, not fatal' },
  { key: 'foxglovePort', flag: 'foxglove-port', type: 'port', default: 'off', help: 'serve the Foxglove WebSocket protocol on this port, e.g. 8765 (0 = any free port, off = none)' },
];

export const RUN_DEFAULTS: RunConfig = Object.fromEntries(RUN_OPTIONS.map((o) => [o.key, o.type === 'port' && o.default === 'off' ? -1 : o.default])) as unknown as RunConfig;

function bad(flag: string, expected: string, found: unknown): never {
  throw new RewarddError('E_CONFIG', `--${flag}: expected ${expected}, found ${JSON.stringify(found)}`);
}

/** Validates a partial config (from argv or a test) against the table and fills in defaults. */
export function normaliseRunConfig(partial: Partial<Record<keyof RunConfig, unknown>>): RunConfig {
  const c = { ...RUN_DEFAULTS } as Record<string, unknown>;
  for (const spec of RUN_OPTIONS) {
    const v = partial[spec.key];
    if (v === undefined) continue;
    if (spec.type === 'auto-number' && v === 'auto') {
      c[spec.key] = v;
    } else if (spec.type === 'port') {
      // "off" (or -1 from code) turns the listener off; kept as -1 so the type stays a number.
      const n = v === 'off' ? -1 : typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > 65535) bad(spec.flag, 'a port in [0, 65535] or "off"', v);
      c[spec.key] = n;
    } else if (spec.type === 'number' || spec.type === 'auto-number') {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) bad(spec.flag, spec.type === 'number' ? 'a number' : '"auto" or a number', v);
      c[spec.key] = n;
    } else if (spec.type === 'boolean') {
      if (typeof v !== 'boolean') bad(spec.flag, 'true or false', v);
      c[spec.key] = v;
    } else {
      if (typeof v !== 'string' || v === '') bad(spec.flag, 'a non-empty string', v);
      c[spec.key] = v;
    }
  }
  const cfg = c as unknown as RunConfig;
  // The shipped robot, reward, policy and calibration are found from any working directory;
  // paths a user gives are relative to where they run the command.
  // --vision: the vision example's robot and reward, unless given.
  if (cfg.vision && partial.robot === undefined) cfg.robot = 'robots/rover-vision.json';
  if (cfg.vision && partial.reward === undefined) cfg.reward = 'rewards/reach-beacon-vision.reward.js';
  for (const k of ['robot', 'reward', 'policy', 'calibration', 'visionModel'] as const) {
    const v = cfg[k];
    if (partial[k] === undefined && !isAbsolute(v) && !existsSync(v) && v !== 'identity') cfg[k] = join(packageRoot(), v);
  }
  const intIn = (flag: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) bad(flag, `an integer in [${lo}, ${hi}]`, v);
  };
  if (!(cfg.hz >= 1 && cfg.hz <= 2000)) bad('hz', 'a rate in [1, 2000] Hz', cfg.hz);
  intIn('step-limit', cfg.stepLimit, 1, 100_000_000);
  if (cfg.tickSpinUs !== 'auto' && !(cfg.tickSpinUs >= 0 && cfg.tickSpinUs <= 1_000_000)) bad('tick-spin', '"auto" or µs in [0, 1000000]', cfg.tickSpinUs);
  intIn('episodes', cfg.episodes, 0, 1_000_000_000);
  if (cfg.duration < 0) bad('duration', 'seconds >= 0', cfg.duration);
  parseResetMode(cfg.reset, cfg.link);
  intIn('min-episode-steps', cfg.minEpisodeSteps, 1, 100_000_000);
  intIn('batch-steps', cfg.batchSteps, 1, 10_000);
  if (cfg.batchMaxAgeMs < 1) bad('batch-max-age', 'ms >= 1', cfg.batchMaxAgeMs);
  if (!(cfg.rewardBudgetMs > 0 && cfg.rewardBudgetMs <= 1000)) bad('reward-budget', 'ms in (0, 1000]', cfg.rewardBudgetMs);
  intIn('reward-memory', cfg.rewardMemoryMb, 8, 4096);
  intIn('reward-host-memory', cfg.rewardHostMemoryMb, 96, 65536);
  if (cfg.rewardHostMemoryMb < 2 * cfg.rewardMemoryMb + 64) bad('reward-host-memory', `at least 2 × --reward-memory + 64 (${2 * cfg.rewardMemoryMb + 64})`, cfg.rewardHostMemoryMb);
  intIn('rollback-after', cfg.rollbackAfter, 1, 1_000_000);
  intIn('dry-run-steps', cfg.dryRunSteps, 0, 100_000);
  intIn('broker-port', cfg.brokerPort, 0, 65535);
  intIn('seed', cfg.seed, 0, 0xffffffff);
  intIn('vision-threads', cfg.visionThreads, 1, 64);
  intIn('vision-log-frames', cfg.visionLogFrames, 0, 1_000_000);
  intIn('vision-frame-size', cfg.visionFrameSize, 16, 4096);
  intIn('vision-log-max', cfg.visionLogMax, 0, 100_000_000);
  if (cfg.camera !== '' && !/^(sim|mqtt|ffmpeg:.+)$/.test(cfg.camera)) bad('camera', 'sim, mqtt or ffmpeg:<input>', cfg.camera);
  if (cfg.swap !== 'now' && cfg.swap !== 'next-episode') bad('swap', '"now" or "next-episode"', cfg.swap);
  if (!['auto', 'tensorflow', 'wasm', 'cpu', 'onnx'].includes(cfg.policyBackend)) bad('policy-backend', 'auto, tensorflow, wasm, cpu or onnx', cfg.policyBackend);
  if (cfg.auth !== 'signed' && cfg.auth !== 'open') bad('auth', '"signed" or "open"', cfg.auth);
  if (!['auto', 'start', 'command'].includes(cfg.arm)) bad('arm', 'auto, start or command', cfg.arm);
  if (cfg.rewardFileAuth !== 'trusted' && cfg.rewardFileAuth !== 'signed') bad('reward-file-auth', '"trusted" or "signed"', cfg.rewardFileAuth);
  if (!/^(sim|serial:.+|johnny-five:.+)$/.test(cfg.link)) bad('link', 'sim, serial:<path>[@baud] or johnny-five:<path>', cfg.link);
  if (cfg.mqtt !== 'embedded' && !/^(mqtts?|wss?|tcp|tls):\/\/[^/]+/.test(cfg.mqtt)) bad('mqtt', 'a URL like mqtt://host:1883, or "embedded"', cfg.mqtt);
  if (!/^[^#+]+[^/#+]$/.test(cfg.prefix)) bad('prefix', 'topic levels without wildcards or a trailing slash', cfg.prefix);
  const mustExist = (flag: string, path: string, kind: 'file' | 'dir') => {
    if (!existsSync(path)) bad(flag, `an existing ${kind}`, path);
    const st = statSync(path);
    if (kind === 'file' && !st.isFile()) bad(flag, 'a file', path);
    if (kind === 'dir' && !st.isDirectory()) bad(flag, 'a folder', path);
  };
  mustExist('robot', cfg.robot, 'file');
  mustExist('reward', cfg.reward, 'file');
  mustExist('policy', cfg.policy, 'dir');
  if (cfg.calibration !== 'identity') mustExist('calibration', cfg.calibration, 'file');
  return cfg;
}

export function runHelp(): string {
  const lines = RUN_OPTIONS.map((o) => {
    const flag = o.type === 'boolean' ? `--${o.flag} / --no-${o.flag}` : `--${o.flag} <${o.type === 'number' ? 'n' : o.type === 'auto-number' ? 'n|auto' : o.type === 'port' ? 'n|off' : 'value'}>`;
    return `  ${flag.padEnd(30)} ${o.help} (default: ${o.default === '' ? 'none' : String(o.default)})`;
  });
  return [
    'Usage: rewardd run [options]',
    '',
    'Runs the robot: link -> calibrated observation -> policy -> safety filter -> actuators,',
    'with the reward program evaluated in a sandbox every tick and every step of every',
    'episode logged over MQTT (via the on-disk outbox). Ctrl-C ends the episode cleanly.',
    '',
    'Options:',
    ...lines,
    '  --help                         this text',
  ].join('\n');
}

/** Whether the control thread arms by itself once the link is up (at start, and after an e-stop reset). */
export function armsItself(cfg: Pick<RunConfig, 'arm' | 'link'>): boolean {
  return cfg.arm === 'start' || (cfg.arm === 'auto' && cfg.link === 'sim');
}
