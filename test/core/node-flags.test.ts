import { describe, expect, it } from 'vitest';
import { missingNodeFlags, nodeMajor, rewarddNodeFlags } from '../../src/core/node-flags.js';

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
