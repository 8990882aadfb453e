import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, rewarddAsync } from './bin.js';

/**
 * Bad usage is exit 2 and one line on stderr, on every verb (built binary): an unknown flag, and
 * a missing required argument. Every verb of `rewardd --help` is listed here; a new verb without
 * a row fails the first test.
 */
beforeAll(requireBuild);
/** One Node start per run (no relaunch): dozens of runs here. */
const FAST = { withFlags: true };

const CASES: Record<string, { unknown: string[]; missing: string[]; says: RegExp }> = {
  run: { unknown: ['run', '--bogus'], missing: ['run', '--link'], says: /--link <value>' argument missing/ },
  record: { unknown: ['record', '--bogus'], missing: ['record', '--store', 'x'], says: /--mqtt: expected a broker URL/ },
  episodes: { unknown: ['episodes', 'list', '--bogus'], missing: ['episodes', 'show'], says: /show: expected one episode id, found 0/ },
  relabel: { unknown: ['relabel', '--bogus'], missing: ['relabel', '--store', 'x'], says: /--reward: expected a value, found none/ },
  export: { unknown: ['export', '--bogus'], missing: ['export', '--store', 'x', '--reward', 'y'], says: /--out: expected a value, found none/ },
  reward: { unknown: ['reward', 'check', 'x.reward.js', '--bogus'], missing: ['reward'], says: /expected a subcommand check, diff, push, generate or refine, found nothing/ },
  'reward check': { unknown: ['reward', 'check', 'x.reward.js', '--bogus'], missing: ['reward', 'check'], says: /expected exactly one FILE, found none/ },
  'reward diff': { unknown: ['reward', 'diff', 'a', 'b', '--bogus'], missing: ['reward', 'diff', 'a'], says: /expected two rewards A and B, found 1/ },
  'reward push': { unknown: ['reward', 'push', 'x.reward.js', '--bogus'], missing: ['reward', 'push', 'x.reward.js'], says: /expected --robot ID, found none/ },
  'reward generate': { unknown: ['reward', 'generate', '--bogus'], missing: ['reward', 'generate'], says: /--task: expected a description/ },
  'reward refine': { unknown: ['reward', 'refine', '--bogus'], missing: ['reward', 'refine'], says: /--from: expected a folder of reward programs/ },
  calibrate: { unknown: ['calibrate', 'imu-rest', '--bogus'], missing: ['calibrate', 'imu-rest'], says: /--out: expected the calibration file to write/ },
  policy: { unknown: ['policy', 'check', 'x', '--bogus'], missing: ['policy', 'check'], says: /expected "check DIR" or "bench DIR"/ },
  dashboard: { unknown: ['dashboard', '--bogus'], missing: ['dashboard'], says: /--mqtt: expected the broker's WebSocket URL/ },
  estop: { unknown: ['estop', 'stop', '--bogus'], missing: ['estop'], says: /expected one of stop \| reset \| status, found nothing/ },
  episode: { unknown: ['episode', 'next', '--bogus'], missing: ['episode', 'next'], says: /--mqtt: expected the robot's broker URL/ },
  arm: { unknown: ['arm', '--bogus'], missing: ['arm'], says: /--mqtt: expected the robot's broker URL/ },
  disarm: { unknown: ['disarm', '--bogus'], missing: ['disarm'], says: /--mqtt: expected the robot's broker URL/ },
  firmware: { unknown: ['firmware', 'sim', '--bogus'], missing: ['firmware'], says: /expected "sim" or "check", found nothing/ },
  vision: { unknown: ['vision', 'check', 'x', '--bogus'], missing: ['vision', 'fetch'], says: /expected "fetch NAME --out DIR"/ },
  keys: { unknown: ['keys', 'new', '--bogus'], missing: ['keys', 'new'], says: /keys new: expected --out DIR, found none/ },
};

describe('bad usage: exit 2 and one line on stderr, on every verb', () => {
  it('covers every verb rewardd lists', async () => {
    const list = (await rewarddAsync(['--help'], FAST)).stdout;
    const verbs = [...list.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!);
    expect(verbs.length).toBeGreaterThanOrEqual(15);
    for (const v of verbs) expect(Object.keys(CASES)).toContain(v);
  });

  it.each(Object.entries(CASES))('%s', async (_verb, c) => {
    const [unknown, missing] = await Promise.all([rewarddAsync(c.unknown, FAST), rewarddAsync(c.missing, FAST)]);
    expect(unknown.status, `${c.unknown.join(' ')}: ${unknown.stderr}`).toBe(2);
    expect(unknown.stderr.trim().split('\n'), unknown.stderr).toHaveLength(1);
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'/);
    expect(missing.status, `${c.missing.join(' ')}: ${missing.stderr}`).toBe(2);
    expect(missing.stderr.trim().split('\n'), missing.stderr).toHaveLength(1);
    expect(missing.stderr).toMatch(c.says);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('one help format', () => {
  it.each([['run'], ['record'], ['episodes'], ['relabel'], ['export'], ['reward', 'push'], ['reward', 'diff'], ['estop'], ['arm'], ['keys']])('%s --help writes defaults as (default: ...)', async (...verb) => {
    const r = await rewarddAsync([...verb, '--help'], FAST);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\(default: /);
    expect(r.stdout).not.toMatch(/Default: /);
  });

  it('run --help gives every option its default in that form', async () => {
    const r = await rewarddAsync(['run', '--help'], FAST);
    expect(r.stdout).toMatch(/--hz <n> +control tick rate, Hz \(1\.\.2000\) \(default: 100\)/);
    expect(r.stdout.match(/\(default: /g)!.length).toBe(r.stdout.match(/^ {2}--(?!help)/gm)!.length);
  });

  it('reward check --help ends with where the other subcommands are; keys --help names the real flag', async () => {
    const check = (await rewarddAsync(['reward', 'check', '--help'], FAST)).stdout;
    expect(check).not.toMatch(/provided by the daemon/);
    expect(check.trim().split('\n').at(-1)).toBe('The other reward subcommands (diff, push, generate, refine): rewardd reward --help.');
    const keys = (await rewarddAsync(['keys', '--help'], FAST)).stdout;
    expect(keys).not.toMatch(/signatureRequired/);
    expect(keys).toMatch(/rewardd run --reward-file-auth signed/);
    expect((await rewarddAsync(['run', '--help'], FAST)).stdout).toMatch(/--reward-file-auth <value> +the reward file on disk: trusted .*; signed = it needs a valid <file>\.sig/);
  });

  it('a store is --store on every verb that takes one, --out still accepted by record and episodes', async () => {
    for (const verb of [['record'], ['episodes'], ['relabel'], ['export'], ['reward', 'diff'], ['reward', 'check']]) {
      expect((await rewarddAsync([...verb, '--help'], FAST)).stdout, verb.join(' ')).toMatch(/--store DIR/);
    }
    const both = await rewarddAsync(['episodes', 'list', '--store', 'a', '--out', 'b'], FAST);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--store and --out \(its older name\): expected one folder, found two \("a" and "b"\)/);
  });
});
