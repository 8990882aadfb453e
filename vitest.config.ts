import { defineConfig } from 'vitest/config';
import { rewarddNodeFlags } from './src/core/node-flags.js';

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
  },
});
