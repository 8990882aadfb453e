import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetyFlag } from '../../src/core/records.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';
import { sendEstop } from '../../src/cli/estop.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const url = process.env.MQTT_URL;

describe('e-stop in the running daemon', () => {
  it('stops on an MQTT e-stop, starts no episode while latched, stays latched across a restart, resumes after a local reset through the latch file', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-estop-'));
    dirs.push(stateDir);
    const prefix = `rewardd-test-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({ prefix, stateDir, status: false, watchReward: false, hz: 200, ...(url ? { mqtt: url } : { brokerPort: 0 }) });
    const logs: string[] = [];
    let daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    let cap = await captureEpisodes(daemon.mqttUrl, prefix);
    try {
      await waitFor(() => [...cap.episodes.values()].some((e) => e.batches.length > 2), 20_000, 'steps');
      const c = await mqtt.connectAsync(daemon.mqttUrl, { reconnectPeriod: 0 });
      await c.publishAsync(`${prefix}/rover/estop`, JSON.stringify({ action: 'stop', reason: 'test: hand on the big red button' }), { qos: 1 });
      await c.endAsync();
      await waitFor(() => [...cap.episodes.values()].some((e) => e.end?.reason === 'estop'), 10_000, 'an episode ended by the e-stop');
      const starts = [...cap.episodes.values()].filter((e) => e.start).length;
      await new Promise((r) => setTimeout(r, 1000));
      expect([...cap.episodes.values()].filter((e) => e.start).length).toBe(starts);
      const ep = [...cap.episodes.values()].find((e) => e.end?.reason === 'estop')!;
      const last = ep.batches.sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]).at(-1)!;
      expect(last.safety & SafetyFlag.estop).toBe(SafetyFlag.estop);
      expect(Array.from(last.actionApplied)).toEqual([0, 0]);
    } finally {
      await daemon.stop();
      await cap.close();
    }

    // Restart on the same state folder: still latched, nothing starts.
    daemon = await startDaemon({ ...cfg, brokerPort: 0 }, { log: (l) => logs.push(l), status: () => {} });
    cap = await captureEpisodes(daemon.mqttUrl, prefix);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect([...cap.episodes.values()].filter((e) => e.start)).toHaveLength(0);
      // A local action on the robot: `rewardd estop reset` rewrites the latch file, the daemon follows it.
      await sendEstop({ action: 'reset', reason: 'operator on site', latchFile: join(stateDir, 'estop.json'), mqtt: null, robot: 'rover', prefix, timeoutMs: 1000 });
      await waitFor(() => [...cap.episodes.values()].some((e) => e.batches.length > 0), 10_000, 'steps after the reset');
    } finally {
      await daemon.stop();
      await cap.close();
    }
  });
});
