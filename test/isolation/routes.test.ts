import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import { batchSteps } from '../../src/episode/batch-codec.js';
import { captureEpisodes, waitFor } from '../helpers/mqtt-capture.js';
import { DaemonProcess, rewarddAsync, rewarddSync } from './daemon-process.js';
import { HOSTILE, type HostileProgram } from './hostile-programs.js';

/**
 * Every hostile program through every route a reward program takes into a
 * robot, against real processes: `rewardd reward check`, a signed
 * `rewardd reward push`, a raw push from mosquitto_rr under --auth open, and
 * an edit of the watched reward file. Early programs must be refused with
 * their reason; late ones (good for a dry run, bad later) are accepted and
 * must be rolled back with their reason published. Throughout, both daemon
 * processes stay alive and log every step with no sequence gap.
 */
// mosquitto_rr speaks MQTT 5 only, which the embedded broker (aedes, 3.1.1) does not: without MQTT_URL these
// daemons use the local Mosquitto that `npm test` needs anyway (README), not the embedded broker.
const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const HZ = 1000;
const dirs: string[] = [];
const tmp = (p: string): string => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

let keyFile = '';
let watched = '';
let progDir = '';
let signed: DaemonProcess;
let open: DaemonProcess;
const prefixS = `hostile-s-${Math.random().toString(16).slice(2, 8)}/v1`;
const prefixO = `hostile-o-${Math.random().toString(16).slice(2, 8)}/v1`;
let capS: Awaited<ReturnType<typeof captureEpisodes>>;
let capO: Awaited<ReturnType<typeof captureEpisodes>>;
const original = readFileSync('rewards/reach-beacon.reward.js', 'utf8');
const fileOf = (h: HostileProgram): string => join(progDir, `${h.name}.reward.js`);
/** Steps received so far: the batches' counts (polled every 25 ms; decoding ~500 k records per poll cost the suite ~20 s of CPU). */
const stepCount = (cap: typeof capS): number => [...cap.episodes.values()].reduce((n, e) => e.batches.reduce((m, b) => m + b.count, n), 0);
const activeEvents = (cap: typeof capS, prefix: string): Array<Record<string, unknown>> =>
  (cap.other.get(`${prefix}/rover/reward/active`) ?? []).map((b) => JSON.parse(b.toString()) as Record<string, unknown>);

/**
 * Waits until the version was rolled back or lost (published on reward/active) after the first `since`
 * events, and returns that event. (The signed push and the watched file both reach the signed daemon:
 * without `since`, the watched file's late program would find the rollback of the signed push's.)
 */
async function retired(cap: typeof capS, prefix: string, version: string, since: number): Promise<Record<string, unknown>> {
  let ev: Record<string, unknown> | undefined;
  await waitFor(() => (ev = activeEvents(cap, prefix).slice(since).find((e) => (e.type === 'rolled-back' && e.from === version) || (e.type === 'lost' && e.version === version))) !== undefined, 60_000, `version ${version} to be rolled back`);
  return ev!;
}

/** What each route did with each program: the suite's artefact (test-artifacts/isolation-routes.txt). */
const outcomes: string[] = [];
const said = (route: string, h: HostileProgram, what: string): void => void outcomes.push(`${route.padEnd(12)} ${h.name.padEnd(28)} ${what.replace(/\s+/g, ' ').slice(0, 240)}`);

beforeAll(async () => {
  const keys = tmp('rewardd-iso-keys-');
  expect(rewarddSync(['keys', 'new', '--out', keys, '--name', 'ci']).status).toBe(0);
  keyFile = join(keys, 'ci.key');
  progDir = tmp('rewardd-iso-progs-');
  for (const h of HOSTILE) writeFileSync(fileOf(h), h.source);
  const stateS = tmp('rewardd-iso-s-');
  appendFileSync(join(stateS, 'allowed_keys'), readFileSync(join(keys, 'ci.pub'), 'utf8'));
  watched = join(tmp('rewardd-iso-w-'), 'reach.reward.js');
  copyFileSync('rewards/reach-beacon.reward.js', watched);
  // Two daemons at 1 kHz that sleep between ticks and never spin (--tick-spin 0): the suite runs
  // beside others, and their timing is not what it tests.
  const common = ['--hz', String(HZ), '--tick-spin', '0', '--step-limit', '100000', '--rollback-after', '20'];
  [signed, open] = await Promise.all([
    DaemonProcess.start([...common, '--prefix', prefixS, '--state-dir', stateS, '--reward', watched, '--watch-reward'], url),
    DaemonProcess.start([...common, '--prefix', prefixO, '--state-dir', tmp('rewardd-iso-o-'), '--auth', 'open'], url),
  ]);
  capS = await captureEpisodes(signed.mqttUrl, prefixS);
  capO = await captureEpisodes(open.mqttUrl, prefixO);
  // The dry run replays the last 1000 logged steps: let both daemons log that many first.
  await waitFor(() => stepCount(capS) > 1200 && stepCount(capO) > 1200, 30_000, 'recent steps for the dry run');
}, 120_000);

afterAll(async () => {
  // The daemons' logs are the suite's artefact: what each route did with each program.
  mkdirSync('test-artifacts', { recursive: true });
  if (signed) writeFileSync('test-artifacts/isolation-signed-daemon.log', signed.log);
  writeFileSync('test-artifacts/isolation-routes.txt', outcomes.sort().join('\n') + '\n');
  if (open) writeFileSync('test-artifacts/isolation-open-daemon.log', open.log);
  await capS?.close();
  await capO?.close();
  await signed?.stop();
  await open?.stop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('hostile reward programs, through every route, against running processes', () => {
  it('has at least 20 programs covering memory, time, stack, output traps and escapes, early and late', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(20);
    for (const k of ['memory', 'time', 'stack', 'output', 'escape']) expect(HOSTILE.some((h) => h.kind === k)).toBe(true);
    expect(HOSTILE.filter((h) => h.late).length).toBeGreaterThanOrEqual(4);
  });

  // The three routes that need no shared state run at once (two daemons, CLI processes beside them).
  it('reward check, signed push and raw push (mosquitto_rr, --auth open), each program through each', async () => {
    const timed = async (name: string, route: () => Promise<void>): Promise<void> => {
      const t0 = performance.now();
      await route();
      outcomes.push(`~ ${name} route took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    };
    await Promise.all([timed('check', checkRoute), timed('signed-push', signedRoute), timed('raw-push', rawRoute)]);
    expect(signed.alive).toBe(true);
    expect(open.alive).toBe(true);
  }, 600_000);

  it('watched-file swap: the same, with the reason in the daemon log', async () => {
    for (const h of HOSTILE) {
      const before = signed.log.length;
      const since = activeEvents(capS, prefixS).length;
      writeFileSync(watched, h.source);
      await waitFor(() => /reward file reach\.reward\.js changed(: version [0-9a-f]+ accepted| but was rejected: )/.test(signed.log.slice(before)), 30_000, `the daemon's verdict on ${h.name}`);
      const verdict = signed.log.slice(before);
      if (!h.late) {
        expect(verdict, h.name).toMatch(/changed but was rejected: .*E_REWARD_[A-Z]+: /);
        said('watched-file', h, `rejected: ${/(E_REWARD_[A-Z]+: [^\n]*)/.exec(verdict)?.[1] ?? ''}`);
        continue;
      }
      expect(verdict, h.name).toMatch(new RegExp(`version ${shortHash(h.source)} accepted`));
      const ev = await retired(capS, prefixS, shortHash(h.source), since);
      said('watched-file', h, `accepted, then ${String(ev.type)} (${String(ev.cause)}): ${String(ev.lastReason)}`);
    }
    const before = signed.log.length;
    writeFileSync(watched, original);
    await waitFor(() => signed.log.slice(before).includes(`version ${shortHash(original)} accepted`), 30_000, 'the original file accepted again');
  }, 400_000);

  it('afterwards: both daemons alive, every episode logged without a gap, the bad versions gone, their reasons logged', async () => {
    expect(signed.alive).toBe(true);
    expect(open.alive).toBe(true);
    for (const [d, cap, prefix] of [[signed, capS, prefixS], [open, capO, prefixO]] as const) {
      const n = stepCount(cap);
      await waitFor(() => stepCount(cap) > n + 200, 20_000, 'steps still flowing');
      for (const ep of cap.episodes.values()) {
        if (!ep.start) continue; // begun before the capture subscribed
        const seqs = ep.batches.flatMap((b) => [...batchSteps(b)].map((s) => s.seq)).sort((a, b) => a - b);
        expect(seqs, `episode ${ep.start?.episode}`).toEqual(seqs.map((_, i) => i));
      }
      expect(d.log).not.toMatch(/control thread failed/);
      // Every late program was retired with a reason, in the log and on reward/active.
      for (const h of HOSTILE.filter((x) => x.late)) {
        expect(d.log, h.name).toMatch(new RegExp(`reward version ${shortHash(h.source)} (rolled back|lost)`));
        expect(d.log, h.name).toMatch(new RegExp(`reward v${shortHash(h.source)} failed in episode \\S+ \\(\\w+\\): E_REWARD_`));
      }
      // No hostile version is active now.
      const last = activeEvents(cap, prefix).at(-1)!;
      const hostile = new Set(HOSTILE.map((h) => shortHash(h.source)));
      expect(hostile.has(String(last.type === 'activated' ? last.version : last.to ?? last.restoring))).toBe(false);
    }
  }, 60_000);
});

/** reward check: each is a diagnostic with its cause and exit 1, never a crash or a V8 dump. */
async function checkRoute(): Promise<void> {
  for (const h of HOSTILE) {
    const r = await rewarddAsync(['reward', 'check', fileOf(h)]);
    const all = r.stdout + r.stderr;
    expect(all, h.name).not.toMatch(/Last few GCs|JS stacktrace|FATAL ERROR|Segmentation fault|core dumped/);
    // The check replays more steps than a dry run, so even the late programs are caught here.
    expect(r.status, `${h.name}: ${all}`).toBe(1);
    expect(all, h.name).toMatch(/error E_REWARD_[A-Z]+: /);
    said('check', h, `exit ${r.status}: ${/error (E_REWARD_[A-Z]+: .*)/.exec(all)?.[1] ?? ''}`);
  }
}

/** Signed push: early programs are refused with the reason; late ones are rolled back with it published. */
async function signedRoute(): Promise<void> {
  for (const h of HOSTILE) {
    const since = activeEvents(capS, prefixS).length;
    const r = await rewarddAsync(['reward', 'push', fileOf(h), '--robot', 'rover', '--mqtt', signed.mqttUrl, '--prefix', prefixS, '--key', keyFile, '--timeout', '30']);
    if (!h.late) {
      expect(r.status, `${h.name}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr, h.name).toMatch(/rejected by rover: .*E_REWARD_[A-Z]+: /);
      said('signed-push', h, `refused: ${/(E_REWARD_[A-Z]+: .*)/.exec(r.stderr)?.[1] ?? ''}`);
      continue;
    }
    expect(r.status, `${h.name}: ${r.stdout}${r.stderr}`).toBe(0);
    const ev = await retired(capS, prefixS, shortHash(h.source), since);
    expect(['out_of_memory', 'timeout', 'crashed', 'failures']).toContain(ev.cause);
    expect(String(ev.lastReason)).toMatch(/^E_REWARD_/);
    said('signed-push', h, `accepted, then ${String(ev.type)} (${String(ev.cause)}): ${String(ev.lastReason)}`);
  }
}

/** Raw push from mosquitto_rr (MQTT 5, --auth open): the same, with the reply on the response topic. */
async function rawRoute(): Promise<void> {
  const u = new URL(open.mqttUrl);
  for (const [i, h] of HOSTILE.entries()) {
    const since = activeEvents(capO, prefixO).length;
    const reply = await mosquittoRr(u.hostname, u.port, `${prefixO}/rover/reward/set`, `${prefixO}/reply/${i}`, h.source);
    if (!h.late) {
      expect(reply, h.name).toMatchObject({ ok: false });
      expect(String(reply.error), h.name).toMatch(/E_REWARD_[A-Z]+: /);
      said('raw-push', h, `refused: ${String(reply.error)}`);
      continue;
    }
    expect(reply, h.name).toMatchObject({ ok: true, version: shortHash(h.source) });
    const ev = await retired(capO, prefixO, shortHash(h.source), since);
    expect(['out_of_memory', 'timeout', 'crashed', 'failures']).toContain(ev.cause);
    said('raw-push', h, `accepted, then ${String(ev.type)} (${String(ev.cause)}): ${String(ev.lastReason)}`);
  }
}

/** mosquitto_rr (Debian's mosquitto-clients) as the client: -m with the source (its -f sends an empty message in 2.0.11). */
function mosquittoRr(host: string, port: string, topic: string, responseTopic: string, source: string): Promise<Record<string, unknown>> {
  if (!existsSync('/usr/bin/mosquitto_rr')) throw new Error('mosquitto_rr is missing: apt-get install mosquitto-clients (.ci/run does)');
  return new Promise((resolve, reject) => {
    const c = spawn('mosquitto_rr', ['-h', host, '-p', port, '-V', '5', '-t', topic, '-e', responseTopic, '-q', '1', '-W', '30', '-m', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch {
        reject(new Error(`mosquitto_rr exited ${code}: ${out}${err}`));
      }
    });
  });
}
