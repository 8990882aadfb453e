import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritableExecArgv, RelabelPool } from '../../src/relabel/pool.js';
import { recordRoverEpisodes, type RecordedEpisode } from './fixtures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let store: string;
let recorded: RecordedEpisode[];
beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-worker-flags-'));
  recorded = await recordRoverEpisodes({ storeDir: store, episodes: 2, stepLimit: 150 });
}, 60_000);
afterAll(() => rmSync(store, { recursive: true, force: true }));

describe('relabel workers start with the caller\'s Node flags, less those that would run other code', () => {
  it('drops inspector flags and -e/-p/--eval/--print with their code, keeps the rest', () => {
    expect(inheritableExecArgv(['--no-node-snapshot', '-e', 'import("x")', '--max-old-space-size=4096'])).toEqual(['--no-node-snapshot', '--max-old-space-size=4096']);
    expect(inheritableExecArgv(['--eval=1', '--print', '2', '-p', '3', '--input-type', 'module', '--inspect=9229', '--cpu-prof'])).toEqual(['--cpu-prof']);
    expect(inheritableExecArgv(['--import', 'tsx', '--test', '-i', '--check'])).toEqual(['--import', 'tsx']);
    // Inspector flags whose value is the next argument: the value goes too (else the worker would run "9239").
    expect(inheritableExecArgv(['--inspect-port', '9239', '--debug-port', '9', '--inspect-publish-uid', 'http', '--inspect-port=1', '--stack-size=900'])).toEqual(['--stack-size=900']);
  });

  it('a pool refuses to start inside a relabel worker (the guard against workers starting workers)', () => {
    process.env.REWARDD_RELABEL_WORKER = '1';
    try {
      expect(() => new RelabelPool({ workers: 1 })).toThrow(/started inside a relabel worker/);
    } finally {
      delete process.env.REWARDD_RELABEL_WORKER;
    }
  });

  it('a relabel from a `node -e` script runs once and ends (it used to restart the script in every worker)', () => {
    const script = `Promise.all([import(${JSON.stringify(join(root, 'dist/src/relabel/relabel.js'))}), import(${JSON.stringify(join(root, 'dist/src/relabel/pool.js'))})]).then(async ([m, p]) => {
      let started = 0;
      const pool = new p.RelabelPool({ workers: 1, onWorkerStart: () => started++ });
      const r = await m.relabelStore({ storeDir: ${JSON.stringify(store)}, reward: { file: ${JSON.stringify(join(root, 'rewards/reach-beacon.reward.js'))} }, save: false, pool });
      await pool.close();
      console.log('relabelled', r.steps, 'errors', r.errors.length, 'workers', started);
    });`;
    const r = spawnSync(process.execPath, ['--no-node-snapshot', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error, r.stderr).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    // Every step relabelled by the one worker this script started: the worker ran worker-main, not the script.
    expect(r.stdout.trim().split('\n')).toEqual([`relabelled ${recorded.reduce((a, e) => a + e.steps, 0)} errors 0 workers 1`]);
  }, 90_000);
});
