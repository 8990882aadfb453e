import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `node bin/rewardd.js` with no flags: the entry point runs itself again with
 * rewardd's Node flags (src/core/relaunch.ts). Node 22.15+ and 24 replace the
 * process in place (same pid); Node 20 keeps a parent that passes signals on.
 * Both are real processes here; the Ctrl-C test types into a real pty.
 */
const PROBE = join(process.cwd(), 'test', 'cli', 'fixtures', 'relaunch-probe.mjs');
const BIN = join(process.cwd(), 'bin', 'rewardd.js');
const inPlace = typeof (process as { execve?: unknown }).execve === 'function';
// As a user's shell starts it: no rewardd flags anywhere.
const env = { ...process.env, NODE_OPTIONS: '' };
const dirs: string[] = [];
type Report = { pid: number; execArgv: string[]; marker: string | null; args: string[] };
const report = (stdout: string): Report => JSON.parse(stdout.split('\n')[0] ?? '') as Report;

beforeAll(() => {
  if (!existsSync(join(process.cwd(), 'dist', 'src', 'core', 'relaunch.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('relaunch with rewardd Node flags', () => {
  it('runs the script once with the flags, its own arguments and Node options, and its exit status', () => {
    const r = spawnSync(process.execPath, ['--max-old-space-size=300', PROBE, 'exit', '3'], { encoding: 'utf8', env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    const got = report(r.stdout);
    expect(got.execArgv).toEqual(['--no-node-snapshot', '--max-old-space-size=300']);
    expect(got.args).toEqual(['exit', '3']);
    expect(got.marker).toBeNull(); // removed, so what the program spawns relaunches too
    if (inPlace) expect(got.pid).toBe(r.pid);
    else expect(got.pid).not.toBe(r.pid);
  });

  it('does nothing when the flags are already there, on the command line or in NODE_OPTIONS', () => {
    const direct = spawnSync(process.execPath, ['--no-node-snapshot', PROBE, 'exit', '0'], { encoding: 'utf8', env });
    expect(report(direct.stdout)).toMatchObject({ pid: direct.pid, execArgv: ['--no-node-snapshot'] });
    const viaEnv = spawnSync(process.execPath, [PROBE, 'exit', '0'], { encoding: 'utf8', env: { ...env, NODE_OPTIONS: '--no-node-snapshot' } });
    expect(report(viaEnv.stdout)).toMatchObject({ pid: viaEnv.pid, execArgv: [] });
  });

  it('passes SIGTERM sent to the started pid on to the program', async () => {
    const child = spawn(process.execPath, [PROBE, 'wait', 'SIGTERM'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const t0 = performance.now();
    while (!out.includes('\n') && performance.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect(out).toContain('got SIGTERM');
    expect([code, signal]).toEqual([0, null]);
  });

  it('dies of the signal the program died of', () => {
    const r = spawnSync(process.execPath, [PROBE, 'die', 'SIGTERM'], { encoding: 'utf8', env });
    expect(report(r.stdout).execArgv).toContain('--no-node-snapshot');
    expect([r.status, r.signal]).toEqual([null, 'SIGTERM']);
  });

  it('a Ctrl-C typed on the terminal reaches `rewardd run` once: the episode ends cleanly and it exits 0', async () => {
    const d = mkdtempSync(join(tmpdir(), 'rewardd-relaunch-'));
    dirs.push(d);
    // util-linux `script` gives the command a real pty; bytes written to its stdin are typed there.
    const cmd = `exec '${process.execPath}' '${BIN}' run --broker-port 0 --state-dir '${d}'`;
    const term = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    term.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const t0 = performance.now();
    while ((out.match(/tick /g) ?? []).length < 2 && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    term.stdin.write('\x03');
    const code = await new Promise<number | null>((resolve) => term.on('exit', (c) => resolve(c)));
    term.stdin.end();
    expect(out).toMatch(/tick \d+\.\d Hz/);
    expect(out).toContain('SIGINT: ending the episode cleanly');
    expect(out).not.toContain('SIGINT again');
    // The terminal's SIGINT goes to the foreground process group: reward hosts are in their own.
    expect(out).not.toMatch(/reward host \d+ died/);
    expect(out).toMatch(/stopped after \d+ episodes/);
    expect(code).toBe(0);
  });
});
