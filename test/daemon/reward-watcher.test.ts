import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RewardFileWatcher } from '../../src/daemon/reward-watcher.js';
import { until } from '../helpers/wait.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Saved as editors and `rewardd keys sign` do: a temporary file renamed into place. */
function save(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('the reward file watcher', () => {
  it('offers a change of content once; touching the file offers nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewardd-watch-'));
    dirs.push(dir);
    const file = join(dir, 'r.reward.js');
    save(file, 'A');
    const seen: string[] = [];
    const w = new RewardFileWatcher(file, 'A', (s) => seen.push(s), 30);
    try {
      save(file, 'B');
      await until(() => seen.length === 1, 'the edit offered');
      utimesSync(file, new Date(), new Date());
      save(join(dir, 'other.txt'), 'x');
      await sleep(200);
      expect(seen).toEqual(['B']);
    } finally {
      w.close();
    }
  });

  it('with a signature file, a re-sign of the same content is offered again (an edit refused for its signature, then signed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rewardd-watch-sig-'));
    dirs.push(dir);
    const file = join(dir, 'r.reward.js');
    const sig = `${file}.sig`;
    save(file, 'A');
    save(sig, 'sig-of-A');
    const seen: string[] = [];
    const w = new RewardFileWatcher(file, 'A', (s) => seen.push(s), 30, sig);
    try {
      save(file, 'B'); // edited, the old signature beside it: the policy refuses it
      await until(() => seen.length === 1, 'the edit offered');
      save(sig, 'sig-of-B'); // `rewardd keys sign` writes only the .sig
      // Before: only the source was compared, so this was never offered again.
      await until(() => seen.length === 2, 'the re-signed file offered');
      expect(seen).toEqual(['B', 'B']);
      utimesSync(sig, new Date(), new Date());
      await sleep(200);
      expect(seen).toHaveLength(2);
    } finally {
      w.close();
    }
  });
});
