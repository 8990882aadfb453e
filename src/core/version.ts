import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The rewardd package version, found by walking up from this file (works from src/ and dist/). */
export function rewarddVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const j = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'rewardd' && j.version) return j.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** The rewardd package root (where robots/, rewards/ and policies/ ship). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'robots'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/**
 * A default file path such as robots/rover.json: relative to the current folder when it is there
 * (a checkout, or the user's own copy), else the one that ships in the package, so a verb's default
 * works from any folder as `rewardd run`'s does (daemon/config.ts).
 */
export function shippedDefault(rel: string): string {
  return isAbsolute(rel) || existsSync(rel) ? rel : join(packageRoot(), rel);
}
