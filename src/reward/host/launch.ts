import { fileURLToPath } from 'node:url';

/**
 * How to start a reward host: this Node binary, the flags the sandbox needs,
 * and host-main. From compiled code (dist/) that is the .js file; from source
 * (vitest, tsx) the .ts file through tsx's loader.
 *
 * --no-node-snapshot: isolated-vm 5 on Node 20 crashes without it.
 */
export function hostLaunch(): { execPath: string; args: string[] } {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const main = fileURLToPath(new URL(`./host-main.${fromSource ? 'ts' : 'js'}`, here));
  const flags = ['--no-node-snapshot'];
  if (fromSource) flags.push('--import', import.meta.resolve('tsx/esm'));
  return { execPath: process.execPath, args: [...flags, main] };
}
