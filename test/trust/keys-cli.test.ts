import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/keys.js';
import { parsePublicKeyLine } from '../../src/trust/keys.js';
import { RewardFilePolicy } from '../../src/trust/reward-file.js';
import { tmp } from './helpers.js';

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('rewardd keys', () => {
  it('new writes NAME.key (0600) and NAME.pub and prints the fingerprint of the public key', async () => {
    const dir = join(tmp('cli'), 'keys');
    expect(await main(['new', '--out', dir, '--name', 'alice'])).toBe(0);
    const fp = out.join('').trim();
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(statSync(join(dir, 'alice.key')).mode & 0o777).toBe(0o600);
    const pub = readFileSync(join(dir, 'alice.pub'), 'utf8');
    expect(pub).toMatch(/^ed25519 [A-Za-z0-9+/]{43}= alice\n$/);
    expect(parsePublicKeyLine(pub).fingerprint).toBe(fp);
    out.length = 0;
    expect(await main(['fingerprint', join(dir, 'alice.key')])).toBe(0);
    expect(await main(['fingerprint', join(dir, 'alice.pub')])).toBe(0);
    expect(out.join('')).toBe(`${fp}\n${fp}\n`);
  });

  it('never overwrites a key, and refuses bad usage with one line and exit 2', async () => {
    const dir = tmp('cli');
    expect(await main(['new', '--out', dir])).toBe(0);
    expect(await main(['new', '--out', dir])).toBe(1);
    expect(err.at(-1)).toMatch(/expected no existing .*operator\.key, found one/);
    expect(await main(['new'])).toBe(2);
    expect(err.at(-1)).toBe('rewardd keys: keys new: expected --out DIR, found none\n');
    expect(await main(['new', '--out', dir, '--name', '../x'])).toBe(2);
    expect(await main(['rotate'])).toBe(2);
    expect(err.at(-1)).toBe('rewardd keys: expected one of new | fingerprint | sign, found "rotate"\n');
    expect(await main(['--help'])).toBe(0);
    expect(out.join('')).toMatch(/--name NAME .*\(default: operator\)/);
  });

  it('sign writes a .sig the signatureRequired policy accepts, and refuses a group-readable private key', async () => {
    const dir = tmp('cli');
    await main(['new', '--out', dir, '--name', 'ops']);
    const reward = join(dir, 'r.reward.js');
    writeFileSync(reward, 'export const meta = {};\n');
    expect(await main(['sign', reward, '--key', join(dir, 'ops.key')])).toBe(0);
    writeFileSync(join(dir, 'allowed_keys'), readFileSync(join(dir, 'ops.pub')));
    const v = new RewardFilePolicy({ mode: 'signatureRequired', allowedKeysFile: join(dir, 'allowed_keys') }).verifyRewardFile(reward);
    expect(v).toMatchObject({ ok: true, signerName: 'ops' });
    chmodSync(join(dir, 'ops.key'), 0o640);
    expect(await main(['sign', reward, '--key', join(dir, 'ops.key')])).toBe(1);
    expect(err.at(-1)).toMatch(/expected mode 0600 \(owner only\), found 0640/);
  });
});
