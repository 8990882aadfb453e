import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/core/version.js';

/**
 * A relabel worker's start-up is paid once per worker per run (docs/relabel.md, fifth pass): the
 * MCAP reader and @mcap/core are loaded only for an episode without a usable columns file. A resolve
 * hook in a child process lists every module the worker's job code pulls in at import time.
 */
const HOOK = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function resolve(s, c, next) { const r = await next(s, c); process.stdout.write("RESOLVED " + r.url + "\\\\n"); return r; }'));
`;

function resolvedBy(module: string): string[] {
  const root = packageRoot();
  const out = execFileSync(process.execPath, ['--no-node-snapshot', '--import', `data:text/javascript,${encodeURIComponent(HOOK)}`, '--input-type=module', '-e', `await import(${JSON.stringify(join(root, module))});`], { encoding: 'utf8', cwd: root });
  return out.split('\n').filter((l) => l.startsWith('RESOLVED ')).map((l) => l.slice('RESOLVED '.length));
}

describe('what a relabel worker loads', () => {
  it('its job code does not load the MCAP reader or @mcap/core until an episode needs them', () => {
    const urls = resolvedBy('dist/src/relabel/episode-job.js');
    // The hook saw the job code's own imports: the check below is about a real module list.
    expect(urls.some((u) => u.endsWith('/dist/src/relabel/stored-episode.js'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/src/reward/runtime.js'))).toBe(true);
    expect(urls.filter((u) => u.includes('@mcap/core') || u.endsWith('/episode-columns.js') || u.endsWith('/mcap-columns.js'))).toEqual([]);
  });

  it('the reader that needs them still loads them (the same hook sees @mcap/core)', () => {
    const urls = resolvedBy('dist/src/relabel/episode-columns.js');
    expect(urls.some((u) => u.includes('@mcap/core'))).toBe(true);
  });
});
