/**
 * `npm run bench [-- name ...]`: runs the benchmarks (all by default) and
 * prints their tables. Each benchmark measures its own baseline in the same
 * run and prints ratios: the machine is shared, absolute numbers drift.
 */
import { relaunchWithRewarddFlags } from '../src/core/relaunch.js';

// The reward benchmarks run the sandbox in this process: take rewardd's Node flags first.
await relaunchWithRewarddFlags();
const ALL = ['pipeline', 'protocol', 'reward', 'isolation', 'policy', 'transport', 'relabel', 'calibration', 'vision', 'authoring', 'live'] as const;

const asked = process.argv.slice(2);
const names = asked.length > 0 ? asked : [...ALL];
for (const n of names) {
  if (!(ALL as readonly string[]).includes(n)) {
    process.stderr.write(`bench: unknown benchmark "${n}"; expected one of ${ALL.join(', ')}\n`);
    process.exit(2);
  }
}
for (const n of names) {
  process.stdout.write(`\n=== bench ${n} ===\n`);
  const mod = (await import(`./${n}.js`)) as { run(): Promise<void> };
  await mod.run();
}
