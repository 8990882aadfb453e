import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefineReport } from '../../src/authoring/refine.js';
import { FakeLlm, fenced } from '../helpers/fake-llm.js';
import { tempDirs } from '../helpers/temp.js';
import { filesContaining, GOOD, KEY, ROVER, runCli, SPIN } from './helpers.js';

// Child processes and training: on a loaded 2-core machine these take minutes (a quiet one: seconds). No timing is asserted.
const SLOW_MS = 240_000;

const temp = tempDirs();
let fake: FakeLlm;
beforeAll(async () => {
  fake = await FakeLlm.start();
});
afterAll(() => fake.close());

/** A budget that trains GOOD to the beacon in a few seconds (a quarter of the default's work). */
const SMALL = ['--sim-generations', '12', '--sim-pairs', '12', '--sim-episodes', '2', '--sim-checkpoints', '4', '--sim-checkpoint-episodes', '2', '--sim-eval-episodes', '20'];
const SPIN_FAST = SPIN.replace("name: 'spin'", "name: 'spin-fast'").replace('/ 5', '/ 4');

describe('rewardd reward refine --sim (built binary, scripted model)', () => {
  it('trains each candidate in the simulator; the candidate that reaches the beacon wins on measured held-out success', async () => {
    const dir = temp('rewardd-refine-');
    const seed = join(dir, 'spin.reward.js');
    writeFileSync(seed, SPIN);
    const out = join(dir, 'out');
    const before = fake.requests.length;
    fake.script({ kind: 'answer', content: [fenced(SPIN_FAST), fenced(GOOD)] });
    const r = await runCli(['reward', 'refine', '--from', seed, '--out', out, '--iterations', '1', '--samples', '2', '--sim', ...SMALL, '--robot', ROVER, '--endpoint', fake.url, '--model', 'scripted']);
    expect(r.err).toContain('0-1: fitness');
    expect(r.code).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as RefineReport;
    const held = (id: string): { successes: number; episodes: number } => rep.candidates.find((c) => c.id === id)!.evaluations[0]!.details!.heldOut as { successes: number; episodes: number };
    // The measurement, not the script, decides: the beacon-reaching reward trains a policy that succeeds; spinning does not.
    expect(held('1-2').successes).toBeGreaterThan(held('0-1').successes);
    expect(held('1-2').successes).toBeGreaterThan(held('1-1').successes);
    expect(held('1-2').successes).toBeGreaterThanOrEqual(15);
    expect(rep.best).toMatchObject({ id: '1-2', file: 'best.reward.js' });
    expect(readFileSync(join(out, 'best.reward.js'), 'utf8')).toBe(GOOD);
    expect(rep.candidates.map((c) => [c.id, c.origin, c.parent, c.checked])).toEqual([['0-1', 'seed', null, true], ['1-1', 'llm', '0-1', true], ['1-2', 'llm', '0-1', true]]);
    expect(rep.bestPerIteration).toEqual([{ iteration: 0, id: '0-1', fitness: held('0-1').successes / 20 }, { iteration: 1, id: '1-2', fitness: held('1-2').successes / 20 }]);
    expect(rep.interrupted).toBe(false);

    // The iteration-1 prompt is bounded (4 messages) and carries the seed's reward reflection.
    const prompt = fake.requests[before]!.body.messages;
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(prompt[2]!.content).toContain("name: 'spin'");
    const reflection = prompt[3]!.content;
    expect(reflection).toMatch(/^spin \(weight 1\): \[[^\]]+\], Max: [\d.e+-]+, Mean: [\d.e+-]+, Min: [\d.e+-]+$/m);
    expect(reflection).toMatch(/^task_success_rate: \[/m);
    expect(reflection).toMatch(/^episode_length: \[/m);
    expect(reflection).toContain('at 4 evenly spaced points of training (generations 0, 4, 8, 12)');
    expect(reflection).toContain('- success near zero');
    expect(reflection).toContain('If the task success rate stays near zero, rewrite the whole program.');

    // report.md: the table, the lineage, every reflection; best.reward.js passes reward check (ready to push).
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('Lineage: 0-1 → 1-2');
    expect(md).toMatch(/^\| 1-2 \*\*best\*\* \| 0-1 \| iter1\/2\.reward\.js \| yes \| 0 \| progress, time \| \d+\/20 \|/m);
    expect(md).toContain('### 1-1 (spin-fast)');
    const check = await runCli(['reward', 'check', join(out, 'best.reward.js'), '--robot', ROVER]);
    expect(check.code).toBe(0);
    // A reader nobody here wrote: Python's json.
    expect(execFileSync('python3', ['-c', 'import json,sys; r=json.load(open(sys.argv[1])); print(r["best"]["id"], len(r["candidates"]), r["schema"])', join(out, 'report.json')], { encoding: 'utf8' }).trim()).toBe('1-2 3 rewardd.authoring.refine/1');
    expect(existsSync(join(out, 'iter1', '2.exchanges.jsonl'))).toBe(true);
    expect(filesContaining(out, KEY)).toEqual([]);
  }, SLOW_MS);

  it('a candidate that outlives --sim-timeout-s is stopped and recorded, a seed that fails reward check is recorded, no LLM is needed for --iterations 0', async () => {
    const dir = temp('rewardd-refine-');
    const seeds = join(dir, 'seeds');
    mkdirSync(seeds);
    // About 0.3 ms of CPU per step: inside the 2 ms budget, so only the training time limit can stop it.
    writeFileSync(join(seeds, '1.reward.js'), `export const meta = { name: 'slow', goal: 'Reach the beacon.', weights: { a: 1 } };
export function reward(obs, action, ctx) { let s = 0; for (let i = 0; i < 100000; i++) s += Math.sqrt(i); return { a: obs.beacon_x > 0 ? 1 : 0 }; }
`);
    writeFileSync(join(seeds, '2.reward.js'), `export const meta = { name: 'broken', goal: 'g', weights: { a: 1 } };\nexport function reward(obs) { return { a: obs.beacon_dist }; }\n`);
    const out = join(dir, 'out');
    const r = await runCli(['reward', 'refine', '--from', seeds, '--out', out, '--iterations', '0', '--sim', ...SMALL, '--sim-timeout-s', '3', '--robot', ROVER]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('no candidate could be evaluated');
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as RefineReport;
    expect(rep.task).toBe('Reach the beacon.');
    expect(rep.candidates[0]).toMatchObject({ id: '0-1', checked: true, fitness: null, error: 'sim: E_REWARD_TIMEOUT: training did not finish within 3 s (--sim-timeout-s); the trainer was stopped' });
    expect(rep.candidates[1]).toMatchObject({ id: '0-2', checked: false, fitness: null, file: 'iter0/2.failed.js' });
    expect(rep.candidates[1]!.error).toMatch(/^reward check: 2\.reward\.js:2:\d+: error E_REWARD_EXPORTS: obs\.beacon_dist/);
  }, SLOW_MS);

  it('Ctrl-C during training stops the trainer, keeps the report (marked interrupted) and exits 130', async () => {
    const dir = temp('rewardd-refine-');
    const seed = join(dir, 'good.reward.js');
    writeFileSync(seed, GOOD);
    const out = join(dir, 'out');
    const r = await runCli(['reward', 'refine', '--from', seed, '--out', out, '--iterations', '0', '--sim', '--sim-generations', '500', '--robot', ROVER], {
      onStart: (c) => {
        c.stderr!.on('data', (d: Buffer) => {
          if (d.toString().includes('evaluating (sim)')) setTimeout(() => c.kill('SIGINT'), 300);
        });
      },
    });
    expect(r.code).toBe(130);
    expect(r.err).toContain('interrupted; writing what was done so far');
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as RefineReport;
    expect(rep.interrupted).toBe(true);
    expect(rep.candidates[0]).toMatchObject({ id: '0-1', fitness: null, error: 'sim: interrupted' });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('INTERRUPTED');
  }, SLOW_MS);
});
