import type { CheckOptions, CheckReport } from './check.js';
import { HostDiedError, RewardHost, type RewardHostOptions } from './host/reward-host.js';

/**
 * `rewardd reward check` as users run it: the whole check runs in a
 * disposable reward host process, so a program that aborts V8 (an allocation
 * bomb), crashes or wedges a built-in becomes one diagnostic with its cause and
 * exit 1, never a dead CLI with a heap dump. The check itself stops at the
 * first fatal step (check.ts), so a bad program is reported within seconds.
 */
export async function checkRewardProgram(o: CheckOptions, host: RewardHostOptions = {}): Promise<CheckReport> {
  const t0 = performance.now();
  const h = await RewardHost.start(host);
  try {
    return await h.check(o);
  } catch (e) {
    if (!(e instanceof HostDiedError)) throw e;
    const d = e.death;
    const code = d.reason === 'out_of_memory' ? 'E_REWARD_MEMORY' : d.reason === 'timeout' ? 'E_REWARD_TIMEOUT' : 'E_REWARD_CRASHED';
    return {
      ok: false,
      file: o.filename,
      diagnostics: [{ severity: 'error', code, file: o.filename, line: 0, column: 0, message: `the program killed its reward host (${d.reason}): ${d.detail}; the check stopped there` }],
      probes: [],
      terms: [],
      elapsedMs: performance.now() - t0,
    };
  } finally {
    h.kill();
  }
}
