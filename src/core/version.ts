import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
