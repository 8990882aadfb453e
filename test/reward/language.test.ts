import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pushedFilename } from '../../src/reward/language.js';

/** How a pushed source's language is decided (docs/mqtt.md, reward/set). */
describe('pushedFilename', () => {
  const js = readFileSync('rewards/explore-safely.reward.js', 'utf8');
  const ts = readFileSync('rewards/smooth-efficient.reward.ts', 'utf8');

  it('takes a named file when it has a .js or .ts extension', () => {
    expect(pushedFilename({ filename: 'dir/smooth-efficient.reward.ts' }, js)).toBe('smooth-efficient.reward.ts');
    expect(pushedFilename({ filename: 'x.reward.mjs' }, ts)).toBe('x.reward.mjs');
  });

  it('takes the language user property next', () => {
    expect(pushedFilename({ filename: 'noext', language: 'ts' }, js)).toBe('reward-set.ts');
    expect(pushedFilename({ language: 'JavaScript' }, ts)).toBe('reward-set.js');
  });

  it('detects TypeScript by what parses', () => {
    expect(pushedFilename({}, js)).toBe('reward-set.js');
    expect(pushedFilename({}, ts)).toBe('reward-set.ts');
    // Neither parses: the one that got further, so the diagnostic is about the real mistake.
    expect(pushedFilename({}, 'export const = ;')).toBe('reward-set.js');
    expect(pushedFilename({}, ts.replace('export const meta', 'const oops: number = ;\nexport const meta'))).toBe('reward-set.ts');
  });
});
