import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import type { StepRecord } from '../../src/core/records.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { AvrFirmware } from '../../src/link/avr-firmware-sim.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';
import { uniqueLinkPath } from '../link-serial/harness.js';

/**
 * `rewardd run --link serial:<pty>` (the daemon API, as test/link-serial does) against the real
 * sketch on an emulated ATmega2560: every step is logged and the policy's commands come back in
 * the wheel speeds; line noise injected by the emulator between the MCU's UART and the pty is
 * counted and resynced; an MCU reset is detected and disarms.
 */
const dirs: string[] = [];
let fw: AvrFirmware;
let daemon: RunningDaemon;
let cap: Awaited<ReturnType<typeof captureEpisodes>>;
const logs: string[] = [];

beforeAll(async () => {
  const path = uniqueLinkPath();
  dirs.push(join(path, '..'));
  // A 1 s MCU watchdog in this file: on an overloaded machine the daemon can stall past 150 ms, and a
  // trip (correct behaviour, tested in avr-cli.test.ts with the shipped 150 ms) would disarm the MCU
  // under the predictions below. The HELLO announces it; the rest of the firmware is the same build.
  fw = await AvrFirmware.start({ board: 'mega', linkPath: path, seed: 7, watchdogMs: 1000 });
  const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-avr-'));
  dirs.push(stateDir);
  const prefix = `rewardd-avr-${Math.random().toString(16).slice(2, 8)}/v1`;
  // ?silence=3000: on a loaded machine the emulator can run slower than real time (its lag_ms); a
  // longer RX-silence limit than the default 500 ms keeps the daemon from calling a slow MCU lost.
  const cfg = normaliseRunConfig({
    link: `serial:${path}?silence=3000`, hz: 50, arm: 'start', stepLimit: 100_000, prefix, stateDir, status: false, watchReward: false,
    brokerPort: 0, brokerWsPort: 'off', dashboardPort: 'off',
  });
  daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
  cap = await captureEpisodes(daemon.mqttUrl, prefix);
}, 600_000);

afterAll(async () => {
  await daemon?.stop();
  await cap?.close();
  await fw?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const steps = (): StepRecord[] =>
  [...cap.episodes.values()].flatMap((e) => e.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]));
const ends = () => [...cap.episodes.values()].filter((e) => e.end).map((e) => e.end!);

describe('rewardd run against the AVR firmware in simavr', () => {
  it('logs steps whose wheel speeds follow the commanded actions through the MCU-side rover', async () => {
    // One episode's steps: between episodes the loop holds the robot still with commands it does not
    // log as steps, which a prediction from logged actions alone cannot know about.
    const episodeSteps = (): StepRecord[][] =>
      [...cap.episodes.values()].map((e) => e.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]));
    const longest = (): StepRecord[] => episodeSteps().sort((a, b) => b.length - a.length)[0] ?? [];
    await waitFor(() => longest().length >= 150, 90_000, 'an episode of 150 logged steps');
    const all = longest();
    const names = [...cap.episodes.values()].find((e) => e.batches.length > 0)!.batches[0]!.observationNames;
    const wl = names.indexOf('wheel_speed_left');
    const wr = names.indexOf('wheel_speed_right');
    const moving = all.filter((s) => Math.abs(s.actionApplied[0]!) > 0.1 || Math.abs(s.actionApplied[1]!) > 0.1);
    expect(moving.length).toBeGreaterThan(50); // the policy drives
    // Predict each step's raw wheel speeds from the applied actions before it: the MCU's model is a
    // first-order lag (50 ms) to action x 20 rad/s. The host and MCU clocks are not aligned, so take the
    // best of a few steps of latency; a prediction that ignores the actions must do far worse.
    const predictErr = (lag: number, wheel: 0 | 1, idx: number): number => {
      let w = all[0]!.obsRaw![idx]!;
      let err = 0;
      for (let i = 1; i < all.length; i++) {
        const dt = Number(all[i]!.tNs - all[i - 1]!.tNs) / 1e9;
        const a = i - 1 - lag >= 0 ? all[i - 1 - lag]!.actionApplied[wheel]! : 0;
        w += (a * 20 - w) * (dt / (0.05 + dt));
        err += Math.abs(all[i]!.obsRaw![idx]! - w);
      }
      return err / (all.length - 1);
    };
    for (const [wheel, idx] of [[0, wl], [1, wr]] as const) {
      const best = Math.min(...[0, 1, 2, 3].map((lag) => predictErr(lag, wheel, idx)));
      const mean = all.reduce((s, x) => s + x.obsRaw![idx]!, 0) / all.length;
      const spread = all.reduce((s, x) => s + Math.abs(x.obsRaw![idx]! - 0), 0) / all.length;
      process.stdout.write(`avr daemon: wheel ${wheel}: ${all.length} steps, prediction error ${best.toFixed(3)} rad/s, mean |speed| ${spread.toFixed(2)} rad/s\n`);
      // Within 10 % of the speeds (0.1-0.2 rad/s on a quiet machine: the host's tick times stand in
      // for the MCU's clock, and an emulator slowed by a busy machine stretches them), and far better
      // than a prediction that ignores the actions (its error is about the mean speed).
      expect(Math.abs(mean)).toBeGreaterThan(1);
      expect(best).toBeLessThan(Math.max(1.0, 0.1 * spread));
    }
    // Heartbeats both ways keep the MCU fed: no watchdog fault while the daemon runs.
    expect(logs.filter((l) => /MCU fault|link lost/.test(l))).toEqual([]);
    const st = await fw.stats();
    process.stdout.write(`avr daemon: emulator ${JSON.stringify(st)}\n`);
    expect(st.rx_bytes).toBeGreaterThan(1000);
  }, 120_000);

  it('an MCU reset is detected: the daemon reports the reboot, disarms, and nothing moves until an explicit arm', async () => {
    await waitFor(() => fw.motorChanges().some((m) => m.left !== 0 || m.right !== 0), 30_000, 'the motor pins driven');
    const reboots = () => logs.filter((l) => /^MCU rebooted \(boot id [0-9a-f]+\): disarmed until an explicit arm$/.test(l));
    expect(reboots()).toEqual([]);
    await fw.reset();
    const resetAt = fw.lines.findIndex((l) => l.startsWith('event reset '));
    await waitFor(() => reboots().length >= 1, 20_000, 'the daemon to report the MCU reboot');
    expect(reboots()).toHaveLength(1);
    expect(logs.some((l) => /^link lost: MCU rebooted/.test(l))).toBe(true); // the link reports the reboot as a loss first
    // Two seconds of a running daemon after the reboot: the policy keeps producing actions, but the
    // rebooted MCU is disarmed and the daemon does not arm it again by itself.
    await new Promise((r) => setTimeout(r, 2000));
    const motorLinesAfter = fw.lines.slice(resetAt).filter((l) => l.startsWith('motors '));
    expect(motorLinesAfter.every((l) => l.startsWith('motors 0 0 '))).toBe(true);
    expect(await fw.stats()).toMatchObject({ resets: 1, motorsLeft: 0, motorsRight: 0 });
    const reasons: Record<string, number> = {};
    for (const e of ends()) reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    process.stdout.write(`avr daemon: episode end reasons so far: ${JSON.stringify(reasons)}\n`);
    // The operator arms: the wheels turn again.
    daemon.command({ type: 'arm' });
    await waitFor(() => fw.lines.slice(resetAt).some((l) => l.startsWith('motors ') && !l.startsWith('motors 0 0 ')), 20_000, 'motors after the explicit arm');
  }, 120_000);

  it('counts line noise (bits flipped between the UART and the pty) and resyncs', async () => {
    const before = steps().length;
    await fw.noise(300, 20);
    const done = await fw.waitFor(/^event noise_done flipped 20 /, 30_000);
    expect(done).toMatch(/flipped 20/);
    await waitFor(() => steps().length >= before + 100, 60_000, 'steps after the noise');
    // The link's counters travel in the episode end records: stop cleanly to get the last one.
    await daemon.stop();
    await waitFor(() => ends().some((e) => e.reason === 'shutdown'), 20_000, 'the final end record');
    const c = (ends().find((e) => e.reason === 'shutdown') as unknown as { linkCounters: Record<string, number> }).linkCounters;
    const bad = c.crcErrors! + c.malformed! + c.oversize!;
    process.stdout.write(`avr daemon: after 20 flips: ${JSON.stringify(c)}\n`);
    // Each flip spoils the frame it lands in (CRC-16 catches every 1-bit error; a flipped COBS code
    // or delimiter breaks the framing): at least one bad span each, at most two (a new 0x00 splits a
    // frame), plus the frame cut when the port opened and the one cut by the reset above.
    expect(bad).toBeGreaterThanOrEqual(20);
    expect(bad).toBeLessThanOrEqual(42);
    expect(c.resyncs).toBeGreaterThanOrEqual(18);
    expect(c.gaps).toBeGreaterThanOrEqual(15);
    expect(c.lost).toBe(0);
  }, 120_000);
});
