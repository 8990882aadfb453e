import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { missingNodeFlags, nodeMajor, rewarddNodeFlags } from '../../src/core/node-flags.js';
import { needsRewarddFlags, SUBCOMMANDS_WITHOUT_SANDBOX, VERBS_WITHOUT_SANDBOX } from '../../src/core/relaunch.js';

describe('rewardd Node flags', () => {
  it('turn the startup snapshot off on every Node from 20 on (isolated-vm requires it)', () => {
    for (const v of ['20.15.0', '20.20.2', '22.23.3', 'v24.21.0', '26.0.0']) expect(rewarddNodeFlags(v)).toEqual(['--no-node-snapshot']);
    expect(rewarddNodeFlags('18.20.0')).toEqual([]);
  });

  it('reads the major of the forms Node prints, and refuses anything else by name', () => {
    expect(nodeMajor('24.21.0')).toBe(24);
    expect(nodeMajor('v20.20.2')).toBe(20);
    expect(() => nodeMajor('lts')).toThrow('expected a Node version like 24.21.0, found "lts"');
  });

  it('count a flag as present in execArgv or in NODE_OPTIONS', () => {
    expect(missingNodeFlags([], '', '24.21.0')).toEqual(['--no-node-snapshot']);
    expect(missingNodeFlags(['--import', 'tsx', '--no-node-snapshot'], '', '24.21.0')).toEqual([]);
    expect(missingNodeFlags([], '--max-old-space-size=512  --no-node-snapshot', '20.20.2')).toEqual([]);
    expect(missingNodeFlags([], '--no-node-snapshots', '22.23.3')).toEqual(['--no-node-snapshot']);
  });

  it('are on in the test runner workers, where the sandbox tests run', () => {
    expect(missingNodeFlags(process.execArgv, '')).toEqual([]);
  });
});

describe('the sandbox engine refuses a process started without the flags', () => {
  const load = (flags: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...flags, '-e', "require('#isolated-vm'); console.log('loaded')"], { encoding: 'utf8', cwd: process.cwd(), env: { ...process.env, NODE_OPTIONS: '', ...env } });

  it('loads with --no-node-snapshot on the command line or in NODE_OPTIONS', () => {
    const direct = load(['--no-node-snapshot']);
    expect(direct.stdout.trim(), direct.stderr).toBe('loaded');
    const viaEnv = load([], { NODE_OPTIONS: '--no-node-snapshot' });
    expect(viaEnv.stdout.trim(), viaEnv.stderr).toBe('loaded');
  });

  it('throws, every time and saying why, without it (a crash only now and then is what it prevents)', () => {
    const r = load([]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('isolated-vm loaded in a process started without --no-node-snapshot');
  });

  it('bin/rewardd.js relaunches for every verb but those', () => {
    expect([needsRewarddFlags(['run']), needsRewarddFlags(['reward', 'check', 'f.js']), needsRewarddFlags(['record'])]).toEqual([true, true, true]);
    expect([needsRewarddFlags(['relabel', '--store', 'x']), needsRewarddFlags([]), needsRewarddFlags(['--version'])]).toEqual([false, false, false]);
    expect([needsRewarddFlags(['reward', 'diff', 'a', 'b']), needsRewarddFlags(['reward', 'check', 'diff']), needsRewarddFlags(['reward'])]).toEqual([false, true, true]);
  });

  it('the verbs started without the flag (bin/rewardd.js) never load it: relabel and export run their reward code in workers', () => {
    // The relabel and export modules, imported the way the CLI imports them, in a process without the flag.
    const modules = [...VERBS_WITHOUT_SANDBOX].filter((v) => !v.startsWith('-') && v !== 'help').map((v) => (v === 'disarm' ? 'arm' : v));
    for (const [verb, subs] of Object.entries(SUBCOMMANDS_WITHOUT_SANDBOX)) for (const sub of subs) modules.push(`${verb}-${sub}`);
    expect(modules).toEqual(expect.arrayContaining(['relabel', 'reward-diff']));
    const r = spawnSync(process.execPath, ['-e', `Promise.all(${JSON.stringify(modules)}.map((v) => import('./dist/src/cli/' + v + '.js'))).then(() => console.log(/isolated[-_]vm/.test(require('fs').readFileSync('/proc/self/maps', 'utf8')) ? 'isolated-vm mapped' : 'clean'))`], { encoding: 'utf8', cwd: process.cwd(), env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.stdout.trim(), r.stderr).toBe('clean');
  });
});
