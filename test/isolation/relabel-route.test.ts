import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRoverEpisodes } from '../relabel/fixtures.js';
import { rewarddAsync } from './daemon-process.js';
import { HOSTILE, LATE_AFTER, type HostileProgram } from './hostile-programs.js';

/**
 * The relabel route of the hostile suite: every program through `rewardd relabel` (the built
 * CLI, --jobs 1) over a small store. Reward code runs only in relabel worker processes; the
 * CLI must finish with a report (exit 0 or 1, never a V8 abort) that names what the program
 * did, and the store must be untouched (a good program relabels it as before).
 */
interface Report {
  episodes: Array<{ episode: string; steps: number; failed: number; failures: Record<string, number>; firstFailure?: string }>;
  errors: Array<{ episode: string; error: string; failure?: string }>;
  steps: number;
  failedSteps: number;
}

let store: string;
let progs: string;
let totalSteps = 0;
let firstEpisode = '';
const outcomes: string[] = [];

beforeAll(async () => {
  store = mkdtempSync(join(tmpdir(), 'rewardd-iso-relabel-'));
  progs = mkdtempSync(join(tmpdir(), 'rewardd-iso-relabel-progs-'));
  // More steps than LATE_AFTER in all: a late program misbehaves in this store (one warm worker keeps its module state).
  const eps = await recordRoverEpisodes({ storeDir: store, episodes: 6, stepLimit: 800, seed: 5 });
  totalSteps = eps.reduce((n, e) => n + e.steps, 0);
  firstEpisode = eps[0]!.episode;
}, 120_000);

afterAll(() => {
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync('test-artifacts/isolation-relabel-route.txt', outcomes.join('\n') + '\n');
  rmSync(store, { recursive: true, force: true });
  rmSync(progs, { recursive: true, force: true });
});

async function relabel(h: HostileProgram): Promise<{ status: number | null; report: Report | null; stderr: string }> {
  const file = join(progs, `${h.name}.reward.js`);
  writeFileSync(file, h.source);
  // An early program misbehaves at its first step: one episode shows it (and keeps the suite short).
  const only = h.late ? [] : ['--episodes', firstEpisode];
  const r = await rewarddAsync(['relabel', '--store', store, '--reward', file, '--jobs', '1', '--no-save', '--json', ...only], 120_000);
  let report: Report | null = null;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    /* a refusal before any episode (a compile error) prints no report */
  }
  return { status: r.status, report, stderr: r.stderr };
}

describe('hostile reward programs through `rewardd relabel`', () => {
  it('the store has more steps than a late program behaves for', () => {
    expect(totalSteps).toBeGreaterThan(LATE_AFTER + 100);
  });

  it('every program: the CLI reports what it did, with a reason, and is never taken down', async () => {
    const pending = [...HOSTILE];
    // Two at a time: each run is its own CLI process with its own worker.
    const work = async (): Promise<void> => {
      for (let h = pending.shift(); h; h = pending.shift()) {
        const { status, report, stderr } = await relabel(h);
        // Exit 0 (steps failed, reported per episode), 1 (episodes lost with a reason), or 2/1 for a refused program.
        expect([0, 1], `${h.name}: exit ${status}; ${stderr.slice(-500)}`).toContain(status);
        expect(stderr, h.name).not.toMatch(/FATAL ERROR|Native stack trace|Aborted|core dumped/);
        let what: string;
        if (!report) {
          // Refused up front: the reason is on stderr.
          expect(stderr, h.name).toMatch(/E_REWARD_[A-Z]+/);
          what = `refused: ${stderr.trim().split('\n')[0]}`;
        } else {
          const reasons = [...report.errors.map((e) => `${e.failure ?? 'error'}: ${e.error}`), ...report.episodes.filter((e) => e.failed > 0).map((e) => `${Object.entries(e.failures).map(([k, n]) => `${k} ×${n}`).join(', ')}: ${e.firstFailure ?? ''}`)];
          // Every hostile program is caught somewhere in this store, with a reason.
          expect(reasons.length, `${h.name}: no failure reported (${report.steps} steps ok)`).toBeGreaterThan(0);
          for (const e of report.errors) expect(e.error, h.name).toMatch(/\((out_of_memory|timeout|crashed)\)$|E_REWARD_|relabel worker/);
          for (const e of report.episodes) if (e.failed > 0) expect(e.firstFailure, h.name).toMatch(/^E_REWARD_[A-Z_]+: /);
          if (h.late) expect(report.steps + report.errors.length, h.name).toBeGreaterThan(0);
          what = `${report.episodes.length} episodes relabelled (${report.failedSteps} steps failed), ${report.errors.length} lost; first: ${reasons[0]!.slice(0, 200)}`;
        }
        outcomes.push(`${h.name}${h.late ? ' (late)' : ''}: exit ${status}; ${what}`);
      }
    };
    await Promise.all([work(), work()]);
    expect(outcomes.length).toBe(HOSTILE.length);
  }, 900_000);

  it('afterwards a good program relabels every stored step', async () => {
    const r = await rewarddAsync(['relabel', '--store', store, '--reward', 'rewards/reach-beacon.reward.js', '--jobs', '1', '--no-save', '--json'], 120_000);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.errors).toEqual([]);
    expect(report.steps).toBe(totalSteps);
    expect(report.failedSteps).toBe(0);
  }, 120_000);
});
