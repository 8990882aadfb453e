import { createHash, randomBytes, sign } from 'node:crypto';
import { RewarddError, describeValue } from '../core/errors.js';
import { privateKeyFromPem } from './keys.js';

/**
 * What a signature covers. The bytes are a fixed text, not JSON, so no
 * serializer's key order or number formatting can change them:
 *
 *   rewardd-signed v=1\n purpose=<p>\n robot=<robot>\n ts=<ms>\n nonce=<nonce>\n sha256=<hex>\n [name=<file name>\n]
 *
 * The name line is there only when the message carries a file name (a reward
 * push names its file, so the robot compiles a .ts source as TypeScript and
 * its diagnostics name the author's file); a message without one signs the
 * same bytes as before the name existed.
 * `purpose` keeps a signature for one thing (a reward push) from being
 * accepted as another (an e-stop reset); `robot` keeps a push signed for one
 * robot from being replayed to another; the body (reward source, reset reason,
 * reward file) enters as its sha256. Every field is checked against a pattern
 * without newlines before it is placed here, so the text is unambiguous.
 */
export const SIGNED_VERSION = 1;
export type SignedPurpose = 'reward-push' | 'estop-reset' | 'reward-file' | 'arm' | 'episode-next';

/** Robot ids are topic levels; '*' is used for a reward file, which is not bound to one robot. */
export const ROBOT_RE = /^(?:[A-Za-z0-9_.:-]+|\*)$/;
export const NONCE_RE = /^[A-Za-z0-9_-]{8,128}$/;
export const FINGERPRINT_RE = /^[0-9a-f]{16}$/;

export interface SignedFields {
  purpose: SignedPurpose;
  robot: string;
  /** Wall time of signing, ms since the epoch. */
  ts: number;
  nonce: string;
  /** sha256 hex of the body. */
  digest: string;
  /** A file name the body travels under (reward pushes); checked against NAME_RE. */
  name?: string;
}

/** A file name in a signed message: a base name, no path, no newline. */
export const NAME_RE = /^[A-Za-z0-9_.+-]{1,200}$/;

export function signedBytes(f: SignedFields): Buffer {
  const name = f.name === undefined ? '' : `name=${f.name}\n`;
  return Buffer.from(`rewardd-signed v=${SIGNED_VERSION}\npurpose=${f.purpose}\nrobot=${f.robot}\nts=${f.ts}\nnonce=${f.nonce}\nsha256=${f.digest}\n${name}`, 'utf8');
}

export const sha256Hex = (body: string | Uint8Array): string => createHash('sha256').update(body).digest('hex');

/** The signature part common to every signed message. */
export interface SignatureFields {
  v: typeof SIGNED_VERSION;
  robot: string;
  ts: number;
  nonce: string;
  /** Fingerprint of the signing key. */
  key: string;
  /** base64 ed25519 signature over signedBytes(). */
  sig: string;
}

export interface SignOptions {
  robot: string;
  privateKeyPem: string;
  /** Default Date.now(): the receiver compares it with its own wall clock. */
  nowMs?: number;
  /** Default 16 random bytes, hex. */
  nonce?: string;
}

export function signFields(purpose: SignedPurpose, body: string | Uint8Array, o: SignOptions, name?: string): SignatureFields {
  if (name !== undefined && !NAME_RE.test(name)) throw new RewarddError('E_CONFIG', `file name: expected a base name of [A-Za-z0-9_.+-], at most 200 chars, found ${describeValue(name)}`);
  if (typeof o.robot !== 'string' || !ROBOT_RE.test(o.robot)) throw new RewarddError('E_CONFIG', `robot: expected a topic level of [A-Za-z0-9_.:-]+, found ${describeValue(o.robot)}`);
  const ts = o.nowMs ?? Date.now();
  if (!Number.isSafeInteger(ts) || ts < 0) throw new RewarddError('E_CONFIG', `nowMs: expected integer ms since the epoch, found ${describeValue(ts)}`);
  const nonce = o.nonce ?? randomBytes(16).toString('hex');
  if (!NONCE_RE.test(nonce)) throw new RewarddError('E_CONFIG', `nonce: expected 8..128 chars of [A-Za-z0-9_-], found ${describeValue(nonce)}`);
  const { key, fingerprint } = privateKeyFromPem(o.privateKeyPem);
  const sig = sign(null, signedBytes({ purpose, robot: o.robot, ts, nonce, digest: sha256Hex(body), ...(name !== undefined ? { name } : {}) }), key).toString('base64');
  return { v: SIGNED_VERSION, robot: o.robot, ts, nonce, key: fingerprint, sig };
}

export type FieldProblem = { code: 'malformed'; error: string };

/** Checks the shape of the signature fields of a parsed envelope; null if fine. */
export function checkSignatureFields(o: Record<string, unknown>, what: string): FieldProblem | null {
  const bad = (field: string, expected: string): FieldProblem => ({ code: 'malformed', error: `${what}: field "${field}": expected ${expected}, found ${describeValue(o[field])}` });
  if (o.v !== SIGNED_VERSION) return bad('v', String(SIGNED_VERSION));
  if (typeof o.robot !== 'string' || !ROBOT_RE.test(o.robot)) return bad('robot', 'a robot id');
  if (typeof o.ts !== 'number' || !Number.isSafeInteger(o.ts) || o.ts < 0) return bad('ts', 'integer ms since the epoch');
  if (typeof o.nonce !== 'string' || !NONCE_RE.test(o.nonce)) return bad('nonce', '8..128 chars of [A-Za-z0-9_-]');
  if (typeof o.key !== 'string' || !FINGERPRINT_RE.test(o.key)) return bad('key', 'a 16-hex-char key fingerprint');
  if (typeof o.sig !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(o.sig)) return bad('sig', 'a base64 ed25519 signature (88 chars)');
  return null;
}
