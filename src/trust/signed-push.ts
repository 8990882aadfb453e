import { verify as verifySignature } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { RewarddError, describeValue } from '../core/errors.js';
import { AllowedKeys } from './allowed-keys.js';
import { NAME_RE, checkSignatureFields, sha256Hex, signedBytes, signFields, type SignatureFields, type SignedPurpose, type SignOptions } from './envelope.js';
import { ReplayGuard } from './replay-guard.js';

/**
 * Signed reward pushes on `<prefix>/<robot>/reward/set`. The payload is the
 * JSON envelope
 *
 *   { "v": 1, "source": "...", "filename": "smooth.reward.ts", "robot": "rover", "ts": <ms>, "nonce": "...", "key": "<fingerprint>", "sig": "<base64>" }
 *
 * (extra fields such as "correlation" are ignored and not signed). The
 * signature covers (v, purpose "reward-push", robot, ts, nonce, sha256(source),
 * and the filename when there is one), see envelope.ts. The filename's
 * extension says how the robot compiles the source (.ts: TypeScript). A push is accepted only if it parses, names this robot, is
 * signed by a key in allowed_keys, is fresh, and its nonce was not seen.
 */
export type PushRefusalCode = 'unsigned' | 'bad_signature' | 'unknown_key' | 'stale' | 'replayed' | 'wrong_robot' | 'malformed';
export type PushRefusal = { ok: false; code: PushRefusalCode; error: string };
export type PushVerdict = { ok: true; source: string; filename?: string; signer: string; signerName: string } | PushRefusal;
export type EstopResetVerdict = { ok: true; reason: string; signer: string; signerName: string } | PushRefusal;

export interface SignedRewardPush extends SignatureFields {
  source: string;
  /** The pushed file's base name (its extension picks JS or TS); signed. */
  filename?: string;
}

export interface SignedEstopReset extends SignatureFields {
  action: 'reset';
  reason: string;
}

export interface SignedArm extends SignatureFields {
  action: 'arm';
  reason: string;
}

export type ArmVerdict = EstopResetVerdict;

export interface SignedEpisodeNext extends SignatureFields {
  action: 'next';
  reason: string;
}

export function signRewardPush(o: SignOptions & { source: string; filename?: string }): SignedRewardPush {
  if (typeof o.source !== 'string') throw new RewarddError('E_CONFIG', `source: expected the reward program text, found ${describeValue(o.source)}`);
  return { source: o.source, ...(o.filename !== undefined ? { filename: o.filename } : {}), ...signFields('reward-push', o.source, o, o.filename) };
}

/** An e-stop reset that PushVerifier.verifyEstopReset accepts; `parseEstop` in transport/commands.ts reads it as a reset. */
export function signEstopReset(o: SignOptions & { reason?: string }): SignedEstopReset {
  const reason = o.reason ?? 'signed reset';
  return { action: 'reset', reason, ...signFields('estop-reset', reason, o) };
}

/** An arm command that PushVerifier.verifyArm accepts; `parseArm` in transport/commands.ts reads it as an arm. */
export function signArm(o: SignOptions & { reason?: string }): SignedArm {
  const reason = o.reason ?? 'signed arm';
  return { action: 'arm', reason, ...signFields('arm', reason, o) };
}

/** An operator's "next" (episode/next) that PushVerifier.verifyEpisodeNext accepts. */
export function signEpisodeNext(o: SignOptions & { reason?: string }): SignedEpisodeNext {
  const reason = o.reason ?? 'signed next';
  return { action: 'next', reason, ...signFields('episode-next', reason, o) };
}

/** Largest signed payload looked at; the transport already caps reward sources at 256 KiB. */
export const MAX_SIGNED_PAYLOAD_BYTES = 1024 * 1024;

export interface PushVerifierOptions {
  /** This robot's id: a push signed for another robot is refused. */
  robot: string;
  /** Documented default: `<stateDir>/allowed_keys` (defaultAllowedKeysPath). */
  allowedKeysFile: string;
  /** Freshness window, ms either side of the robot's wall clock. Default 60000. */
  windowMs?: number;
  /** Nonces remembered, at most. Default 10000. */
  nonceCacheSize?: number;
  clock?: Clock;
}

export const PUSH_VERIFIER_DEFAULTS = { windowMs: 60_000, nonceCacheSize: 10_000 };

const refuse = (code: PushRefusalCode, error: string): PushRefusal => ({ ok: false, code, error: `${code}: ${error}` });

export class PushVerifier {
  readonly robot: string;
  readonly allowedKeys: AllowedKeys;
  readonly windowMs: number;
  private readonly replay: ReplayGuard;

  constructor(o: PushVerifierOptions) {
    if (typeof o.robot !== 'string' || !/^[A-Za-z0-9_.:-]+$/.test(o.robot)) throw new RewarddError('E_CONFIG', `robot: expected a topic level of [A-Za-z0-9_.:-]+, found ${describeValue(o.robot)}`);
    const windowMs = o.windowMs ?? PUSH_VERIFIER_DEFAULTS.windowMs;
    if (!Number.isFinite(windowMs) || windowMs < 1000 || windowMs > 3_600_000) throw new RewarddError('E_CONFIG', `windowMs: expected 1000..3600000, found ${describeValue(windowMs)}`);
    const capacity = o.nonceCacheSize ?? PUSH_VERIFIER_DEFAULTS.nonceCacheSize;
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 10_000_000) throw new RewarddError('E_CONFIG', `nonceCacheSize: expected an integer 1..10000000, found ${describeValue(capacity)}`);
    this.robot = o.robot;
    this.windowMs = windowMs;
    this.allowedKeys = new AllowedKeys(o.allowedKeysFile);
    this.replay = new ReplayGuard({ windowMs, capacity, clock: o.clock ?? systemClock });
  }

  /** Verifies a `reward/set` payload (the raw MQTT payload). The running reward is the caller's to keep on refusal. */
  verify(payload: string | Buffer): PushVerdict {
    const parsed = this.parse(payload, 'reward push', (o) => {
      if (typeof o.source !== 'string') return `field "source": expected the reward program text, found ${describeValue(o.source)}`;
      if (o.filename !== undefined && (typeof o.filename !== 'string' || !NAME_RE.test(o.filename))) return `field "filename": expected a base name of [A-Za-z0-9_.+-] (at most 200 chars), found ${describeValue(o.filename)}`;
      return null;
    });
    if (!parsed.ok) return parsed;
    const source = parsed.env.source as string;
    const filename = parsed.env.filename as string | undefined;
    const checked = this.check('reward-push', parsed.env, source, filename);
    return checked.ok ? { ok: true, source, ...(filename !== undefined ? { filename } : {}), signer: checked.signer, signerName: checked.signerName } : checked;
  }

  /** Verifies an `estop` reset payload. Stops need no signature; see estop-reset.ts for the whole rule. */
  verifyEstopReset(payload: string | Buffer): EstopResetVerdict {
    return this.verifyCommand(payload, 'estop-reset', 'reset', 'e-stop reset');
  }

  /** Verifies an `arm` payload: a signed {"action":"arm","reason"} for this robot. Disarms need no signature; see arm.ts. */
  verifyArm(payload: string | Buffer): ArmVerdict {
    return this.verifyCommand(payload, 'arm', 'arm', 'arm');
  }

  /** Verifies an `episode/next` payload: a signed {"action":"next","reason"} for this robot (episode-next.ts). */
  verifyEpisodeNext(payload: string | Buffer): EstopResetVerdict {
    return this.verifyCommand(payload, 'episode-next', 'next', 'next');
  }

  /** A signed `{"action": <action>, "reason": "..."}` command; the signature covers the reason under `purpose`. */
  private verifyCommand(payload: string | Buffer, purpose: 'estop-reset' | 'arm' | 'episode-next', action: string, what: string): EstopResetVerdict {
    const parsed = this.parse(payload, what, (o) => {
      if (o.action !== action) return `field "action": expected "${action}", found ${describeValue(o.action)}`;
      return typeof o.reason === 'string' ? null : `field "reason": expected a string, found ${describeValue(o.reason)}`;
    });
    if (!parsed.ok) return parsed;
    const reason = parsed.env.reason as string;
    const checked = this.check(purpose, parsed.env, reason);
    return checked.ok ? { ok: true, reason, signer: checked.signer, signerName: checked.signerName } : checked;
  }

  /** Re-reads allowed_keys now (on demand, e.g. SIGHUP); returns the number of keys. */
  reloadAllowedKeys(): number {
    return this.allowedKeys.reload();
  }

  private parse(payload: string | Buffer, what: string, body: (o: Record<string, unknown>) => string | null): { ok: true; env: Record<string, unknown> } | PushRefusal {
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (size > MAX_SIGNED_PAYLOAD_BYTES) return refuse('malformed', `${what}: expected at most ${MAX_SIGNED_PAYLOAD_BYTES} bytes, found ${size}`);
    const text = (typeof payload === 'string' ? payload : payload.toString('utf8')).trim();
    const expected = `a signed envelope {"v":1,...,"key","sig"} (rewardd keys new; sign with --key)`;
    if (!text.startsWith('{')) return refuse('unsigned', `${what}: expected ${expected}, found plain text (${size} bytes)`);
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      return refuse('malformed', `${what}: expected JSON, found a parse error (${(e as Error).message})`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) return refuse('malformed', `${what}: expected a JSON object, found ${describeValue(o)}`);
    const env = o as Record<string, unknown>;
    if (env.sig === undefined && env.key === undefined) return refuse('unsigned', `${what}: expected ${expected}, found JSON without "sig" and "key"`);
    const shape = checkSignatureFields(env, what);
    if (shape) return refuse('malformed', shape.error);
    const bodyProblem = body(env);
    if (bodyProblem) return refuse('malformed', `${what}: ${bodyProblem}`);
    return { ok: true, env };
  }

  private check(purpose: SignedPurpose, env: Record<string, unknown>, body: string, name?: string): { ok: true; signer: string; signerName: string } | PushRefusal {
    const f = env as unknown as SignatureFields;
    this.allowedKeys.refresh();
    const key = this.allowedKeys.get(f.key);
    if (!key) {
      const why = this.allowedKeys.lastError ?? `${this.allowedKeys.size} keys allowed`;
      return refuse('unknown_key', `expected a key listed in ${this.allowedKeys.path}, found key ${f.key} (${why})`);
    }
    const bytes = signedBytes({ purpose, robot: f.robot, ts: f.ts, nonce: f.nonce, digest: sha256Hex(body), ...(name !== undefined ? { name } : {}) });
    if (!verifySignature(null, bytes, key.publicKey, Buffer.from(f.sig, 'base64'))) {
      return refuse('bad_signature', `expected a ${purpose} signature by key ${f.key} ("${key.name}") over this ${purpose === 'reward-push' ? 'source' : 'reason'}, robot, ts and nonce, found one that does not verify (altered in transit, or signed for something else)`);
    }
    // Checked after the signature, so the robot named here is the one the signer meant.
    if (f.robot !== this.robot) return refuse('wrong_robot', `expected a message signed for robot "${this.robot}", found one signed for "${f.robot}"`);
    const replay = this.replay.admit(`${purpose}:${f.key}:${f.nonce}`, f.ts);
    if (replay) return refuse(replay.code, replay.error);
    return { ok: true, signer: key.fingerprint, signerName: key.name };
  }
}
