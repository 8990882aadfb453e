import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { shortHash } from '../../src/core/hash.js';
import * as exportCli from '../../src/cli/export.js';
import * as relabelCli from '../../src/cli/relabel.js';
import * as diffCli from '../../src/cli/reward-diff.js';
import { ProgressLine } from '../../src/relabel/progress.js';
import { REACH, recordRoverEpisodes } from './fixtures.js';

let store: string;
let file: string;
beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-relabel-cli-'));
  await recordRoverEpisodes({ storeDir: store, episodes: 2, stepLimit: 150, seed: 5 });
  file = join(store, 'reach.reward.js');
  writeFileSync(file, REACH);
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

async function run(mod: { main(argv: string[]): Promise<number> }, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await mod.main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('relabel, reward diff and export verbs', () => {
  it('relabel --verify --json prints a report that says every episode matched; the table names every term', async () => {
    const j = await run(relabelCli, ['--store', store, '--reward', file, '--verify', '--json']);
    // Nothing on stderr but the progress line, which a loaded machine can make appear (the run passes 2 s).
    expect(j.err.replace(/^relabel \d+\/\d+ episodes, .*\n/gm, '')).toBe('');
    expect(j.code).toBe(0);
    const rep = JSON.parse(j.out) as { verify: { matched: number }; terms: Array<{ term: string }>; reward: { version: string } };
    expect(rep.verify.matched).toBe(2);
    expect(rep.reward.version).toBe(shortHash(REACH));
    const t = await run(relabelCli, ['--store', store, '--reward', shortHash(REACH), '--no-save']);
    expect(t.code).toBe(0);
    for (const term of ['distance', 'heading', 'progress', 'effort', '(total)']) expect(t.out).toMatch(new RegExp(`^${term.replace(/[()]/g, '\\$&')}\\s`, 'm'));
  });

  it('reward diff of a file with itself prints distance 0', async () => {
    const r = await run(diffCli, [file, shortHash(REACH), '--store', store]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/canonical distance .*: 0$/m);
  });

  it('export writes the npz', async () => {
    const out = join(store, 'out.npz');
    const r = await run(exportCli, ['--store', store, '--reward', file, '--out', out]);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(r.out).toMatch(/2 episode\(s\)/);
  });

  it('bad input: one line on stderr and a non-zero exit', async () => {
    const cases: Array<[{ main(a: string[]): Promise<number> }, string[], RegExp]> = [
      [relabelCli, ['--reward', file], /--store: expected a value/],
      [relabelCli, ['--store', store, '--reward', file, '--jobs', '0'], /--jobs: expected an integer >= 1, found "0"/],
      [relabelCli, ['--store', store, '--reward', 'nope.js'], /expected a reward file or a 12-hex version/],
      [relabelCli, ['--store', store, '--reward', file, '--bogus'], /E_CONFIG/],
      [diffCli, [file, '--store', store], /expected two rewards A and B, found 1/],
      [exportCli, ['--store', store, '--reward', file, '--out', 'x.parquet', '--format', 'parquet'], /--format: expected npz/],
      // Said in words, not as EISDIR / ENOENT on the writer's temporary files.
      [exportCli, ['--store', store, '--reward', file, '--out', store], /--out .*: expected a file name for the \.npz, found a folder/],
      [exportCli, ['--store', store, '--reward', file, '--out', join(store, 'no', 'such', 'x.npz')], /--out .*x\.npz: expected its folder .*no\/such to exist, found none/],
      [relabelCli, ['--store', store, '--reward', store], /reward file .*: expected a file \(\*\.reward\.js or \*\.reward\.ts\), found a folder/],
    ];
    for (const [mod, argv, re] of cases) {
      const r = await run(mod, argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect((await run(relabelCli, ['--help'])).out).toMatch(/--jobs N .*\(default: 1\)/);
  });
});

describe('progress line', () => {
  it('stays quiet for short runs; on a non-TTY prints plain lines, throttled, and always the last', () => {
    const lines: string[] = [];
    const sink = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const quiet = new ProgressLine('relabel', sink, 60_000);
    quiet.update(1, 2, 100);
    quiet.update(2, 2, 200);
    expect(lines).toEqual([]);
    const p = new ProgressLine('relabel', sink, 0);
    p.update(1, 3, 100);
    p.update(2, 3, 200); // within 5 s of the previous line: skipped
    p.update(3, 3, 300);
    p.end();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^relabel 1\/3 episodes, 100 steps, [\d,]+ steps\/s, ~\d+ s left\n$/);
    expect(lines[1]).toMatch(/^relabel 3\/3 episodes, 300 steps/);
  });
});
