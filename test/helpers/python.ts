import { spawnSync } from 'node:child_process';

/**
 * Whether python3 here imports every one of these modules. The tests that read rewardd's files
 * with Python's own readers (numpy, pyarrow, pandas) skip on a laptop without them; .ci/run
 * installs them.
 */
export function pythonHas(...modules: string[]): boolean {
  return spawnSync('python3', ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
}
