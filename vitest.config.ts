import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { rewarddNodeFlags } from './src/core/node-flags.js';

/**
 * The longest files first (measured: 40–200 s each, the suite ~1,200 s of file time on two
 * workers). Vitest orders by the durations it cached on the last run; a clean clone (CI) has no
 * cache and would order by file size, and a 200 s file started last makes the run that much longer.
 */
const SLOW_FIRST = [
  'test/isolation/routes.test.ts',
  'test/isolation/relabel-route.test.ts',
  'test/link-serial/episode-reset.test.ts',
  'test/cli/usage-cli.test.ts',
  'test/live/dashboard.test.ts',
  'test/e2e/reward-swap.test.ts',
  'test/transport/broker-restart.test.ts',
  'test/link-serial/daemon-serial.test.ts',
  'test/cli/estop-cli.test.ts',
  'test/firmware-avr/avr-daemon.test.ts',
  'test/relabel/relabel.test.ts',
  'test/e2e/push-routes.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOW_FIRST.findIndex((p) => f.moduleId.replace(/\\/g, '/').endsWith(p));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes, not threads: isolated-vm and the control worker need a
    // whole process each, and a crash in one file must not take the run down.
    pool: 'forks',
    // The sandbox runs inside the workers, so they start with rewardd's Node
    // flags, as bin/rewardd.js does. What a test spawns gets none from here: it
    // passes rewarddNodeFlags() itself, as the daemon's own spawns must.
    execArgv: rewarddNodeFlags(),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: a third file at once made the run no shorter (the daemons, hosts and browsers
    // keep both cores busy) and the timing tests flaky. REWARDD_TEST_WORKERS=1 on a busy machine.
    maxWorkers: Number(process.env.REWARDD_TEST_WORKERS) || 2,
    sequence: { sequencer: SlowFirst },
  },
});
