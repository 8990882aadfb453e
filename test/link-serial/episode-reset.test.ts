import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { EpisodeEnd, EpisodeStart } from '../../src/core/records.js';
import { StepFlag } from '../../src/core/records.js';
import { normaliseRunConfig, type RunConfig } from '../../src/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { HostFirmware } from '../../src/link/serial-firmware-sim.js';
import { startEmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { captureEpisodes, waitFor, type CapturedEpisode } from '../helpers/mqtt-capture.js';
import { operator, writeAllowed } from '../trust/helpers.js';
import { uniqueLinkPath } from './harness.js';

/**
 * The reset phase between episodes on a real link (issue 18): `rewardd run --link serial:<pty>`
 * against the host build of the rover firmware, whose world never resets. With a reward whose
 * success() is already true, the daemon used to log hundreds of one-step `success` episodes a
 * second. Commands come from clients nobody here wrote (mosquitto_pub, mosquitto_rr) and from the
 * built `rewardd episode next`.
 */
const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (tag: string): string => {
  const d = mkdtempSync(join(tmpdir(), `rewardd-reset-${tag}-`));
  dirs.push(d);
  return d;
};
const url = process.env.MQTT_URL;
const BIN = join(process.cwd(), 'bin', 'rewardd.js');

/** A reward whose task is "already done": success() is true on every step, as at the beacon of a world that never resets. */
const ALREADY_THERE = `
export const meta = { name: 'already-there', goal: 'test: success() is true from the first step', weights: { still: 1 }, ranges: { still: [0, 1] } };
export function reward(obs, action, ctx) { return { still: 1 }; }
export function success(obs, ctx) { return true; }
`;
/** success() follows the IMU's roll-rate noise (zero mean): true on about half of the ticks, false runs of K come and go. */
const NOISY = `
export const meta = { name: 'noisy-success', goal: 'test: success() flickers with sensor noise', weights: { still: 1 }, ranges: { still: [0, 1] } };
export function reward(obs, action, ctx) { return { still: 1 }; }
export function success(obs, ctx) { return obs.gyro_x > 0; }
`;

interface Rig {
  fw: HostFirmware;
  daemon: RunningDaemon;
  cap: Awaited<ReturnType<typeof captureEpisodes>>;
  logs: string[];
  statusLines: string[];
  prefix: string;
  /** Episodes in start order (those whose start arrived). */
  episodes(): (CapturedEpisode & { start: EpisodeStart })[];
  ended(): EpisodeEnd[];
  stop(): Promise<void>;
}

async function rig(reward: string, opts: Partial<Record<keyof RunConfig, unknown>>, stateSetup?: (stateDir: string) => void): Promise<Rig> {
  const path = uniqueLinkPath();
  const fw = await HostFirmware.start({ rateHz: 200, linkPath: path });
  const dir = tmp('run');
  const rewardFile = join(dir, 'task.reward.js');
  writeFileSync(rewardFile, reward);
  const stateDir = join(dir, 'state');
  stateSetup?.(stateDir);
  const prefix = `rewardd-reset-${Math.random().toString(16).slice(2, 8)}/v1`;
  // Without MQTT_URL an aedes broker of the test's own (the embedded broker's code), started first:
  // start records are not retained, so the capture must subscribe before the daemon starts, or a first
  // episode that begins at once is missed (seen on a loaded machine: the operator mode then never starts
  // another one, and the test waited for it in vain).
  const own = url ? null : await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
  const mqttUrl = url ?? own!.url;
  const cfg = normaliseRunConfig({
    link: `serial:${path}`, hz: 100, stepLimit: 5000, prefix, stateDir, watchReward: false, reward: rewardFile, dashboardPort: 'off', brokerWsPort: 'off',
    mqtt: mqttUrl, ...opts,
  });
  const logs: string[] = [];
  const statusLines: string[] = [];
  const cap = await captureEpisodes(mqttUrl, prefix);
  const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: (l) => statusLines.push(l) });
  const episodes = () =>
    [...cap.episodes.values()].filter((e): e is CapturedEpisode & { start: EpisodeStart } => e.start !== undefined).sort((a, b) => a.start.index - b.start.index);
  return {
    fw, daemon, cap, logs, statusLines, prefix, episodes,
    ended: () => episodes().flatMap((e) => (e.end ? [e.end] : [])),
    stop: async () => {
      await daemon.stop();
      await cap.close();
      await fw.stop('SIGKILL');
      await own?.close();
    },
  };
}

const stepsOf = (e: CapturedEpisode) => [...e.batches].sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The latest verdicts on episode/next/result (MQTT 3.1.1 senders), by correlation. */
const verdicts = (r: Rig): Record<string, { ok: boolean; detail?: string; error?: string }> =>
  Object.fromEntries(
    (r.cap.other.get(`${r.prefix}/rover/episode/next/result`) ?? []).map((b) => {
      const j = JSON.parse(b.toString('utf8')) as { correlation: string; ok: boolean };
      return [j.correlation, j];
    }),
  );
const health = (r: Rig) => {
  const all = r.cap.other.get(`${r.prefix}/rover/health`) ?? [];
  return all.length ? (JSON.parse(all.at(-1)!.toString('utf8')) as { episode: { phase: string; reset: string; waitingFor: string | null; done: number } }) : null;
};
const host = (u: string) => new URL(u);

describe('episodes on a real link: the reset phase', () => {
  it('operator (the default on a serial link): one episode, the robot holds still, and nothing more until "next" (mosquitto_pub, mosquitto_rr)', async () => {
    const MIN = 400; // 4 s at 100 Hz: the window in which a "next" finds the first episode running (2 s was missed once under load)
    const r = await rig(ALREADY_THERE, { auth: 'open', arm: 'start', minEpisodeSteps: MIN });
    const broker = host(r.daemon.mqttUrl);
    const pub = (payload: string) => run('mosquitto_pub', ['-h', broker.hostname, '-p', broker.port, '-q', '1', '-t', `${r.prefix}/rover/episode/next`, '-m', payload], { timeout: 20_000 });
    try {
      await waitFor(() => r.episodes().length === 1, 60_000, 'the first start record');
      expect(r.episodes()[0]!.start.reset).toBeUndefined(); // nothing preceded the first episode
      // A "next" while the episode runs is refused, with the reason on episode/next/result.
      await pub(JSON.stringify({ action: 'next', reason: 'too early', correlation: 'early' }));
      await waitFor(() => verdicts(r).early !== undefined, 10_000, 'the verdict on the early next');
      expect(verdicts(r).early).toMatchObject({ ok: false, error: expect.stringMatching(/^E_EPISODE: next: expected the robot between episodes, found episode \S+ running/) });
      // The policy drives during the episode (armed at start).
      await waitFor(() => r.episodes()[0]!.batches.length > 0, 10_000, 'steps');

      await waitFor(() => r.ended().length === 1, 20_000, 'the first end');
      const first = r.ended()[0]!;
      expect(first).toMatchObject({ reason: 'success', steps: MIN, endsHeldBack: MIN - 1 });
      // The reset phase: seconds pass, no episode, no step, actuators at their stop values.
      await sleep(3000);
      const stats = await r.fw.stats();
      expect(stats.motors).toBe(0);
      expect(r.episodes()).toHaveLength(1);
      expect(stepsOf(r.episodes()[0]!)).toHaveLength(MIN);
      expect(r.statusLines.at(-1)).toMatch(/\| ep 0 ended, resetting \(waiting for next, [2-9] s\) \|/);
      expect(health(r)?.episode).toMatchObject({ phase: 'resetting', reset: 'operator', waitingFor: 'next', done: 1 });
      expect(r.logs.filter((l) => l.startsWith('warning: episode'))).toHaveLength(1);

      // "next" as plain text, from mosquitto_pub: exactly one more episode.
      await pub('next');
      await waitFor(() => r.ended().length === 2, 20_000, 'the second end');
      const second = r.episodes()[1]!;
      expect(second.start.reset).toMatchObject({ mode: 'operator', endedBy: 'next', signer: null, reason: 'mqtt' });
      expect(second.start.reset!.waitedMs).toBeGreaterThanOrEqual(3000);
      expect(second.start.reset!.ticks).toBeGreaterThan(200);
      expect(r.ended()[1]).toMatchObject({ reason: 'success', steps: MIN });
      await sleep(1500);
      expect(r.episodes()).toHaveLength(2);

      if (url) {
        // MQTT 5 request/response with mosquitto_rr: the verdict comes back on the response topic.
        const rr = await run('mosquitto_rr', ['-h', broker.hostname, '-p', broker.port, '-V', '5', '-t', `${r.prefix}/rover/episode/next`, '-e', `${r.prefix}/rr/${process.pid}`, '-m', 'next', '-W', '15'], { timeout: 20_000 });
        expect(JSON.parse(rr.stdout)).toMatchObject({ ok: true, detail: 'the next episode starts at the next tick' });
        await waitFor(() => r.episodes().length === 3, 10_000, 'the third episode');
      }
      // Every episode logged is whole: seq 0.. without gaps, one last step, at least MIN steps.
      for (const e of r.episodes().filter((x) => x.end)) {
        const steps = stepsOf(e);
        expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i));
        expect(steps.length).toBeGreaterThanOrEqual(MIN);
        expect(steps.filter((s) => s.flags & StepFlag.last)).toHaveLength(1);
        expect(steps.every((s) => s.flags & StepFlag.success)).toBe(true);
      }
    } finally {
      await r.stop();
    }
  }, 180_000);

  it('pause:MS and immediate: a world that never resets yields episodes of at least the minimum length, paced by the pause', async () => {
    const MIN = 20;
    const r = await rig(ALREADY_THERE, { reset: 'pause:700', minEpisodeSteps: MIN, duration: 5 });
    try {
      await r.daemon.done;
    } finally {
      await r.stop();
    }
    const eps = r.episodes().filter((e) => e.end);
    // 5 s of 0.2 s episodes and 0.7 s pauses: at most 6 (the flood was ~190 in 5 s).
    expect(eps.length).toBeGreaterThanOrEqual(2);
    expect(eps.length).toBeLessThanOrEqual(6);
    for (let i = 0; i < eps.length; i++) {
      const e = eps[i]!;
      // The last one may have been cut short by the end of the run (shutdown).
      if (e.end!.reason === 'success') expect(e.end!.steps).toBeGreaterThanOrEqual(MIN);
      else expect(e.end!.reason).toBe('shutdown');
      if (i === 0) continue;
      expect(e.start.reset).toMatchObject({ mode: 'pause:700', endedBy: 'pause' });
      expect(e.start.reset!.waitedMs).toBeGreaterThanOrEqual(700);
      // Monotonic times in the records agree: the start is at least the pause after the previous end.
      expect(BigInt(e.start.startedNs) - BigInt(eps[i - 1]!.end!.endedNs)).toBeGreaterThanOrEqual(700_000_000n);
    }
    expect(r.logs.filter((l) => l.startsWith('warning: episode'))).toHaveLength(1);

    // --reset immediate (no reset phase) on the same world: the minimum length is the only guard left.
    const q = await rig(ALREADY_THERE, { reset: 'immediate', minEpisodeSteps: MIN, duration: 3 });
    try {
      await q.daemon.done;
    } finally {
      await q.stop();
    }
    const flood = q.episodes().filter((e) => e.end && e.end.reason === 'success');
    expect(flood.length).toBeGreaterThan(2);
    expect(flood.length).toBeLessThanOrEqual(3 * 100 / MIN + 1);
    expect(flood.every((e) => e.end!.steps === MIN)).toBe(true);
    const warnings = q.logs.filter((l) => l.startsWith('warning: episode'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/success\(\) was already true at step 0: the world did not reset between episodes.*--reset operator, until-clear\[:K\] or pause:MS/);
  }, 180_000);

  it('until-clear:K: the reward keeps being evaluated between episodes, none of it logged, and the next episode starts after K clear ticks', async () => {
    const K = 4;
    const r = await rig(NOISY, { reset: `until-clear:${K}`, minEpisodeSteps: 10, duration: 5 });
    try {
      await r.daemon.done;
    } finally {
      await r.stop();
    }
    const eps = r.episodes().filter((e) => e.end);
    expect(eps.length).toBeGreaterThanOrEqual(2);
    for (const e of eps.slice(1)) {
      expect(e.start.reset).toMatchObject({ mode: `until-clear:${K}`, endedBy: 'clear' });
      expect(e.start.reset!.evaluations).toBeGreaterThanOrEqual(K);
    }
    // Only episode steps are logged: per episode, as many as its end record says, from seq 0.
    for (const e of eps) {
      const steps = stepsOf(e);
      expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i));
      expect(steps.length).toBe(e.end!.steps);
      if (e.end!.reason !== 'shutdown') expect(e.end).toMatchObject({ reason: 'success', steps: expect.any(Number) });
      if (e.end!.reason === 'success') expect(e.end!.steps).toBeGreaterThanOrEqual(10);
    }
    // The time between episodes holds the reset evaluations: the steps' tick times leave a gap.
    for (let i = 1; i < eps.length; i++) {
      const gapNs = BigInt(eps[i]!.start.startedNs) - BigInt(eps[i - 1]!.end!.endedNs);
      expect(gapNs).toBeGreaterThanOrEqual(BigInt(K - 1) * 10_000_000n);
    }
  }, 180_000);

  it('rewardd episode next (the built CLI): refused unsigned by a robot under --auth signed, accepted with --key', async () => {
    const alice = operator('alice');
    const keyDir = tmp('key');
    const keyFile = join(keyDir, 'alice.key');
    writeFileSync(keyFile, alice.privateKeyPem, { mode: 0o600 });
    const r = await rig(ALREADY_THERE, { minEpisodeSteps: 20 }, (stateDir) => {
      mkdirSync(stateDir, { recursive: true });
      writeAllowed(join(stateDir, 'allowed_keys'), [alice]);
    });
    const cli = (...extra: string[]) =>
      run(process.execPath, [BIN, 'episode', 'next', '--mqtt', r.daemon.mqttUrl, '--prefix', r.prefix, '--timeout-ms', '15000', ...extra], { timeout: 60_000 }).then(
        (o) => ({ code: 0, stdout: o.stdout, stderr: o.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    try {
      await waitFor(() => r.ended().length === 1, 20_000, 'the first end');
      const unsigned = await cli();
      expect(unsigned.code).toBe(1);
      expect(unsigned.stderr.trim().split('\n')).toHaveLength(1);
      expect(unsigned.stderr).toMatch(/^rewardd episode: next refused by the robot: unsigned: next: expected a signed envelope/);
      await sleep(500);
      expect(r.episodes()).toHaveLength(1);

      const signed = await cli('--key', keyFile, '--reason', 'rover back at the start');
      expect(signed).toMatchObject({ code: 0, stdout: 'next accepted by the robot: the next episode starts at the next tick (the robot is disarmed: its actuators stay at their stop values until armed)\n' });
      await waitFor(() => r.episodes().length === 2, 10_000, 'the second episode');
      expect(r.episodes()[1]!.start.reset).toMatchObject({ endedBy: 'next', signer: alice.fingerprint, reason: 'rover back at the start' });
      expect(r.logs.some((l) => l.startsWith(`next over MQTT signed by ${alice.fingerprint}`))).toBe(true);
    } finally {
      await r.stop();
    }
  }, 180_000);
});
