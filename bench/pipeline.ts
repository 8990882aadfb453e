import { readFileSync } from 'node:fs';
import { systemClock } from '../src/core/clock.js';
import { loadRobot } from '../src/core/robot.js';
import { RewardStatus } from '../src/core/records.js';
import { startWorker } from '../src/core/worker-entry.js';
import { loadCalibration } from '../src/calibration/calibration.js';
import { compileCalibration } from '../src/calibration/apply.js';
import { encodeFrameInto } from '../src/protocol/codec.js';
import { FrameDecoder } from '../src/protocol/decoder.js';
import { ROVER_CHANNELS } from '../src/protocol/rover-channels.js';
import { MAX_ENCODED_FRAME } from '../src/protocol/wire.js';
import { ObservationAssembler } from '../src/observation/observation.js';
import { RoverModel } from '../src/link/sim/rover-model.js';
import { StepBatcher } from '../src/episode/step-batcher.js';
import { RewardRuntime, newRewardOutput } from '../src/reward/index.js';
import { summarise, table } from './stats.js';

/**
 * The per-tick data path without the policy: decode a SAMPLE frame ->
 * calibrate -> observation -> sandboxed reward -> step batch encode, and the
 * tick scheduler's achieved rate and period error at 100 Hz and 1 kHz
 * (20 s each, the real control loop on its own thread), against a
 * drift-compensated setTimeout loop measured in the same run.
 */
const TICKS = 50_000;

async function perTickCost(): Promise<void> {
  const robot = loadRobot('robots/rover.json');
  const names = robot.robot.observations.map((f) => f.name);
  const actions = robot.robot.actions.map((f) => f.name);
  const cal = loadCalibration('calibration/rover.json', robot.robot);
  // Real sensor frames from a driven rover, encoded once up front (that is the MCU's work).
  const model = new RoverModel({ seed: 5 });
  const sensors = new Float64Array(12);
  const frames: Uint8Array[] = [];
  const buf = new Uint8Array(MAX_ENCODED_FRAME + 1);
  for (let i = 0; i < 1000; i++) {
    model.step(0.01, 0.6, 0.5);
    model.sense(sensors);
    const n = encodeFrameInto({ type: 'SAMPLE', seq: i & 0xffff, timeUs: i * 10_000, values: Array.from(sensors) }, buf, 0, ROVER_CHANNELS);
    frames.push(buf.slice(0, n));
  }
  const source = readFileSync('rewards/reach-beacon.reward.js', 'utf8');
  const rt = await RewardRuntime.create(source, 'reach-beacon.reward.js', { observationNames: names, actionNames: actions });
  const out = newRewardOutput(rt.info.termNames.length);
  const action = Float32Array.from([0.5, 0.4]);

  const measure = (withReward: boolean): number[] => {
    const decoder = new FrameDecoder(ROVER_CHANNELS);
    const asm = new ObservationAssembler(robot.robot, ROVER_CHANNELS, compileCalibration(cal.file, names));
    const batcher = new StepBatcher({ robot: 'rover', observationNames: names, actionNames: actions, capacity: 50 }, () => {});
    batcher.beginEpisode('bench');
    rt.beginEpisode({ index: 0, id: 'bench' });
    const samples: number[] = new Array<number>(TICKS);
    const terms = new Float64Array(rt.info.termNames.length);
    for (let i = 0; i < TICKS; i++) {
      const t0 = process.hrtime.bigint();
      decoder.push(frames[i % frames.length]!, (f) => {
        if (f.type === 'SAMPLE') asm.fold(f, t0);
      });
      if (withReward) rt.evaluate(asm.observation.values, action, 0.01, out, asm.observation.rawValues);
      batcher.push({
        tNs: t0,
        wallMs: 0,
        obsTNs: t0,
        obs: asm.observation.values,
        obsRaw: asm.observation.rawValues,
        actionCommanded: action,
        actionApplied: action,
        safety: 0,
        flags: 0,
        rewardVersion: rt.info.version,
        termNames: rt.info.termNames,
        rewardStatus: withReward ? out.status : RewardStatus.ok,
        rewardTotal: withReward ? out.total : 0,
        rewardTerms: withReward ? out.terms : terms,
        rewardReason: '',
      });
      samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    return samples.slice(TICKS / 10); // drop warm-up
  };
  measure(true); // JIT warm-up for both paths
  const base = summarise(measure(false));
  const full = summarise(measure(true));
  rt.dispose();
  process.stdout.write(
    `${table([
      { path: 'decode+calibrate+observe+encode (no reward)', 'p50 us': base.p50, 'p99 us': base.p99, 'mean us': base.mean },
      { path: '... + sandboxed reward (reach-beacon)', 'p50 us': full.p50, 'p99 us': full.p99, 'mean us': full.mean },
    ])}\nsandboxed reward adds ${(full.p50 - base.p50).toFixed(2)} us at p50; pipeline p99 ${full.p99.toFixed(1)} us (target <= 50 us)\n\n`,
  );
}

function tickRun(hz: number, seconds: number, mode: 'scheduler' | 'setTimeout', spinUs?: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const w = startWorker(import.meta.url, 'tick-worker', { workerData: { hz, seconds, mode, ...(spinUs !== undefined ? { spinUs } : {}) } });
    w.once('message', (m: Record<string, number>) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

export async function run(): Promise<void> {
  await perTickCost();
  const seconds = Number(process.env.BENCH_TICK_SECONDS ?? 20);
  const rows: Array<Record<string, string | number>> = [];
  // The default (--tick-spin auto) at both rates, the sleeping alternative at 1 kHz, and the baseline.
  const runs: Array<[string, number, 'scheduler' | 'setTimeout', number | undefined, number]> = [
    ['TickScheduler default (auto: sleep + 300 us spin)', 100, 'scheduler', undefined, seconds],
    ['TickScheduler default (auto: busy-wait the period)', 1000, 'scheduler', undefined, seconds],
    ['TickScheduler --tick-spin 300 (sleeps, saves the core)', 1000, 'scheduler', 300, seconds],
    ['setTimeout, drift-compensated (baseline)', 1000, 'setTimeout', undefined, Math.min(seconds, 5)],
  ];
  for (const [name, hz, mode, spinUs, secs] of runs) {
    const r = await tickRun(hz, secs, mode, spinUs);
    rows.push({ loop: name, 'target Hz': hz, 'achieved Hz': r.hz!, 'period err p50 us': r.p50!, 'p99 us': r.p99!, 'max us': r.max!, 'late p99 us': r.late99 ?? NaN, skipped: r.skipped!, 'cpu %': 100 * r.cpu! });
  }
  process.stdout.write(`${table(rows)}\n(full control loop per tick: sim link + protocol decode, calibration, reward sandbox, safety filter, batching; ${seconds} s per scheduler row)\n`);
  void systemClock;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
