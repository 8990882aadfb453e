import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../helpers/temp.js';
import { requireBuild, rewardd, rewarddAsync, startCli, type CliProcess } from './bin.js';

/**
 * `rewardd estop --mqtt` against a real running daemon (`rewardd run --auth signed`, built
 * binary) on Mosquitto (MQTT 5: the verdict comes on a response topic) and on the daemon's
 * embedded aedes broker (MQTT 3.1.1: the verdict comes on estop/result, matched by correlation).
 * The robot refuses an unsigned reset and says why; `--key` signs it.
 */
const MOSQUITTO = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const tmp = tempDirs();
let keyDir = '';
let fingerprint = '';

beforeAll(() => {
  requireBuild();
  keyDir = tmp('rewardd-estop-keys-');
  const k = rewardd(['keys', 'new', '--out', keyDir, '--name', 'alice']);
  expect(k.status).toBe(0);
  fingerprint = k.stdout.trim();
});

async function startRobot(mqtt: 'mosquitto' | 'embedded'): Promise<{ daemon: CliProcess; url: string; prefix: string; stateDir: string }> {
  const stateDir = tmp('rewardd-estop-robot-');
  appendFileSync(join(stateDir, 'allowed_keys'), readFileSync(join(keyDir, 'alice.pub')));
  const prefix = `rewardd-estop-${Math.random().toString(16).slice(2, 8)}/v1`;
  const args = ['run', '--auth', 'signed', '--prefix', prefix, '--state-dir', stateDir, '--no-status', '--dashboard-port', 'off', '--hz', '50'];
  const daemon = startCli(mqtt === 'mosquitto' ? [...args, '--mqtt', MOSQUITTO] : [...args, '--broker-port', '0', '--broker-ws-port', 'off']);
  await daemon.waitFor(/running rover/, 'the daemon to start');
  const url = mqtt === 'mosquitto' ? MOSQUITTO : /embedded MQTT broker listening on (mqtt:\/\/\S+)/.exec(daemon.err())![1]!;
  return { daemon, url, prefix, stateDir };
}

describe.each([['Mosquitto (MQTT 5)', 'mosquitto'], ['the embedded broker (MQTT 3.1.1)', 'embedded']] as const)('rewardd estop --mqtt against a running robot on %s', (_name, broker) => {
  let robot: Awaited<ReturnType<typeof startRobot>>;
  beforeAll(async () => {
    robot = await startRobot(broker);
  });
  afterAll(async () => {
    expect(await robot?.daemon.stop()).toBe(0);
  });

  it('stop: applied (exit 0); unsigned reset: refused with the reason (exit 1); signed reset: applied (exit 0)', async () => {
    const cliDir = tmp('rewardd-estop-cli-'); // the CLI's own latch file lands here, not in the robot's state folder
    const common = ['--mqtt', robot.url, '--prefix', robot.prefix, '--state-dir', join(cliDir, 'state'), '--timeout-ms', '10000'];
    const stop = await rewarddAsync(['estop', 'stop', ...common, '--reason', 'test: hand on the button']);
    expect(stop.stderr).toBe('');
    expect(stop.status).toBe(0);
    expect(stop.stdout).toMatch(new RegExp(`stop published on ${robot.prefix}/rover/estop and applied by robot "rover"`));
    await robot.daemon.waitFor(/e-stop over MQTT: test: hand on the button/, 'the robot to log the stop');

    const unsigned = await rewarddAsync(['estop', 'reset', ...common]);
    expect(unsigned.status).toBe(1);
    expect(unsigned.stdout).toBe('');
    expect(unsigned.stderr.trim().split('\n')).toHaveLength(1);
    expect(unsigned.stderr).toMatch(/^rewardd estop: robot "rover" refused the reset: unsigned: e-stop reset: expected a signed envelope .*sign with --key.*found JSON without "sig" and "key"\n$/);
    await robot.daemon.waitFor(/e-stop reset refused: unsigned/, 'the robot to log the refusal');
    expect(robot.daemon.err()).not.toMatch(/e-stop reset over MQTT/);

    const signed = await rewarddAsync(['estop', 'reset', ...common, '--key', join(keyDir, 'alice.key')]);
    expect(signed.stderr).toBe('');
    expect(signed.status).toBe(0);
    expect(signed.stdout).toContain(`reset published on ${robot.prefix}/rover/estop and applied by robot "rover" (signed by key ${fingerprint})`);
    await robot.daemon.waitFor(new RegExp(`e-stop reset over MQTT signed by ${fingerprint}`), 'the robot to log the signed reset');
  });

  it('says so, with exit 1, when no robot answers (wrong --robot)', async () => {
    const cliDir = tmp('rewardd-estop-cli-');
    const r = await rewarddAsync(['estop', 'stop', '--mqtt', robot.url, '--prefix', robot.prefix, '--robot', 'rover-b', '--state-dir', cliDir, '--timeout-ms', '1500']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/stop published on \S+\/rover-b\/estop, but robot "rover-b" gave no verdict within 1500 ms/);
  });
});

describe('rewardd estop usage', () => {
  it('refuses a key for a stop, and a key without --mqtt, with exit 2 and one line', () => {
    const d = tmp('rewardd-estop-usage-');
    const stop = rewardd(['estop', 'stop', '--mqtt', 'mqtt://127.0.0.1:1', '--key', 'k.key', '--state-dir', d]);
    expect(stop.status).toBe(2);
    expect(stop.stderr).toBe('rewardd estop: --key: a stop is never signed (anyone may stop the robot)\n');
    const local = rewardd(['estop', 'reset', '--key', 'k.key', '--state-dir', d]);
    expect(local.status).toBe(2);
    expect(local.stderr.trim().split('\n')).toHaveLength(1);
    expect(rewardd(['estop', '--help']).stdout).toMatch(/--key FILE +reset: ed25519 private key/);
  });
});
