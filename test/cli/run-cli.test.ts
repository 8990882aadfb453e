import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The installed command, as a user runs it: bin/rewardd.js over the compiled
 * dist/ (npm test builds first). These tests check the contract of the CLI:
 * help with defaults, one-line errors with a non-zero exit, and a clean
 * Ctrl-C that publishes the episode end and exits 0. No Node flags: bin/rewardd.js
 * adds its own (test/cli/relaunch.test.ts).
 */
const BIN = join(process.cwd(), 'bin', 'rewardd.js');
const dirs: string[] = [];
beforeAll(() => {
  if (!existsSync(join(process.cwd(), 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function rewardd(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('rewardd CLI', () => {
  it('documents every run option with its default', () => {
    const r = rewardd(['run', '--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--link', '--reward', '--policy', '--mqtt', '--hz', '--step-limit', '--broker-port', '--swap', '--reward-budget']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout.match(/\(default: /g)?.length).toBeGreaterThanOrEqual(20);
    expect(r.stdout).toContain('(default: 100)'); // --hz
  });

  it.each([
    [['run', '--hz', 'fast'], /E_CONFIG: --hz: expected a number, found "fast"/],
    [['run', '--hz', '5000'], /E_CONFIG: --hz: expected a rate in \[1, 2000\] Hz/],
    [['run', '--bogus'], /E_CONFIG: Unknown option '--bogus'/],
    [['run', '--reward', 'no/such/file.js'], /E_CONFIG: --reward: expected an existing file, found "no\/such\/file.js"/],
    [['run', '--link', 'usb'], /E_CONFIG: --link: expected sim, serial:<path>/],
    [['run', '--mqtt', 'localhost'], /E_CONFIG: --mqtt: expected a URL like mqtt:\/\/host:1883/],
    [['frobnicate'], /unknown verb "frobnicate"/],
  ])('rejects %j with one clear line and exit 2 (bad usage)', (args, message) => {
    const r = rewardd(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a reward file that does not compile, naming file and line', () => {
    const d = mkdtempSync(join(tmpdir(), 'rewardd-cli-'));
    dirs.push(d);
    const bad = join(d, 'broken.reward.js');
    writeFileSync(bad, 'export const meta = { name: "x", goal: "y", weights: { a: 1 } };\nexport function reward(obs) {\n  return { a: obs.range_front + };\n}\n');
    const r = rewardd(['run', '--reward', bad, '--broker-port', '0', '--state-dir', d, '--no-status']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/E_REWARD_COMPILE/);
    expect(r.stderr).toMatch(/broken\.reward\.js:3/);
  });

  it('runs the embedded default and exits 0 on Ctrl-C after publishing the episode end', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rewardd-cli-'));
    dirs.push(d);
    const child = spawn(process.execPath, [BIN, 'run', '--broker-port', '0', '--state-dir', d], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const t0 = performance.now();
    while (!/tick .* Hz/.test(out) && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    // Wait for a second status line, so the loop has really been running.
    while ((out.match(/tick /g) ?? []).length < 2 && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(err).toMatch(/embedded MQTT broker listening on mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/tick \d+\.\d Hz p99 err \d+ us \| ep 0 step \d+ \| reward -?\d+\.\d+ \(distance/);
    expect(out).toMatch(/mqtt up sent \d+ pending \d+/);
    // The running episode's end is published after the Ctrl-C: as "shutdown", or with the
    // episode's own reason when it ended on its own (success) at that very moment.
    const afterSigint = err.slice(err.indexOf('SIGINT: ending the episode cleanly'));
    expect(afterSigint).toMatch(/episode \S+ ended: (shutdown|success|step_limit|done) after \d+ steps/);
    expect(afterSigint).toMatch(/stopped after \d+ episodes/);
    expect(code).toBe(0);
  });

  it('a Ctrl-C while the daemon is still starting is not fatal: it says so, stops once up and exits 0', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rewardd-cli-'));
    dirs.push(d);
    const child = spawn(process.execPath, [BIN, 'run', '--broker-port', '0', '--state-dir', d], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // The broker line comes early in start-up, well before the control loop and the reward host are up.
    const t0 = performance.now();
    while (!/embedded MQTT broker listening/.test(err) && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGINT');
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    expect(exit, err).toEqual({ code: 0, signal: null });
    expect(err).toMatch(/SIGINT (while starting: stopping as soon as the daemon is up|: ending the episode cleanly)/);
    expect(err).toMatch(/stopped after \d+ episodes/);
  });
});
