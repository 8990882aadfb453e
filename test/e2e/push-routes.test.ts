import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { DaemonProcess, rewarddAsync, rewarddSync } from '../isolation/daemon-process.js';

/**
 * The documented push routes, each with a client nobody here wrote where one
 * exists: `rewardd reward push` of a .ts and a .js file to a signed robot, and
 * mosquitto_rr (MQTT 5, response topic + correlation data) sending the raw
 * source to an --auth open robot, TypeScript detected or named in a user
 * property. Both daemons are real processes.
 */
// mosquitto_rr speaks MQTT 5 only, which the embedded broker (aedes, 3.1.1) does not: without MQTT_URL these
// daemons use the local Mosquitto that `npm test` needs anyway (README), not the embedded broker.
const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
const TS = 'rewards/smooth-efficient.reward.ts';
const JS = 'rewards/explore-safely.reward.js';
let signed: DaemonProcess;
let open: DaemonProcess;
let key = '';
const ps = `push-s-${Math.random().toString(16).slice(2, 8)}/v1`;
const po = `push-o-${Math.random().toString(16).slice(2, 8)}/v1`;

beforeAll(async () => {
  const keys = tmp('rewardd-push-keys-');
  expect(rewarddSync(['keys', 'new', '--out', keys, '--name', 'ci']).status).toBe(0);
  key = join(keys, 'ci.key');
  const state = tmp('rewardd-push-s-');
  appendFileSync(join(state, 'allowed_keys'), readFileSync(join(keys, 'ci.pub'), 'utf8'));
  const common = ['--hz', '200', '--dry-run-steps', '200'];
  [signed, open] = await Promise.all([
    DaemonProcess.start([...common, '--prefix', ps, '--state-dir', state, '--no-watch-reward'], url),
    DaemonProcess.start([...common, '--prefix', po, '--state-dir', tmp('rewardd-push-o-'), '--auth', 'open', '--no-watch-reward'], url),
  ]);
  // Let the dry run have logged steps to replay.
  await new Promise((r) => setTimeout(r, 2000));
}, 120_000);

afterAll(async () => {
  await signed?.stop();
  await open?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function rr(daemon: DaemonProcess, prefix: string, payload: string, extra: string[] = []): Promise<{ code: number | null; out: string }> {
  const u = new URL(daemon.mqttUrl);
  return new Promise((resolve) => {
    const c = spawn('mosquitto_rr', ['-h', u.hostname, '-p', u.port, '-V', '5', '-t', `${prefix}/rover/reward/set`, '-e', `${prefix}/reply/${Math.random().toString(16).slice(2)}`, '-W', '30', ...extra, '-m', payload], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', (code) => resolve({ code, out }));
  });
}

describe('reward push routes', () => {
  it('rewardd reward push --key: a TypeScript file and a JavaScript file are both accepted by a signed robot', async () => {
    for (const file of [TS, JS]) {
      const r = await rewarddAsync(['reward', 'push', file, '--robot', 'rover', '--mqtt', signed.mqttUrl, '--prefix', ps, '--key', key]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`accepted by rover: version ${shortHash(readFileSync(file, 'utf8'))}`);
    }
    expect(signed.log).toMatch(new RegExp(`reward push accepted: version ${shortHash(readFileSync(TS, 'utf8'))} signed by [0-9a-f]{16}`));
  }, 90_000);

  it('mosquitto_rr -m with the raw source (--auth open): JavaScript, TypeScript detected, and TypeScript named in a user property', async () => {
    const js = await rr(open, po, readFileSync(JS, 'utf8'));
    expect(JSON.parse(js.out)).toMatchObject({ ok: true, version: shortHash(readFileSync(JS, 'utf8')) });
    const ts = await rr(open, po, readFileSync(TS, 'utf8'));
    expect(JSON.parse(ts.out)).toMatchObject({ ok: true, version: shortHash(readFileSync(TS, 'utf8')) });
    const named = readFileSync(TS, 'utf8').replace('smooth', 'smooth (named)');
    const r = await rr(open, po, named, ['-D', 'PUBLISH', 'user-property', 'language', 'ts']);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, version: shortHash(named) });
  }, 90_000);

  it('an unsigned envelope whose filename is a path is refused, as a signed one is (--auth open)', async () => {
    const env = JSON.stringify({ source: readFileSync(TS, 'utf8'), filename: '../../etc/x.ts' });
    const r = await rr(open, po, env);
    const reply = JSON.parse(r.out) as { ok: boolean; error: string };
    expect(reply.ok).toBe(false);
    expect(reply.error).toBe('E_CONFIG: field "filename": expected a base name of [A-Za-z0-9_.+-] (at most 200 chars), found "../../etc/x.ts"');
    const good = await rr(open, po, JSON.stringify({ source: readFileSync(TS, 'utf8'), filename: 'smooth-efficient.reward.ts' }));
    expect(JSON.parse(good.out)).toMatchObject({ ok: true, version: shortHash(readFileSync(TS, 'utf8')) });
  }, 60_000);

  it('an empty message (what mosquitto_rr 2.0.11 sends for -f and -s) gets a reply that says so', async () => {
    const r = await rr(open, po, '');
    const reply = JSON.parse(r.out) as { ok: boolean; error: string };
    expect(reply.ok).toBe(false);
    expect(reply.error).toMatch(/^E_REWARD_SOURCE: reward\/set: expected a reward program's source text, found an empty message .*use -m "\$\(cat FILE\)"/);
  }, 30_000);

  it('a TypeScript source with a type error in runtime code is refused with its line in the .ts file', async () => {
    const broken = readFileSync(TS, 'utf8').replace('export const meta', 'const oops: number = ;\nexport const meta');
    const r = await rr(open, po, broken);
    const reply = JSON.parse(r.out) as { ok: boolean; error: string };
    expect(reply.ok).toBe(false);
    expect(reply.error).toMatch(/E_REWARD_COMPILE/);
    expect(reply.error).toMatch(/reward-set\.ts:\d+/);
  }, 30_000);
});
