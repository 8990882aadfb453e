import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetyFlag, type StepRecord } from '../../src/core/records.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { sendArm } from '../../src/cli/arm.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';
import { operator, writeAllowed } from '../trust/helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const url = process.env.MQTT_URL;

describe('arming the running daemon (--arm command)', () => {
  it('moves nothing until a signed arm, refuses an unsigned one, and holds the actuators again after a disarm', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-arm-'));
    dirs.push(stateDir);
    const alice = operator('alice');
    writeAllowed(join(stateDir, 'allowed_keys'), [alice]);
    const prefix = `rewardd-test-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({ prefix, stateDir, status: false, watchReward: false, hz: 200, arm: 'command', ...(url ? { mqtt: url } : { brokerPort: 0 }) });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    const steps = (): StepRecord[] =>
      [...cap.episodes.values()].flatMap((e) => [...e.batches].sort((a, b) => a.seq0 - b.seq0).flatMap((b) => [...batchSteps(b)]));
    const send = (action: 'arm' | 'disarm', key?: string) =>
      sendArm({ action, mqtt: daemon.mqttUrl, robot: 'rover', prefix, reason: `test ${action}`, timeoutMs: 5000, ...(key ? { privateKeyPem: key } : {}) });
    const disarmed = (s: StepRecord) => (s.safety & SafetyFlag.disarmed) !== 0;
    try {
      // Disarmed from the start: the policy commands, the filter applies the stop values.
      await waitFor(() => steps().length > 100, 20_000, 'steps');
      const before = steps();
      expect(before.every(disarmed)).toBe(true);
      expect(before.every((s) => Array.from(s.actionApplied).every((a) => a === 0))).toBe(true);
      expect(before.some((s) => Array.from(s.actionCommanded).some((a) => a !== 0))).toBe(true);

      // An unsigned arm is refused (the daemon runs --auth signed): still disarmed.
      await send('arm');
      await waitFor(() => logs.some((l) => l.startsWith('arm refused: unsigned')), 5000, 'the refusal in the log');
      const n = steps().length;
      await waitFor(() => steps().length > n + 50, 10_000, 'more steps');
      expect(steps().slice(n).every(disarmed)).toBe(true);

      // A signed arm from an allowed key: actions reach the actuators.
      await send('arm', alice.privateKeyPem);
      await waitFor(() => steps().some((s) => !disarmed(s) && Array.from(s.actionApplied).some((a) => a !== 0)), 10_000, 'armed steps that move');
      expect(logs.some((l) => l.includes('signed by') && l.startsWith('arm over MQTT'))).toBe(true);

      // A disarm needs no key: the actuators are held again.
      const armedAt = steps().length;
      await send('disarm');
      await waitFor(() => steps().slice(armedAt).some(disarmed), 10_000, 'disarmed steps');
      const m = steps().length;
      await waitFor(() => steps().length > m + 50, 10_000, 'more steps');
      const after = steps().slice(m);
      expect(after.every(disarmed)).toBe(true);
      expect(after.every((s) => Array.from(s.actionApplied).every((a) => a === 0))).toBe(true);
    } finally {
      await daemon.stop();
      await cap.close();
    }
  });
});
