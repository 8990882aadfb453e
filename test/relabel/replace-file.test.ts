import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pendingRemovals, replaceFile, sweepDeadLeftovers } from '../../src/relabel/replace-file.js';

const dir = mkdtempSync(join(tmpdir(), 'rewardd-replace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settle = async (): Promise<void> => {
  for (let i = 0; i < 200 && pendingRemovals() > 0; i++) await new Promise((r) => setTimeout(r, 5));
};

/** A pid no process has: one that just exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

describe('replaceFile: a result file replaced without freeing the old one on the calling thread', () => {
  it('puts the new bytes in place; the old file is removed later, off this call', async () => {
    const path = join(dir, 'a.rwr');
    writeFileSync(`${path}.tmp`, 'first');
    replaceFile(`${path}.tmp`, path);
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(pendingRemovals()).toBe(0); // nothing was replaced

    writeFileSync(`${path}.tmp`, 'second, longer');
    replaceFile(`${path}.tmp`, path);
    expect(readFileSync(path, 'utf8')).toBe('second, longer');
    // The old file's removal was handed to the thread pool: its callback has not run yet.
    expect(pendingRemovals()).toBe(1);
    await settle();
    expect(pendingRemovals()).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['a.rwr']);
  });

  it('re-writes of one path in a row, before any removal has run, each keep their own old name', async () => {
    const path = join(dir, 'b.rwr');
    for (let i = 0; i < 5; i++) {
      writeFileSync(`${path}.tmp`, `v${i}`);
      replaceFile(`${path}.tmp`, path);
    }
    expect(pendingRemovals()).toBe(4);
    expect(readFileSync(path, 'utf8')).toBe('v4');
    await settle();
    expect(readdirSync(dir).filter((f) => f.startsWith('b.rwr'))).toEqual(['b.rwr']);
  });

  it('a failed rename leaves the old file in place and no second name behind', () => {
    const path = join(dir, 'c.rwr');
    writeFileSync(path, 'kept');
    expect(() => replaceFile(join(dir, 'no-such.tmp'), path)).toThrow(/ENOENT/);
    expect(readFileSync(path, 'utf8')).toBe('kept');
    expect(readdirSync(dir).filter((f) => f.startsWith('c.rwr'))).toEqual(['c.rwr']);
  });

  it('sweeps the leftovers of killed processes, never those of a live one', () => {
    const sub = mkdtempSync(join(dir, 'sweep-'));
    const dead = deadPid();
    for (const f of [`r.rwr.${dead}.3.old`, `r.rwr.${dead}.tmp`, `r.rwr.${process.pid}.0.old`, `r.rwr.${process.pid}.tmp`, 'r.rwr', 'notes.txt']) writeFileSync(join(sub, f), 'x');
    expect(sweepDeadLeftovers(sub)).toBe(2);
    expect(readdirSync(sub).sort()).toEqual(['notes.txt', 'r.rwr', `r.rwr.${process.pid}.0.old`, `r.rwr.${process.pid}.tmp`].sort());
    expect(sweepDeadLeftovers(join(dir, 'missing'))).toBe(0);
    expect(existsSync(join(sub, 'r.rwr'))).toBe(true);
  });
});
