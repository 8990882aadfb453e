import { readFile, stat } from 'node:fs/promises';
import { RewarddError } from '../core/errors.js';

/**
 * Reading a reward file, apart from the sandbox: relabel, diff and export read the file in the
 * CLI's process and evaluate it only in worker processes, so they must not import the sandbox
 * (reward/index.ts), whose isolated-vm add-on then loads in a process that does not need it.
 */

/** Reward files are small programs; anything bigger is a mistake or an attack. */
export const MAX_REWARD_FILE_BYTES = 256 * 1024;

export async function loadRewardFile(path: string): Promise<{ source: string; filename: string }> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new RewarddError('E_FILE', `reward file ${path}: expected a file (*.reward.js or *.reward.ts), found ${st.isDirectory() ? 'a folder' : 'something else'}`);
    size = st.size;
  } catch (e) {
    if (e instanceof RewarddError) throw e;
    throw new RewarddError('E_FILE', `reward file ${path}: ${(e as Error).message}`);
  }
  if (size > MAX_REWARD_FILE_BYTES) {
    throw new RewarddError('E_FILE', `reward file ${path}: expected at most ${MAX_REWARD_FILE_BYTES} bytes, found ${size}`);
  }
  const source = await readFile(path, 'utf8');
  return { source, filename: path };
}
