import { execFileSync } from 'node:child_process';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/core/records.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { loadRobot } from '../../src/core/robot.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { captureEpisodes } from '../helpers/mqtt-capture.js';
import { until } from '../helpers/wait.js';
import { tempDirs } from '../helpers/temp.js';

/**
 * A camera that stalls (ffmpeg stopped: the pipe goes quiet) and then is unplugged
 * (ffmpeg killed) mid-episode: the tick goes on at its rate, the steps keep the last
 * embedding and say how old its frame is, the source restarts, and the counters reach
 * the status line and the end record.
 */
const tmp = tempDirs();
const url = process.env.MQTT_URL;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

describe('a stalled or unplugged camera never touches the tick', () => {
  it('keeps the tick rate, carries the staleness in every step, and restarts the camera', async () => {
    const prefix = `rewardd-stall-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({ vision: true, camera: 'ffmpeg:lavfi:testsrc=size=160x120:rate=10', hz: 100, stepLimit: 100_000, prefix, stateDir: tmp('rewardd-stall-'), watchReward: false, ...(url ? { mqtt: url } : { brokerPort: 0 }) });
    const status: string[] = [];
    const daemon = await startDaemon(cfg, { log: () => {}, status: (l) => status.push(l) });
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    // The health topic's line, as the dashboard and Foxglove show it: the terminal's, vision part included.
    const healthLines: string[] = [];
    const watcher = await mqtt.connectAsync(daemon.mqttUrl);
    watcher.on('message', (_t, p) => healthLines.push((JSON.parse(p.toString()) as { line: string }).line));
    await watcher.subscribeAsync(`${prefix}/rover/health`);
    const steps = (): StepRecord[] => [...cap.episodes.values()].flatMap((e) => [...e.batches].sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]));
    const ffmpeg = (): number => Number(execFileSync('pgrep', ['-P', String(process.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n')[0]);
    const names = loadRobot(cfg.robot).robot.observations.map((f) => f.name);
    const obs = (s: StepRecord, name: string) => s.obs[names.indexOf(name)]!;
    let ends: NonNullable<import('../../src/core/records.js').EpisodeEnd>[] = [];
    try {
      await until(() => steps().some((s) => obs(s, 'vision_age_ms') < 300), 'steps with fresh frames', 30_000);
      const pid = ffmpeg();
      const t0 = process.hrtime.bigint();
      process.kill(pid, 'SIGSTOP'); // stalled: alive, silent
      await new Promise((r) => setTimeout(r, 1200));
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL'); // unplugged
      await until(() => status.some((l) => / restarts 1/.test(l)), 'the restart in the status line', 20_000);
      await until(() => steps().some((s) => s.tNs > t0 + 3_000_000_000n && obs(s, 'vision_age_ms') < 300), 'fresh frames again', 30_000);
      await daemon.stop();
      // The rover reaches the beacon every few seconds: several episodes, each with its end record.
      await until(() => [...cap.episodes.values()].every((e) => e.end !== undefined), 'the end records', 10_000);
      ends = [...cap.episodes.values()].filter((e) => e.start !== undefined).map((e) => e.end!);
    } finally {
      await daemon.stop();
      await cap.close();
      await watcher.endAsync();
    }
    const all = steps();
    // The stale stretch: one embedding for many steps, its age growing tick by tick past a second.
    const stale = all.filter((s) => obs(s, 'vision_seq') >= 0 && obs(s, 'vision_age_ms') > 600 && obs(s, 'vision_age_ms') < Infinity);
    // Before the first embedding: no record, infinitely old.
    expect(all.filter((s) => obs(s, 'vision_seq') < 0).every((s) => obs(s, 'vision_age_ms') === Infinity)).toBe(true);
    // The stall: one embedding for many steps (the longest such run), its age growing tick by tick past a second.
    const bySeq = new Map<number, StepRecord[]>();
    for (const st of stale) bySeq.set(obs(st, 'vision_seq'), [...(bySeq.get(obs(st, 'vision_seq')) ?? []), st]);
    const longest = [...bySeq.values()].sort((x, y) => y.length - x.length)[0]!;
    expect(longest.length).toBeGreaterThan(40);
    for (let i = 1; i < longest.length; i++) expect(obs(longest[i]!, 'vision_age_ms')).toBeGreaterThan(obs(longest[i - 1]!, 'vision_age_ms'));
    expect(obs(longest[longest.length - 1]!, 'vision_age_ms')).toBeGreaterThan(1000);
    // The stale reward term is 0 (the program gates on ctx.vision.age_ms), never a failure.
    expect(stale.every((s) => s.rewardStatus === 0 && s.rewardTerms.vlm === 0)).toBe(true);
    // The tick period while the camera was stale equals the one while it was fresh (same run).
    const period = (l: StepRecord[]) => median(l.slice(1).map((s, i) => Number(s.tNs - l[i]!.tNs) / 1e6).filter((d) => d < 100));
    const fresh = all.filter((s) => obs(s, 'vision_age_ms') < 300);
    const ratio = period(stale) / period(fresh);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
    expect(status.some((l) => / \| vision ffmpeg \d+ Hz enc /.test(l))).toBe(true);
    // Before, health.line stopped at "| link up".
    expect(healthLines.some((l) => / \| link up \| vision ffmpeg \d+ Hz enc (\d+\.\d|-) ms drop \d+ garbage \d+/.test(l))).toBe(true);
    expect(ends.reduce((n, e) => n + e.vision!.sourceRestarts, 0)).toBeGreaterThanOrEqual(1);
    expect(ends.reduce((n, e) => n + e.vision!.encoded, 0)).toBeGreaterThan(0);
    // Counters are per episode: a frame received just before an episode starts (one waiting, one
    // in the encoder) is encoded, and counted, in it. Over the whole run nothing is encoded twice.
    expect(ends.every((e) => e.vision!.encoded <= e.vision!.framesReceived + 2)).toBe(true);
    expect(ends.reduce((n, e) => n + e.vision!.encoded, 0)).toBeLessThanOrEqual(ends.reduce((n, e) => n + e.vision!.framesReceived, 0) + 2);
    expect(ends.some((e) => /ffmpeg exited \(SIGKILL\)/.test(e.vision!.lastError))).toBe(true);
  }, 120_000);
});
