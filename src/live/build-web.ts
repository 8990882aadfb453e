import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { packageRoot } from '../core/version.js';
import { webDir } from './dashboard-server.js';

/**
 * `npm run build` bundles the dashboard page: src/live/web/main.ts with
 * uPlot, mqtt.js's browser build and the package's own batch decoder become
 * one app.js (+ app.css) in dist/src/live/web, served by the dashboard server.
 * Nothing is fetched at run time; the page works on a field network with no
 * internet.
 */
export async function buildDashboard(outDir = webDir()): Promise<void> {
  const src = join(packageRoot(), 'src', 'live', 'web');
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(src, 'main.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync(join(src, 'index.html'), join(outDir, 'index.html'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildDashboard();
