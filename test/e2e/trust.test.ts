import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { normaliseRunConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { pushReward } from '../../src/cli/reward-push.js';
import { generateKeyPair, publicKeyLine, signEstopReset, signRewardPush } from '../../src/trust/index.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';

/**
 * Only trusted people change what the robot does, end to end through the
 * daemon: pushes must be signed by a key in <state-dir>/allowed_keys, the
 * signer is stamped on the episodes that use the version, and only a signed
 * (or local) reset clears the e-stop.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const url = process.env.MQTT_URL;

describe('signed reward pushes and e-stop resets in the running daemon', () => {
  it('accepts only signed pushes from allowed keys, stamps the signer, and guards the e-stop reset', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'rewardd-trust-'));
    dirs.push(stateDir);
    mkdirSync(stateDir, { recursive: true });
    const alice = generateKeyPair();
    const mallory = generateKeyPair();
    writeFileSync(join(stateDir, 'allowed_keys'), `${publicKeyLine(alice.publicKeyRaw, 'alice')}\n`);
    const prefix = `rewardd-test-${Math.random().toString(16).slice(2, 8)}/v1`;
    const cfg = normaliseRunConfig({ prefix, stateDir, status: false, watchReward: false, hz: 200, stepLimit: 200, swap: 'next-episode', ...(url ? { mqtt: url } : { brokerPort: 0 }) });
    const logs: string[] = [];
    const daemon = await startDaemon(cfg, { log: (l) => logs.push(l), status: () => {} });
    const cap = await captureEpisodes(daemon.mqttUrl, prefix);
    const original = readFileSync(cfg.reward, 'utf8');
    const tweaked = original.replace('heading: 0.3', 'heading: 0.31');
    try {
      await waitFor(() => [...cap.episodes.values()].some((e) => e.batches.length > 0), 20_000, 'steps');
      const base = { robot: 'rover', mqttUrl: daemon.mqttUrl, prefix, source: tweaked };
      expect(await pushReward(base)).toMatchObject({ ok: false, error: expect.stringMatching(/^unsigned: /) });
      expect(await pushReward({ ...base, privateKeyPem: mallory.privateKeyPem })).toMatchObject({ ok: false, error: expect.stringMatching(/^unknown_key: /) });
      // A replayed envelope: the same signed bytes twice.
      const env = JSON.stringify(signRewardPush({ source: tweaked, robot: 'rover', privateKeyPem: alice.privateKeyPem }));
      const c = await mqtt.connectAsync(daemon.mqttUrl, { reconnectPeriod: 0 });
      await c.publishAsync(`${prefix}/rover/reward/set`, env, { qos: 1 });
      await waitFor(() => logs.some((l) => /reward push accepted: version \w+ signed by/.test(l)), 15_000, 'the signed push accepted');
      await c.publishAsync(`${prefix}/rover/reward/set`, env, { qos: 1 });
      await waitFor(() => logs.some((l) => /reward push refused: replayed: /.test(l)), 10_000, 'the replay refused');
      // The next episode runs the new version and names its signer.
      await waitFor(() => [...cap.episodes.values()].some((e) => e.start?.reward.hash === shortHash(tweaked)), 15_000, 'an episode with the pushed version');
      const ep = [...cap.episodes.values()].find((e) => e.start?.reward.hash === shortHash(tweaked))!;
      expect(ep.start!.reward.signer).toBe(alice.fingerprint);
      const earlier = [...cap.episodes.values()].find((e) => e.start?.reward.hash === shortHash(original));
      if (earlier) expect(earlier.start!.reward.signer).toBeNull();

      // E-stop: anyone may stop; an unsigned or foreign-signed reset is refused; Alice's reset clears it.
      await c.publishAsync(`${prefix}/rover/estop`, 'stop', { qos: 1 });
      await waitFor(() => [...cap.episodes.values()].some((e) => e.end?.reason === 'estop'), 10_000, 'the e-stop');
      await c.publishAsync(`${prefix}/rover/estop`, 'reset', { qos: 1 });
      await c.publishAsync(`${prefix}/rover/estop`, JSON.stringify(signEstopReset({ robot: 'rover', privateKeyPem: mallory.privateKeyPem })), { qos: 1 });
      await waitFor(() => logs.filter((l) => /e-stop reset refused/.test(l)).length >= 2, 10_000, 'two refused resets');
      const n = cap.episodes.size;
      await new Promise((r) => setTimeout(r, 500));
      expect(cap.episodes.size).toBe(n);
      await c.publishAsync(`${prefix}/rover/estop`, JSON.stringify(signEstopReset({ robot: 'rover', privateKeyPem: alice.privateKeyPem, reason: 'field test resumes' })), { qos: 1 });
      await waitFor(() => cap.episodes.size > n, 10_000, 'a new episode after the signed reset');
      await c.endAsync();
    } finally {
      await daemon.stop();
      await cap.close();
    }
    expect(logs.some((l) => /e-stop reset over MQTT signed by/.test(l))).toBe(true);
  });
});
