import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/transport/embedded-broker.js';
import { EpisodePublisher } from '../../src/transport/publisher.js';
import { Recorder } from '../../src/recorder/recorder.js';
import * as episodes from '../../src/cli/episodes.js';
import * as record from '../../src/cli/record.js';
import { tmpDir, uniquePrefix, waitFor } from '../transport/helpers.js';
import { syntheticEpisode } from './fixtures.js';

async function run(main: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let broker: EmbeddedBroker;
let out: string;
beforeAll(async () => {
  broker = await startEmbeddedBroker({});
  out = tmpDir('rec');
  const prefix = uniquePrefix();
  const rec = new Recorder({ mqttUrl: broker.url, outDir: out, prefix, finalizeIntervalMs: 50 });
  await waitFor(() => rec.stats().connected, 5000, 'recorder');
  await new Promise((r) => setTimeout(r, 100));
  const pub = await EpisodePublisher.open({ mqttUrl: broker.url, robot: 'rover', prefix, outboxDir: tmpDir('ob') });
  const e = syntheticEpisode('rover', 'ep-cli', 3, 120, 40);
  pub.publishStart(e.start);
  for (const b of e.batches) pub.publishBatch(b.episode, b.seq0, b.count, b.bytes);
  pub.publishEnd(e.end);
  await waitFor(() => rec.catalog.get('ep-cli')?.status === 'complete', 5000, 'episode stored');
  await pub.close();
  await rec.close();
});
afterAll(async () => {
  await broker.close();
});

describe('rewardd episodes', () => {
  it('lists and shows cataloged episodes', async () => {
    const list = await run(episodes.main, ['list', '--out', out]);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/ep-cli\s+rover\s+.*\s120\s+.*complete\s+reward000001/);
    const json = await run(episodes.main, ['list', '--out', out, '--json', '--robot', 'rover']);
    expect(JSON.parse(json.out.trim())).toMatchObject({ episode: 'ep-cli', steps: 120, status: 'complete', policyHash: 'policy000001' });
    const show = await run(episodes.main, ['show', 'ep-cli', '--out', out]);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/steps\s+120 of 120/);
    expect(show.out).toMatch(/progress/);
  });
  it('fails with one line and a non-zero code on bad input', async () => {
    const missing = await run(episodes.main, ['show', 'nope', '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    expect((await run(episodes.main, ['frobnicate', '--out', out])).code).toBe(2);
    expect((await run(episodes.main, ['list', '--out', tmpDir('empty')])).err).toMatch(/expected a catalog/);
    expect((await run(episodes.main, ['list', '--out', out, '--status', 'weird'])).code).toBe(2);
    expect((await run(episodes.main, ['--help'])).out).toContain('Usage: rewardd episodes');
  });
});

describe('rewardd record', () => {
  it('documents its options and refuses bad ones', async () => {
    expect((await run(record.main, ['--help'])).out).toMatch(/--share GROUP[\s\S]*default/);
    const noUrl = await run(record.main, ['--out', tmpDir('x')]);
    expect(noUrl.code).toBe(2);
    expect(noUrl.err).toMatch(/--mqtt: expected a broker URL/);
    expect((await run(record.main, ['--mqtt', 'mqtt://127.0.0.1:1', '--incomplete-timeout-ms=-3'])).err).toMatch(/expected a number > 0/);
    expect((await run(record.main, ['--mqtt', 'nonsense', '--out', tmpDir('x')])).err).toMatch(/E_CONFIG: mqtt url/);
    expect((await run(record.main, ['--mqtt', 'mqtt://h:1', '--ca', '/nonexistent.pem', '--out', tmpDir('x')])).err).toMatch(/E_FILE/);
  });
});
