/** Shared fixtures for policy tests: a temp copy of the committed policy with a patched policy.json. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRobot } from '../../src/core/robot.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const POLICY_DIR = join(ROOT, 'policies/rover-reach');
export const ROVER = loadRobot(join(ROOT, 'robots/rover.json')).robot;

export function tempDir(prefix = 'rewardd-policy-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Copies the committed example policy and lets `patch` edit its policy.json object. */
export function patchedPolicy(patch: (m: Record<string, any>) => void): string {
  const dir = tempDir();
  cpSync(POLICY_DIR, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'policy.json'), 'utf8')) as Record<string, any>;
  patch(m);
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(m));
  return dir;
}
