import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { RewarddError, describeValue } from '../core/errors.js';

/**
 * Operator keys: ed25519 (node:crypto, no dependency). A private key lives in a
 * PKCS#8 PEM file readable only by its owner; a public key travels as one line
 * `ed25519 <base64 of the 32 raw bytes> <name>`, the same line in NAME.pub and
 * in a robot's allowed_keys file, so `cat alice.pub >> allowed_keys` is the
 * whole enrolment.
 */
export const KEY_TYPE = 'ed25519';
/** Fingerprint length in hex chars: 64 bits, enough to name a key among a team's, short enough to read aloud. */
export const FINGERPRINT_HEX = 16;
/** Bound on a key file read from disk: a PEM ed25519 key is ~120 bytes. */
const MAX_KEY_FILE_BYTES = 16 * 1024;

export interface KeyPair {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** The 32 raw public key bytes. */
  publicKeyRaw: Buffer;
  fingerprint: string;
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKeyRaw: raw, fingerprint: fingerprintOf(raw) };
}

/** First 16 hex chars of sha256 over the raw 32-byte public key. */
export function fingerprintOf(publicKeyRaw: Uint8Array): string {
  return createHash('sha256').update(publicKeyRaw).digest('hex').slice(0, FINGERPRINT_HEX);
}

export function rawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') throw new RewarddError('E_CONFIG', `key: expected an ed25519 key, found ${describeValue(key.asymmetricKeyType)}`);
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RewarddError('E_CONFIG', `ed25519 public key: expected 32 bytes, found ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

/** `ed25519 <base64> <name>`: one line of NAME.pub and of allowed_keys. */
export function publicKeyLine(publicKeyRaw: Uint8Array, name: string): string {
  return `${KEY_TYPE} ${Buffer.from(publicKeyRaw).toString('base64')} ${name}`;
}

/** Parses a private key PEM; throws E_CONFIG unless it is an ed25519 private key. */
export function privateKeyFromPem(pem: string | Buffer): { key: KeyObject; fingerprint: string; publicKeyRaw: Buffer } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new RewarddError('E_CONFIG', `private key: expected a PKCS#8 PEM ed25519 key, found something unreadable (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new RewarddError('E_CONFIG', `private key: expected ed25519, found ${describeValue(key.asymmetricKeyType)}`);
  const publicKeyRaw = rawPublicKey(createPublicKey(key));
  return { key, fingerprint: fingerprintOf(publicKeyRaw), publicKeyRaw };
}

/**
 * Reads a private key file. Like ssh, refuses a key that group or others may
 * read: a signing key that leaked to another account is no proof of who pushed.
 */
export function readPrivateKeyFile(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new RewarddError('E_FILE', `private key ${path}: expected a readable file, ${(e as Error).message}`);
  }
  if (!st.isFile() || st.size > MAX_KEY_FILE_BYTES) throw new RewarddError('E_FILE', `private key ${path}: expected a file under ${MAX_KEY_FILE_BYTES} bytes, found ${st.isFile() ? `${st.size} bytes` : 'not a regular file'}`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new RewarddError('E_FILE', `private key ${path}: expected mode 0600 (owner only), found 0${(st.mode & 0o777).toString(8)}; run chmod 600 ${path}`);
  }
  return readFileSync(path, 'utf8');
}

/** Parses one public key line (`ed25519 <base64> [name]`); throws E_CONFIG with what was wrong. */
export function parsePublicKeyLine(line: string): { publicKeyRaw: Buffer; fingerprint: string; name: string } {
  const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line.trim());
  if (!m) throw new RewarddError('E_CONFIG', `public key line: expected "${KEY_TYPE} <base64> <name>", found ${describeValue(line)}`);
  const [, type, b64, name] = m as unknown as [string, string, string, string | undefined];
  if (type !== KEY_TYPE) throw new RewarddError('E_CONFIG', `public key line: expected key type "${KEY_TYPE}", found ${describeValue(type)}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new RewarddError('E_CONFIG', `public key line: expected base64 key bytes, found ${describeValue(b64)}`);
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 32) throw new RewarddError('E_CONFIG', `public key line: expected 32 key bytes, found ${raw.length}`);
  const fingerprint = fingerprintOf(raw);
  return { publicKeyRaw: raw, fingerprint, name: name?.trim() || fingerprint };
}
