import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { rewarddNodeFlags } from '../../src/core/node-flags.js';
import { until } from '../helpers/wait.js';

/**
 * The installed command as a user runs it: `node bin/rewardd.js` over the compiled dist/
 * (`npm run build` first; npm test does it). No Node flags: bin/rewardd.js adds its own.
 */
export const BIN = join(process.cwd(), 'bin', 'rewardd.js');

export function requireBuild(): void {
  if (!existsSync(join(process.cwd(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one verb to completion. */
export function rewardd(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, cwd: opts.cwd ?? process.cwd(), env: opts.env ?? process.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs one verb without blocking the test's event loop (a daemon in this process must keep answering). */
export function rewarddAsync(args: string[], opts: { cwd?: string; timeoutMs?: number; withFlags?: boolean } = {}): Promise<CliResult> {
  // withFlags: start Node with rewardd's flags, so bin/rewardd.js does not relaunch (one Node start
  // instead of two: for suites of many short runs; the relaunch itself is test/cli/relaunch.test.ts's).
  const argv = opts.withFlags ? [...rewarddNodeFlags(), BIN, ...args] : [BIN, ...args];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('exit', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A long-running verb (run, record): its output so far, a wait on it, and a stop by signal. */
export interface CliProcess {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** Waits until stdout + stderr match; fails naming `what`. */
  waitFor(re: RegExp, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGINT, then SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export function startCli(args: string[], opts: { cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    async waitFor(re, what, timeoutMs = 60_000) {
      await until(() => re.test(out + err) || done, what, timeoutMs);
      if (!re.test(out + err)) throw new Error(`the process exited (code ${child.exitCode}) before ${what}; stderr: ${err.slice(-2000)}`);
    },
    async stop(graceMs = 15_000) {
      if (done) return exited;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}
