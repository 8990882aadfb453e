/**
 * `rewardd keys new|fingerprint|sign`: operator signing keys (docs/security.md).
 * Keys are made on the operator's machine; only the .pub line goes to robots
 * (appended to `<stateDir>/allowed_keys`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, parsePublicKeyLine, privateKeyFromPem, publicKeyLine, readPrivateKeyFile } from '../trust/keys.js';
import { signRewardFile } from '../trust/reward-file.js';
import { parseFlags, type FlagSpec } from './args.js';

export const help = [
  'Usage: rewardd keys new --out DIR [--name NAME]',
  '       rewardd keys fingerprint FILE',
  '       rewardd keys sign REWARD_FILE --key KEY_FILE',
  '',
  'new          makes an ed25519 key pair: DIR/NAME.key (private, mode 0600) and DIR/NAME.pub',
  '             (one line for a robot\'s allowed_keys); prints the fingerprint. Never overwrites.',
  'fingerprint  prints the fingerprint of a .pub line or a .key file',
  'sign         writes REWARD_FILE.sig, the detached signature that a robot run with',
  '             `rewardd run --reward-file-auth signed` requires beside its reward file',
  '',
  '  --out DIR     folder for the new key pair            (required for new)',
  '  --name NAME   file name and the name in the .pub line (default: operator)',
  '  --key FILE    private key to sign with               (required for sign)',
  '',
  'Fingerprint: first 16 hex chars of sha256 of the raw 32-byte public key.',
  'Allowed keys on the robot: <stateDir>/allowed_keys, one .pub line per key, # comments.',
  'Exit 0 on success, 1 on failure, 2 on bad usage.',
].join('\n');

const FLAGS: FlagSpec[] = [
  { flag: 'out', type: 'string' },
  { flag: 'name', type: 'string' },
  { flag: 'key', type: 'string' },
];

const fail = (code: number, line: string): number => {
  process.stderr.write(`rewardd keys: ${line}\n`);
  return code;
};

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, FLAGS, true);
  } catch (e) {
    return fail(2, (e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const [verb, ...rest] = positionals;
  try {
    switch (verb) {
      case 'new': {
        if (rest.length) return fail(2, `keys new: expected no positional arguments, found ${rest.join(' ')}`);
        if (typeof values.out !== 'string') return fail(2, 'keys new: expected --out DIR, found none');
        const name = typeof values.name === 'string' ? values.name : 'operator';
        if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name) || name.startsWith('.')) return fail(2, `keys new: --name: expected 1..64 chars of [A-Za-z0-9_.@-], found "${name}"`);
        mkdirSync(values.out, { recursive: true });
        const keyPath = join(values.out, `${name}.key`);
        const pubPath = join(values.out, `${name}.pub`);
        for (const p of [keyPath, pubPath]) if (existsSync(p)) return fail(1, `keys new: expected no existing ${p}, found one (refusing to overwrite a key)`);
        const kp = generateKeyPair();
        // 'wx' + mode: created owner-only in one step, never briefly world-readable, never over an existing file.
        writeFileSync(keyPath, kp.privateKeyPem, { mode: 0o600, flag: 'wx' });
        writeFileSync(pubPath, `${publicKeyLine(kp.publicKeyRaw, name)}\n`, { mode: 0o644, flag: 'wx' });
        process.stdout.write(`${kp.fingerprint}\n`);
        process.stderr.write(`wrote ${keyPath} (private, keep it) and ${pubPath}; on a robot: cat ${name}.pub >> <stateDir>/allowed_keys\n`);
        return 0;
      }
      case 'fingerprint': {
        if (rest.length !== 1) return fail(2, `keys fingerprint: expected one FILE, found ${rest.length}`);
        const text = readFileSync(rest[0]!, 'utf8');
        const fp = text.includes('PRIVATE KEY') ? privateKeyFromPem(text).fingerprint : parsePublicKeyLine(text.split('\n').find((l) => l.trim() && !l.startsWith('#')) ?? '').fingerprint;
        process.stdout.write(`${fp}\n`);
        return 0;
      }
      case 'sign': {
        if (rest.length !== 1) return fail(2, `keys sign: expected one REWARD_FILE, found ${rest.length}`);
        if (typeof values.key !== 'string') return fail(2, 'keys sign: expected --key KEY_FILE, found none');
        const out = signRewardFile(rest[0]!, readPrivateKeyFile(values.key));
        process.stdout.write(`${out}\n`);
        return 0;
      }
      default:
        return fail(2, `expected one of new | fingerprint | sign, found ${verb === undefined ? 'nothing' : `"${verb}"`}`);
    }
  } catch (e) {
    return fail(1, (e as Error).message);
  }
}
