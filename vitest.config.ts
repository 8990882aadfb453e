import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes, not threads: isolated-vm and the control worker need a
    // whole process each, and a crash in one file must not take the run down.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more parallel files only make broker and timing tests flaky.
    maxWorkers: 2,
  },
});
