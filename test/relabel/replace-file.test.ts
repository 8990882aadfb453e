import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pendingRemovals, replaceFile } from '../../src/relabel/replace-file.js';

const dir = mkdtempSync(join(tmpdir(), 'rewardd-replace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settle = async (): Promise<void> => {
  for (let i = 0; i < 200 && pendingRemovals() > 0; i++) await new Promise((r) => setTimeout(r, 5));
};

describe('replaceFile: a result file replaced without freeing the old one on the calling thread', () => {
  it('puts the new bytes in place, and the old file is gone once its removal ran', async () => {
    const path = join(dir, 'a.rwr');
    writeFileSync(`${path}.tmp`, 'first');
    replaceFile(`${path}.tmp`, path);
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(pendingRemovals()).toBe(0); // nothing was replaced

    writeFileSync(`${path}.tmp`, 'second, longer');
    replaceFile(`${path}.tmp`, path);
    expect(readFileSync(path, 'utf8')).toBe('second, longer');
    expect(statSync(path).nlink).toBe(1); // the old inode's extra name is not the new file's
    await settle();
    expect(pendingRemovals()).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['a.rwr']);
  });

  it('a leftover old name of a killed run with the same pid is replaced, not a failure', async () => {
    const path = join(dir, 'b.rwr');
    writeFileSync(path, 'old');
    writeFileSync(join(dir, 'stale'), 'stale bytes');
    linkSync(join(dir, 'stale'), `${path}.${process.pid}.old`);
    writeFileSync(`${path}.tmp`, 'new');
    replaceFile(`${path}.tmp`, path);
    expect(readFileSync(path, 'utf8')).toBe('new');
    await settle();
    expect(existsSync(`${path}.${process.pid}.old`)).toBe(false);
    expect(readFileSync(join(dir, 'stale'), 'utf8')).toBe('stale bytes');
  });
});
