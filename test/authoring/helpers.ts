import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = new URL('../../bin/rewardd.js', import.meta.url).pathname;
export const ROVER = new URL('../../robots/rover.json', import.meta.url).pathname;
/** The key the tests give the CLI: it must never appear in a file or a log. */
export const KEY = 'sk-rewardd-test-KEY-7f3a9c1e5b';

/**
 * Runs the built binary without blocking this process (the fake LLM server the
 * tests start lives in it), with the key in the environment.
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; onStart?: (c: ChildProcess) => void; cwd?: string } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--no-node-snapshot', BIN, ...args], { env: { ...process.env, REWARDD_LLM_API_KEY: KEY, OPENAI_API_KEY: '', ...opts.env }, cwd: opts.cwd ?? process.cwd() });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code, signal) => resolve({ code, signal, out, err }));
    opts.onStart?.(c);
  });
}

/** Every file under dir whose bytes contain needle (the test's grep -r). */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

/** Drives to the beacon; a cost per step makes finishing early pay. Trains to success in a few seconds. */
export const GOOD = `import { clamp, hypot } from 'rewardd';
export const meta = {
  name: 'reach-fast',
  goal: 'Drive to the beacon and stop within 0.25 m of it.',
  weights: { progress: 1, time: -0.2 },
};
const dist = (o) => hypot(o.beacon_x, o.beacon_y);
export function reward(obs, action, ctx) {
  const progress = ctx.prev === null ? 0 : clamp((dist(ctx.prev) - dist(obs)) / ctx.dt, -1, 1);
  return { progress, time: 1 };
}
export function success(obs) { return dist(obs) < 0.25; }
`;

/** Pays for spinning on the spot: trains a policy that never reaches the beacon. Its 3-second episodes keep the tests short. */
export const SPIN = `export const meta = { name: 'spin', goal: 'Drive to the beacon and stop within 0.25 m of it.', weights: { spin: 1 } };
export function reward(obs) { return { spin: Math.min(Math.abs(obs.gyro_z), 5) / 5 }; }
export function done(obs, ctx) { return ctx.step >= 300; }
`;

/** GOOD with a type error that only running it shows: a term that is a string. */
export const TYPE_ERROR = GOOD.replace('return { progress, time: 1 };', "return { progress, time: 'one' };");
