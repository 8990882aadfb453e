import { verify as verifySignature } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { RewarddError, describeValue } from '../core/errors.js';
import { AllowedKeys } from './allowed-keys.js';
import { checkSignatureFields, sha256Hex, signedBytes, signFields, type SignatureFields } from './envelope.js';

/**
 * Who may change the reward by editing the file on disk.
 *
 * - `trustedLocalPath` (default): whoever can write the file is trusted (the
 *   robot's own account); the file is used as it is and carries no signer.
 * - `signatureRequired`: the file must have a detached signature
 *   `<reward>.sig` next to it, by a key in allowed_keys, over the file's exact
 *   bytes. Use it when the reward folder is synced from elsewhere or shared.
 *
 * The signature file is JSON `{v:1, sha256, robot:"*", ts, nonce, key, sig}`
 * (purpose "reward-file"; not bound to a robot, since one file may serve a
 * fleet). There is no freshness or replay check: a file is state, not a
 * message, so an older signed version put back is accepted (docs/security.md).
 * Write the .sig first, then the reward file (rename into place), so a watcher
 * never sees new source with an old signature for long.
 */
export type RewardFileMode = 'trustedLocalPath' | 'signatureRequired';
export type RewardFileRefusalCode = 'unsigned' | 'bad_signature' | 'unknown_key' | 'malformed' | 'unreadable';
export type RewardFileVerdict = { ok: true; source: string; signer: string | null; signerName: string | null } | { ok: false; code: RewardFileRefusalCode; error: string };

export interface RewardFileSignature extends SignatureFields {
  sha256: string;
}

export const signaturePathFor = (rewardPath: string): string => `${rewardPath}.sig`;
const MAX_REWARD_FILE_BYTES = 1024 * 1024;

export interface RewardFilePolicyOptions {
  mode?: RewardFileMode;
  /** Required with signatureRequired; default location `<stateDir>/allowed_keys`. */
  allowedKeysFile?: string;
}

export function signRewardSource(source: string | Uint8Array, privateKeyPem: string, nowMs?: number): RewardFileSignature {
  return { ...signFields('reward-file', source, { robot: '*', privateKeyPem, ...(nowMs !== undefined ? { nowMs } : {}) }), sha256: sha256Hex(source) };
}

/** Writes `<rewardPath>.sig` for the file's current bytes (tmp + rename). Returns the signature file path. */
export function signRewardFile(rewardPath: string, privateKeyPem: string): string {
  const sig = signRewardSource(readFileSync(rewardPath), privateKeyPem);
  const out = signaturePathFor(rewardPath);
  writeFileSync(`${out}.tmp`, `${JSON.stringify(sig)}\n`);
  renameSync(`${out}.tmp`, out);
  return out;
}

export class RewardFilePolicy {
  readonly mode: RewardFileMode;
  readonly allowedKeys: AllowedKeys | null;

  constructor(o: RewardFilePolicyOptions = {}) {
    this.mode = o.mode ?? 'trustedLocalPath';
    if (this.mode !== 'trustedLocalPath' && this.mode !== 'signatureRequired') throw new RewarddError('E_CONFIG', `reward file policy: expected "trustedLocalPath" or "signatureRequired", found ${describeValue(this.mode)}`);
    if (this.mode === 'signatureRequired' && !o.allowedKeysFile) throw new RewarddError('E_CONFIG', 'reward file policy signatureRequired: expected allowedKeysFile, found none');
    this.allowedKeys = this.mode === 'signatureRequired' && o.allowedKeysFile ? new AllowedKeys(o.allowedKeysFile) : null;
  }

  /** Reads the reward file once and checks it; the returned source is exactly the bytes that were checked. */
  verifyRewardFile(path: string): RewardFileVerdict {
    let source: string;
    try {
      const buf = readFileSync(path);
      if (buf.length > MAX_REWARD_FILE_BYTES) return { ok: false, code: 'unreadable', error: `unreadable: reward file ${path}: expected at most ${MAX_REWARD_FILE_BYTES} bytes, found ${buf.length}` };
      source = buf.toString('utf8');
    } catch (e) {
      return { ok: false, code: 'unreadable', error: `unreadable: reward file ${path}: ${(e as Error).message}` };
    }
    return this.verifyRewardSource(path, source);
  }

  /** Checks source text already read from `path` (e.g. by the file watcher) against `<path>.sig`. */
  verifyRewardSource(path: string, source: string): RewardFileVerdict {
    if (this.mode === 'trustedLocalPath' || !this.allowedKeys) return { ok: true, source, signer: null, signerName: null };
    const sigPath = signaturePathFor(path);
    let text: string;
    try {
      text = readFileSync(sigPath, 'utf8');
    } catch {
      return { ok: false, code: 'unsigned', error: `unsigned: reward file ${path}: expected a signature file ${sigPath} (rewardd keys sign ${path} --key KEY), found none` };
    }
    let o: Record<string, unknown>;
    try {
      const j: unknown = JSON.parse(text);
      if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error(`expected a JSON object, found ${describeValue(j)}`);
      o = j as Record<string, unknown>;
    } catch (e) {
      return { ok: false, code: 'malformed', error: `malformed: ${sigPath}: ${(e as Error).message}` };
    }
    const shape = checkSignatureFields(o, sigPath);
    if (shape) return { ok: false, code: 'malformed', error: `malformed: ${shape.error}` };
    const f = o as unknown as RewardFileSignature;
    const digest = sha256Hex(source);
    if (f.sha256 !== digest) return { ok: false, code: 'bad_signature', error: `bad_signature: ${sigPath}: expected a signature over sha256 ${digest.slice(0, 12)}… (the file as it is now), found one over sha256 ${typeof f.sha256 === 'string' ? `${f.sha256.slice(0, 12)}…` : describeValue(f.sha256)} (an earlier version of the file); re-sign after editing` };
    this.allowedKeys.refresh();
    const key = this.allowedKeys.get(f.key);
    if (!key) return { ok: false, code: 'unknown_key', error: `unknown_key: ${sigPath}: expected a key listed in ${this.allowedKeys.path}, found key ${f.key}` };
    const bytes = signedBytes({ purpose: 'reward-file', robot: f.robot, ts: f.ts, nonce: f.nonce, digest });
    if (!verifySignature(null, bytes, key.publicKey, Buffer.from(f.sig, 'base64'))) {
      return { ok: false, code: 'bad_signature', error: `bad_signature: ${sigPath}: expected a reward-file signature by key ${f.key} ("${key.name}"), found one that does not verify` };
    }
    return { ok: true, source, signer: key.fingerprint, signerName: key.name };
  }
}
