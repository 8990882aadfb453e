import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlm, fenced } from '../helpers/fake-llm.js';
import { tempDirs } from '../helpers/temp.js';
import { filesContaining, GOOD, KEY, ROVER, runCli, TYPE_ERROR } from './helpers.js';

// Child processes and training: on a loaded 2-core machine these take minutes (a quiet one: seconds). No timing is asserted.
const SLOW_MS = 240_000;

const temp = tempDirs();
let fake: FakeLlm;
beforeAll(async () => {
  fake = await FakeLlm.start();
});
afterAll(() => fake.close());

const [HEAD, TAIL] = [GOOD.slice(0, GOOD.indexOf('export function reward')), GOOD.slice(GOOD.indexOf('export function reward'))];

describe('rewardd reward generate (built binary) against a scripted OpenAI-compatible server', () => {
  it('survives 429, 500 and a timeout, continues a cut answer, repairs a type error, finds code among prose and blocks, bounds the repair loop; never stores the key', async () => {
    const out = join(temp('rewardd-gen-'), 'samples');
    fake.script(
      // The first answers, n = 5 in one request: rate-limited, then a server error, then no answer in time, then five choices.
      { kind: 'status', status: 429, headers: { 'retry-after': '1' }, message: 'Rate limit reached' },
      { kind: 'status', status: 500, message: `upstream failed for key ${KEY}` },
      { kind: 'hang', ms: 30_000 },
      {
        kind: 'answer',
        content: [
          fenced(GOOD),
          fenced(TYPE_ERROR),
          `Let me sketch the distance first:\n\`\`\`js\nconst d = hypot(obs.beacon_x, obs.beacon_y);\n\`\`\`\nand here is the whole program:\n\`\`\`js\n${GOOD}\`\`\`\nIt ends the episode at the beacon.`,
          `\`\`\`js\n${HEAD}`,
          'I would rather explain reward shaping in general terms.',
        ],
        finishReason: ['stop', 'stop', 'stop', 'length', 'stop'],
      },
      // Sample 4: the continuation of the cut answer.
      { kind: 'answer', content: `${TAIL}\`\`\`` },
      // Sample 2: the repair.
      { kind: 'answer', content: fenced(GOOD) },
      // Sample 5: three repair turns, never a program.
      { kind: 'answer', content: 'Still prose.' },
      { kind: 'answer', content: 'More prose.' },
      { kind: 'answer', content: 'No code, sorry.' },
    );
    const r = await runCli(['reward', 'generate', '--task', 'drive to the beacon and stop', '--samples', '5', '--out', out, '--robot', ROVER,
      '--endpoint', fake.url, '--model', 'scripted', '--timeout-s', '6', '--backoff-s', '0.05']);
    expect(r.err).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(r.code).toBe(0);
    expect(fake.pending).toBe(0);
    const rows = r.out.split('\n').filter((l) => /^\d\s{2,}/.test(l)).map((l) => l.split(/\s{2,}/));
    expect(rows.map((x) => x.slice(0, 4))).toEqual([
      ['1', 'yes', 'yes', '0'],
      ['2', 'yes', 'yes', '1'],
      ['3', 'yes', 'yes', '0'],
      ['4', 'yes', 'yes', '0'],
      ['5', 'no', 'no', '3'],
    ]);
    expect(r.out).toMatch(/^sample\s+compiled\s+checked\s+repairs\s+terms$/m);
    expect(r.out).toMatch(/^1\s+yes\s+yes\s+0\s+progress, time$/m);
    expect(r.out).toContain('4 of 5 sample(s) passed reward check');
    expect(readdirSync(out).sort()).toEqual(['1.exchanges.jsonl', '1.json', '1.reward.js', '2.exchanges.jsonl', '2.json', '2.reward.js', '3.exchanges.jsonl', '3.json', '3.reward.js',
      '4.exchanges.jsonl', '4.json', '4.reward.js', '5.exchanges.jsonl', '5.json']);
    for (const n of [1, 2, 3, 4]) expect(readFileSync(join(out, `${n}.reward.js`), 'utf8')).toBe(GOOD);

    // Provenance: every turn's check, the model and its parameters, tokens and timings.
    const p2 = JSON.parse(readFileSync(join(out, '2.json'), 'utf8')) as { task: string; robot: { name: string }; llm: { model: string; parameters: { temperature: number }; requests: number; tokens: { total: number } }; turns: Array<{ check: { ok: boolean; diagnostics: string[] } }>; repairs: number; file: string };
    expect(p2).toMatchObject({ task: 'drive to the beacon and stop', robot: { name: 'rover' }, llm: { model: 'scripted', parameters: { temperature: 1 }, requests: 2 }, repairs: 1, file: '2.reward.js' });
    expect(p2.llm.tokens.total).toBeGreaterThan(0);
    expect(p2.turns[0]!.check.ok).toBe(false);
    expect(p2.turns[0]!.check.diagnostics[0]).toMatch(/^2\.reward\.js: error E_REWARD_OUTPUT: .*term "time": expected a number, found a string/);
    expect(p2.turns[1]!.check.ok).toBe(true);
    const p4 = JSON.parse(readFileSync(join(out, '4.json'), 'utf8')) as { turns: Array<{ continued: number; extracted: string }> };
    expect(p4.turns[0]).toMatchObject({ continued: 1, extracted: 'fenced block 1 of 1' });
    const p3 = JSON.parse(readFileSync(join(out, '3.json'), 'utf8')) as { turns: Array<{ extracted: string }> };
    expect(p3.turns[0]!.extracted).toBe('fenced block 2 of 2');
    const p5 = JSON.parse(readFileSync(join(out, '5.json'), 'utf8')) as { file: null; error: string; turns: unknown[] };
    expect(p5).toMatchObject({ file: null, error: 'no program in the answer after 3 repair turn(s)' });
    expect(p5.turns).toHaveLength(4);

    // The shared first request, its retries and their reasons, are in every sample's transcript.
    const ev = readFileSync(join(out, '1.exchanges.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; status?: number; reason?: string; waitS?: number; body?: { n?: number; messages?: unknown[] } });
    // (On a heavily loaded machine an attempt may also time out before the server answers it: extra failure/retry pairs are allowed.)
    expect(ev[0]!.kind).toBe('request');
    expect(ev[0]!.body).toMatchObject({ n: 5, model: 'scripted' });
    expect(ev.filter((e) => e.kind === 'response').map((e) => e.status)).toEqual([429, 500, 200]);
    expect(ev[ev.findIndex((e) => e.status === 429) + 1]).toMatchObject({ kind: 'retry', waitS: 1 });
    expect(ev.some((e) => e.kind === 'failure' && e.reason === 'no complete answer within 6 s (--timeout-s)')).toBe(true);
    // The repair request carried the checker's diagnostics.
    const repair = fake.requests.find((q) => q.body.messages.at(-1)!.content.includes('term "time"'))!.body.messages;
    expect(repair).toHaveLength(4);
    expect(repair[3]!.content).toContain('`rewardd reward check` rejected the program');
    expect(repair[3]!.content).toContain('term "time": expected a number, found a string');
    // The key went to the server, and nowhere else.
    expect(fake.requests.every((q) => q.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(filesContaining(out, KEY)).toEqual([]);
    expect(filesContaining(out, 'upstream failed for key [redacted]').length).toBeGreaterThan(0);
    expect(r.out + r.err).not.toContain(KEY);
  }, SLOW_MS);

  it('an unreachable endpoint fails with one line and exit 1; bad usage exits 2; nothing overwrites an earlier run', async () => {
    const dir = temp('rewardd-gen-');
    // A port that was free a moment ago: nothing listens there.
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((resolve) => srv.close(resolve));
    const r = await runCli(['reward', 'generate', '--task', 't', '--samples', '1', '--out', join(dir, 'a'), '--robot', ROVER, '--endpoint', `http://127.0.0.1:${port}/v1`, '--model', 'm', '--retries', '1', '--backoff-s', '0']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^1\s+no\s+no\s+0\s+-\s+\(E_LLM: first answer: no answer after 2 attempts; last: connection failed: ECONNREFUSED\)$/m);
    expect(existsSync(join(dir, 'a', '1.exchanges.jsonl'))).toBe(true);
    const again = await runCli(['reward', 'generate', '--task', 't', '--out', join(dir, 'a'), '--robot', ROVER, '--endpoint', fake.url, '--model', 'm']);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/^rewardd reward generate: E_CONFIG: --out .*: expected a new or empty folder, found \d+ earlier file\(s\)/);
    const noModel = await runCli(['reward', 'generate', '--task', 't', '--out', join(dir, 'b'), '--endpoint', fake.url]);
    expect(noModel.code).toBe(2);
    expect(noModel.err.trim().split('\n')).toHaveLength(1);
    const help = await runCli(['reward', 'generate', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--repair-turns N');
  }, SLOW_MS);

  it('Ctrl-C while the model is thinking exits 130 and keeps every request made so far', async () => {
    const out = join(temp('rewardd-gen-'), 'samples');
    const before = fake.requests.length;
    fake.script({ kind: 'hang', ms: 30_000 });
    const r = await runCli(['reward', 'generate', '--task', 'drive to the beacon and stop', '--samples', '2', '--out', out, '--robot', ROVER, '--endpoint', fake.url, '--model', 'scripted'], {
      onStart: (c) => {
        const poll = setInterval(() => {
          if (fake.requests.length > before) {
            clearInterval(poll);
            c.kill('SIGINT');
          }
        }, 20);
      },
    });
    expect(r.code).toBe(130);
    expect(r.err).toContain('interrupted; every request and answer so far is in');
    for (const n of [1, 2]) {
      const ev = readFileSync(join(out, `${n}.exchanges.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; body: { messages: Array<{ content: string }> } });
      expect(ev[0]!.kind).toBe('request');
      expect(ev[0]!.body.messages[1]!.content).toContain('## The task\n\ndrive to the beacon and stop');
    }
  }, SLOW_MS);
});
