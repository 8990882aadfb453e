import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnFileFor } from '../../src/recorder/column-file.js';
import { openColumnFile, closeColumnFile } from '../../src/recorder/column-file-reader.js';
import { freshArrays } from '../../src/relabel/buffer-pool.js';
import { readEpisodeColumnsGeneric } from '../../src/relabel/episode-columns.js';
import { relabelStore } from '../../src/relabel/relabel.js';
import { decodeRelabelResult } from '../../src/relabel/result-file.js';
import { loadStoredEpisode } from '../../src/relabel/stored-episode.js';
import { pythonHas } from '../helpers/python.js';
import { Catalog } from '../../src/store/catalog.js';
import { REACH, SMOOTH, recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';

/**
 * The columnar copy of each episode (<episode>.columns): written by the
 * recorder when it finalises an episode, equal to the MCAP file column for
 * column, readable from Python with numpy alone, and never trusted blindly:
 * a damaged, missing or stale one makes relabel read the MCAP file, say so,
 * and write a good copy.
 */
let store: string;
let recorded: RecordedEpisode[];
const mcapOf = (e: string): string => join(store, 'rover-test', `${e}.mcap`);
// Fails now and then (reasons to copy) and swaps version mid-episode (two reward segments).
const FLAKY = REACH.replace('const effort =', "if (ctx.step % 37 === 5) throw new Error('flaky sensor at ' + ctx.step);\n  const effort =");

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-columns-'));
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 3, stepLimit: 240, source: FLAKY, swap: { episode: 2, atStep: 90, source: SMOOTH } });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

const sha = (a: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

describe('columns files', () => {
  it('the recorder writes one per episode, the catalog says so, and it equals the MCAP file for every column', async () => {
    const cat = new Catalog(store, { readonly: true });
    const index = cat.columnsIndex();
    cat.close();
    for (const r of recorded) {
      expect(index.get(r.episode)).toMatchObject({ origin: 'recorder', file: columnFileFor(mcapOf(r.episode)) });
      const fromMcap = await readEpisodeColumnsGeneric(mcapOf(r.episode), 1e7);
      const fromColumns = await loadStoredEpisode(mcapOf(r.episode), 'all', { raw: true, writeColumns: false, arrays: freshArrays });
      expect(fromColumns.readFrom).toBe('columns');
      expect(fromColumns.ep).toEqual(fromMcap);
      expect(fromMcap.loggedReasons.size).toBeGreaterThan(0);
      expect(fromMcap.obsRaw?.length).toBe(fromMcap.obs.length);
    }
    expect((await readEpisodeColumnsGeneric(mcapOf(recorded[2]!.episode), 1e7)).loggedSegments).toHaveLength(2);
  });

  it('numpy reads it with the reader in docs/relabel.md', { timeout: 120_000 }, async () => {
    if (!pythonHas('numpy')) return; // .ci/run installs numpy; a laptop without it skips this check
    const doc = readFileSync(new URL('../../docs/relabel.md', import.meta.url), 'utf8');
    const reader = /```python\n(# read_columns[\s\S]*?)```/.exec(doc)?.[1];
    expect(reader, 'docs/relabel.md has the read_columns reader').toBeDefined();
    const r = recorded[2]!;
    const script = `${reader}
import hashlib, json, sys
meta, cols = read_columns(sys.argv[1])
print(json.dumps({"count": meta["count"], "segments": len(meta["segments"]), **{k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in cols.items() if k != "reasons"}, "reasons": len(cols["reasons"])}))`;
    const py = join(store, 'read_columns.py');
    writeFileSync(py, script);
    const out = JSON.parse(execFileSync('python3', [py, columnFileFor(mcapOf(r.episode))], { encoding: 'utf8' })) as Record<string, string | number>;
    const ep = await readEpisodeColumnsGeneric(mcapOf(r.episode), 1e7);
    expect(out.count).toBe(ep.count);
    expect(out.segments).toBe(2);
    expect(out.reasons).toBe(ep.loggedReasons.size);
    expect(out).toMatchObject({
      seq: sha(ep.seq), tNs: sha(ep.tNs), obsTNs: sha(ep.obsTNs!), wallMs: sha(ep.wallMs!), flags: sha(ep.flags), safety: sha(ep.safety), obs: sha(ep.obs), obsRaw: sha(ep.obsRaw!),
      actionCommanded: sha(ep.actionCommanded), actionApplied: sha(ep.actionApplied), rewardStatus: sha(ep.loggedStatus), rewardTotal: sha(ep.loggedTotal),
      rewardTerms: createHash('sha256').update(Buffer.concat(ep.loggedSegments.map((s) => new Uint8Array(s.terms.buffer, s.terms.byteOffset, s.terms.byteLength)))).digest('hex'),
    });
  });

  it('numpy reads a relabel result file (.rwr) with read_rwr in docs/relabel.md, bit for bit', { timeout: 120_000 }, async () => {
    if (!pythonHas('numpy')) return; // .ci/run installs numpy; a laptop without it skips this check
    const doc = readFileSync(new URL('../../docs/relabel.md', import.meta.url), 'utf8');
    const reader = /```python\n(import json, struct, numpy as np\ndef read_rwr[\s\S]*?)```/.exec(doc)?.[1];
    expect(reader, 'docs/relabel.md has the read_rwr reader').toBeDefined();
    // 203 steps, not a multiple of 8: the reader's padding between the u8 columns is exercised. The
    // flaky program fails some steps: statuses, reasons and NaN terms are in the file too.
    const own = mkdtempSync(join(tmpdir(), 'rewardd-rwr-'));
    const [one] = await recordRoverEpisodes({ storeDir: own, episodes: 1, stepLimit: 203, source: REACH });
    const rep = await relabelStore({ storeDir: own, reward: { source: FLAKY, filename: 'flaky.reward.js' } });
    expect(rep.episodes.map((e) => [e.episode, e.steps])).toEqual([[one!.episode, 203]]);
    const saved = rep.episodes[0]!.saved!;
    const script = `${reader}
import hashlib, sys
hdr, cols = read_rwr(sys.argv[1])
print(json.dumps({"episode": hdr["episode"], "count": hdr["count"], "terms": hdr["termNames"], "reasons": len(hdr["reasons"]), **{"sha_" + k: hashlib.sha256(v.tobytes()).hexdigest() for k, v in cols.items()}}))`;
    const py = join(own, 'read_rwr.py');
    writeFileSync(py, script);
    const out = JSON.parse(execFileSync('python3', [py, saved], { encoding: 'utf8' })) as Record<string, unknown>;
    const { result: r, seq } = decodeRelabelResult(readFileSync(saved));
    expect(r.status.some((x) => x !== 0)).toBe(true);
    expect(out).toEqual({
      episode: r.episode, count: r.count, terms: r.termNames, reasons: r.reasons.size,
      sha_status: sha(r.status), sha_success: sha(r.success), sha_done: sha(r.done), sha_seq: sha(seq), sha_total: sha(r.total), sha_terms: sha(r.terms),
    });
    rmSync(own, { recursive: true, force: true });
  });

  it('a damaged, truncated, missing or stale copy is not used: relabel reads the MCAP file, says why, gives the same results and writes a good copy', async () => {
    const reach = { source: REACH, filename: 'reach.js' };
    const good = await relabelStore({ storeDir: store, reward: reach, save: false });
    expect(good.read).toEqual({ fromColumns: 3, fromMcap: 0, written: 0, notes: [] });
    const [a, b, c] = recorded.map((r) => r.episode) as [string, string, string];
    // a: one byte of the observations flipped; b: cut short; c: gone.
    const fa = columnFileFor(mcapOf(a));
    const f = openColumnFile(fa);
    const obsAt = f.footer.blocks[0]!.chunks.obs![0];
    closeColumnFile(f);
    const bytes = readFileSync(fa);
    bytes[obsAt + 5]! ^= 0x10;
    writeFileSync(fa, bytes);
    truncateSync(columnFileFor(mcapOf(b)), 100);
    unlinkSync(columnFileFor(mcapOf(c)));
    const again = await relabelStore({ storeDir: store, reward: reach, save: false });
    expect(again.read).toMatchObject({ fromColumns: 0, fromMcap: 3, written: 3 });
    expect(again.read.notes).toEqual([
      expect.stringMatching(new RegExp(`^episode ${a}: columns file damaged \\(.*column obs CRC mismatch.*\\): read the MCAP file instead and wrote`)),
      expect.stringMatching(new RegExp(`^episode ${b}: columns file damaged \\(.*expected "RWC1" at both ends.*\\): read the MCAP file instead and wrote`)),
      expect.stringMatching(new RegExp(`^episode ${c}: columns file missing \\(.*no such file\\): read the MCAP file instead and wrote`)),
    ]);
    expect(again.episodes).toEqual(good.episodes);
    expect(again.terms).toEqual(good.terms);
    const cat = new Catalog(store, { readonly: true });
    expect([...cat.columnsIndex().values()].map((x) => x.origin)).toEqual(['relabel', 'relabel', 'relabel']);
    cat.close();

    // Stale: the MCAP file was rewritten after the copy was made (same bytes, new mtime).
    const m = mcapOf(a);
    copyFileSync(m, `${m}.bak`);
    copyFileSync(`${m}.bak`, m);
    utimesSync(m, new Date(), new Date(Date.now() + 5000));
    const stale = await relabelStore({ storeDir: store, reward: reach, save: false, episodes: a, writeColumns: false });
    expect(stale.read.notes).toEqual([expect.stringMatching(/columns file stale \(.*made from .*\.mcap \(\d+ bytes, mtime \d+\), but .* is now .*\): read the MCAP file instead$/)]);
    expect(stale.episodes).toEqual(good.episodes.slice(0, 1));
    expect(existsSync(`${m}.bak`)).toBe(true);
  }, 180_000);
});
