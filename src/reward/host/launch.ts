import { fileURLToPath } from 'node:url';
import { rewarddNodeFlags } from '../../core/node-flags.js';

/**
 * How to start a reward host: this Node binary, the flags the sandbox needs,
 * and host-main. From compiled code (dist/) that is the .js file; from source
 * (vitest, tsx) the .ts file through tsx's loader.
 *
 * The flags are rewardd's for this Node (src/core/node-flags.ts: --no-node-snapshot for isolated-vm).
 */
export function hostLaunch(): { execPath: string; args: string[] } {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const main = fileURLToPath(new URL(`./host-main.${fromSource ? 'ts' : 'js'}`, here));
  const flags = rewarddNodeFlags();
  if (fromSource) flags.push('--import', import.meta.resolve('tsx/esm'));
  return { execPath: process.execPath, args: [...flags, main] };
}
