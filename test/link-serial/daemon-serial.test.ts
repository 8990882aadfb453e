import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StepFlag } from '../../src/core/records.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { HostFirmware } from '../../src/link/serial-firmware-sim.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';
import { uniqueLinkPath } from './harness.js';

/**
 * Firmware in the loop, whole daemon: `rewardd run --link serial:<pty>`
 * against the host build of the rover firmware for a few seconds. Every step
 * is logged, and the link saw no lost or corrupted frame.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('rewardd run over the serial link to the host firmware', () => {
  it('runs for seconds with every step logged and no frame lost', async () => {
    const path = uniqueLinkPath();
    const fw = await HostFirmware.start({ rateHz: 200, linkPath: path });
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-fil-'));
    dirs.push(stateDir);
    const prefix = `rewardd-fil-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({
      // One episode after another (no reset phase): this test is about the link carrying every step.
      link: `serial:${path}`, hz: 100, stepLimit: 150, duration: 4, prefix, stateDir, status: false, watchReward: false, brokerPort: 0, reset: 'immediate',
    });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    try {
      await daemon.done;
      await waitFor(() => [...cap.episodes.values()].some((e) => e.end && e.end.reason === 'shutdown'), 10_000, 'the final end record');
    } finally {
      await daemon.stop();
      await cap.close();
      await fw.stop('SIGKILL');
    }
    const eps = [...cap.episodes.values()].filter((e) => e.start && e.end && e.batches.length > 0 && Math.min(...e.batches.map((b) => b.seq0)) === 0);
    expect(eps.length).toBeGreaterThanOrEqual(1);
    let total = 0;
    for (const ep of eps) {
      const steps = ep.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]);
      expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i));
      expect(steps.length).toBe(ep.end!.steps);
      expect(steps.filter((s) => s.flags & StepFlag.last)).toHaveLength(1);
      total += steps.length;
    }
    expect(total).toBeGreaterThan(200); // ~4 s at 100 Hz
    const last = eps.at(-1)!.end! as unknown as { linkCounters?: Record<string, number> };
    expect(last.linkCounters).toBeDefined();
    expect(last.linkCounters).toMatchObject({ oversize: 0, lost: 0, gaps: 0 });
    // Opening the port lands mid-way through the firmware's backlog: at most that one cut frame is bad.
    expect(last.linkCounters!.crcErrors! + last.linkCounters!.malformed!).toBeLessThanOrEqual(1);
    expect(last.linkCounters!.frames).toBeGreaterThan(500);
    expect(logs.some((l) => /control thread failed|link lost/.test(l))).toBe(false);
  }, 30_000);

  it('firmware killed mid-run: episode ends as link_lost, the link comes back to the rebooted firmware, and nothing moves until re-armed', async () => {
    const path = uniqueLinkPath();
    let fw = await HostFirmware.start({ rateHz: 200, linkPath: path, bootId: 0xaaaa });
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-fil-'));
    dirs.push(stateDir);
    const prefix = `rewardd-fil-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({
      link: `serial:${path}`, hz: 100, stepLimit: 1000, duration: 6, prefix, stateDir, status: false, watchReward: false, brokerPort: 0,
    });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    try {
      // A real link is never armed by the daemon on its own: the operator arms it (here, the daemon's command).
      const armed = fw.waitFor(/^event armed/, 8000, true);
      const arming = setInterval(() => daemon.command({ type: 'arm' }), 200);
      await armed.finally(() => clearInterval(arming));
      await new Promise((r) => setTimeout(r, 700));
      const moving = await fw.stats();
      await fw.stop('SIGKILL');
      await waitFor(() => [...cap.episodes.values()].some((e) => e.end?.reason === 'link_lost'), 5000, 'an episode ended as link_lost');
      fw = await HostFirmware.start({ rateHz: 200, linkPath: path, bootId: 0xbbbb });
      await waitFor(() => logs.some((l) => /rebooted/i.test(l)), 8000, 'the daemon to report the MCU reboot');
      await new Promise((r) => setTimeout(r, 700));
      const after = await fw.stats();
      expect(moving.applied).toBeGreaterThan(0); // commands were reaching the first firmware
      expect(after).toMatchObject({ applied: 0, armed: 0, motors: 0 }); // none reach the rebooted one
      expect(fw.lines.some((l) => l.startsWith('event armed'))).toBe(false);
      await daemon.done;
    } finally {
      await daemon.stop();
      await cap.close();
      await fw.stop('SIGKILL');
    }
  }, 40_000);
});
