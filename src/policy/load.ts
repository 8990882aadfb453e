/**
 * Reads a policy folder: policy.json, checked against the robot, and the
 * content hash of everything the policy's behaviour depends on (manifest and
 * every model/weight file), which goes into the episode start record.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RewarddError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from '../core/hash.js';
import type { RobotDescription } from '../core/robot.js';
import { bindPolicyToRobot, type PolicyIo } from './contract.js';
import { parsePolicyManifest, type ModelSpec, type PolicyManifest } from './manifest.js';

export interface LoadedPolicy {
  readonly dir: string;
  readonly manifest: PolicyManifest;
  readonly io: PolicyIo;
  /** Short content hash (12 hex) of manifest + model files. */
  readonly hash: string;
  readonly sha256: string;
  /** Every file hashed, relative to dir, in hash order. */
  readonly files: readonly string[];
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RewarddError('E_POLICY', `${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RewarddError('E_POLICY', `${what} ${path}: expected JSON, ${(e as Error).message}`);
  }
}

/** The files a model consists of: the model file and, for TF.js, its weight shards. */
export function modelFiles(dir: string, m: ModelSpec): string[] {
  const main = join(dir, m.path);
  if (!existsSync(main)) throw new RewarddError('E_POLICY', `policy.json models: expected ${m.format} file ${m.path} in ${dir}, found none`);
  if (m.format === 'onnx') return [m.path];
  const mj = readJson(main, 'TF.js model') as { weightsManifest?: { paths?: string[] }[] };
  const shards = (mj.weightsManifest ?? []).flatMap((g) => g.paths ?? []).map((p) => join(dirname(m.path), p));
  for (const s of shards) {
    if (!existsSync(join(dir, s))) throw new RewarddError('E_POLICY', `${m.path} weightsManifest: expected weight file ${s}, found none`);
  }
  return [m.path, ...shards];
}

export function loadPolicyManifest(dir: string, robot: RobotDescription): LoadedPolicy {
  const manifest = parsePolicyManifest(readJson(join(dir, 'policy.json'), 'policy manifest'), 'policy.json');
  const io = bindPolicyToRobot(manifest, robot);
  const files = [...new Set(manifest.models.flatMap((m) => modelFiles(dir, m)))].sort();
  // sha256 over "name\0sha256(content)\n" lines: renaming or editing any file changes it.
  const lines = [`policy.json\0${sha256Hex(canonicalJson(manifest))}`];
  for (const f of files) lines.push(`${f}\0${sha256Hex(readFileSync(join(dir, f)))}`);
  const sha256 = sha256Hex(lines.join('\n'));
  return { dir, manifest, io, hash: sha256.slice(0, 12), sha256, files };
}
