/**
 * `npm run bench -- live`: the dashboard page in headless Chromium against
 * `rewardd run --hz 1000` (the real CLI, sim link, embedded broker; another
 * rate with REWARDD_BENCH_LIVE_HZ), for
 * REWARDD_BENCH_LIVE_S seconds (default 60; the 10-minute figure in
 * docs/live.md is REWARDD_BENCH_LIVE_S=600). Every 30 s it samples the page's
 * frame rate, its JS heap (Chrome DevTools Protocol Performance.getMetrics),
 * the plot's redraw time and the steps the page keeps. Baseline, in the same
 * browser and run: the frame rate of a blank page that only counts frames.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { packageRoot } from '../src/core/version.js';
import { table } from './stats.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
// The same flags as test/live/browser.ts.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SAMPLE_S = 30;

async function heapMb(page: Page): Promise<{ used: number; total: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  const m = (name: string): number => (metrics.find((x) => x.name === name)?.value ?? NaN) / 2 ** 20;
  return { used: m('JSHeapUsedSize'), total: m('JSHeapTotalSize') };
}

async function blankFps(page: Page, seconds: number): Promise<number> {
  await page.setContent('<p>baseline</p>');
  // Browser code as text: this file is compiled without the DOM's types.
  return (await page.evaluate(`new Promise((resolve) => {
    let n = 0;
    const t0 = performance.now();
    const f = (now) => { n++; if (now - t0 < ${seconds * 1000}) requestAnimationFrame(f); else resolve((n * 1000) / (now - t0)); };
    requestAnimationFrame(f);
  })`)) as number;
}

export async function run(): Promise<void> {
  const duration = Number(process.env.REWARDD_BENCH_LIVE_S ?? '60');
  const hz = process.env.REWARDD_BENCH_LIVE_HZ ?? '1000';
  const state = mkdtempSync(join(tmpdir(), 'rewardd-bench-live-'));
  const daemon = spawn(process.execPath, ['--no-node-snapshot', join(packageRoot(), 'bin', 'rewardd.js'), 'run', '--hz', hz, '--broker-port', '0', '--broker-ws-port', '0', '--dashboard-port', '0', '--state-dir', state, '--no-status'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const profile = mkdtempSync(join(tmpdir(), 'rewardd-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 1000 } });
  try {
    const t0 = performance.now();
    while (!/dashboard: (http:\S+)/.test(log) || !/running rover/.test(log)) {
      if (daemon.exitCode !== null || performance.now() - t0 > 60_000) throw new Error(`rewardd run did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /dashboard: (http:\S+)/.exec(log)![1]!;
    const page = await context.newPage();
    const baseline = await blankFps(page, 10);
    await page.goto(url);
    const rows: Array<Record<string, string | number>> = [];
    const start = performance.now();
    for (let t = SAMPLE_S; t <= duration; t += SAMPLE_S) {
      await new Promise((r) => setTimeout(r, start + t * 1000 - performance.now()));
      const s = (await page.evaluate(`(() => { const d = window.rewarddDashboard; return { fps: d.fps(), kept: d.history.size, redrawMs: d.plot.lastRedrawMs, points: d.plot.drawn.points, episodes: d.book.episodes.size, hz: d.health() ? d.health().tick.hz : NaN }; })()`)) as { fps: number; kept: number; redrawMs: number; points: number; episodes: number; hz: number };
      const heap = await heapMb(page);
      rows.push({ 't s': t, fps: s.fps, 'fps / blank page': s.fps / baseline, 'heap used MiB': heap.used, 'heap total MiB': heap.total, 'steps kept': s.kept, 'points drawn': s.points, 'redraw ms': s.redrawMs, 'robot tick Hz': s.hz });
    }
    console.log(`\ndashboard page vs rewardd run --hz ${hz}, ${duration} s (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
    console.log(`baseline: blank page ${baseline.toFixed(1)} fps in the same browser`);
    console.log(table(rows));
  } finally {
    await context.close();
    daemon.kill('SIGINT');
    await new Promise((r) => daemon.once('exit', r));
    rmSync(profile, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}
