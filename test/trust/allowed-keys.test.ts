import { describe, expect, it } from 'vitest';
import { appendFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AllowedKeys, defaultAllowedKeysPath } from '../../src/trust/allowed-keys.js';
import { PushVerifier, signRewardPush } from '../../src/trust/signed-push.js';
import { SplitClock, operator, tmp, writeAllowed } from './helpers.js';

describe('allowed_keys', () => {
  it('lives at <stateDir>/allowed_keys by default and parses ssh-style lines with comments and names', () => {
    const dir = tmp('ak');
    const path = defaultAllowedKeysPath(dir);
    expect(path).toBe(join(dir, 'allowed_keys'));
    const a = operator('alice');
    const b = operator('bob');
    writeFileSync(path, `# field team\n\n${a.line}\n  ${b.line.replace(' bob', ' Bob the field tester')}  \n${a.line.replace('alice', 'alice-again')}\n`);
    const keys = new AllowedKeys(path);
    expect(keys.size).toBe(2);
    expect(keys.get(a.fingerprint)).toMatchObject({ name: 'alice', line: 3 });
    expect(keys.get(b.fingerprint)).toMatchObject({ name: 'Bob the field tester', line: 4 });
  });

  it('a broken file fails at start with file:line and what was wrong', () => {
    const dir = tmp('ak');
    const path = join(dir, 'allowed_keys');
    writeFileSync(path, `${operator('a').line}\nssh-rsa AAAAB3Nza bob\n`);
    expect(() => new AllowedKeys(path)).toThrow(`${path}:2: public key line: expected key type "ed25519", found "ssh-rsa"`);
    writeFileSync(path, 'ed25519 AAAA short\n');
    expect(() => new AllowedKeys(path)).toThrow(/:1: public key line: expected 32 key bytes, found 3/);
  });

  it('a missing file means no keys (not an error at start), and says so when a push is refused', () => {
    const dir = tmp('ak');
    const v = new PushVerifier({ robot: 'rover', allowedKeysFile: join(dir, 'allowed_keys'), clock: new SplitClock() });
    const a = operator('alice');
    const r = v.verify(JSON.stringify(signRewardPush({ source: 's', robot: 'rover', privateKeyPem: a.privateKeyPem, nowMs: new SplitClock().wall })));
    expect(r).toMatchObject({ ok: false, code: 'unknown_key' });
    expect(!r.ok && r.error).toMatch(/allowed_keys does not exist \(no key is allowed\)/);
  });

  it('reloads on change: a key added is accepted and a key removed is refused at the next push, without a restart', () => {
    const dir = tmp('ak');
    const path = join(dir, 'allowed_keys');
    const alice = operator('alice');
    const bob = operator('bob');
    writeAllowed(path, [alice]);
    const clock = new SplitClock();
    const v = new PushVerifier({ robot: 'rover', allowedKeysFile: path, clock });
    const push = (who: typeof alice) => JSON.stringify(signRewardPush({ source: 'x', robot: 'rover', privateKeyPem: who.privateKeyPem, nowMs: clock.wall }));
    expect(v.verify(push(bob))).toMatchObject({ ok: false, code: 'unknown_key' });
    appendFileSync(path, `${bob.line}\n`);
    expect(v.verify(push(bob))).toMatchObject({ ok: true, signer: bob.fingerprint, signerName: 'bob' });
    writeAllowed(path, [bob]); // alice revoked
    expect(v.verify(push(alice))).toMatchObject({ ok: false, code: 'unknown_key' });
    expect(v.verify(push(bob)).ok).toBe(true);
    unlinkSync(path); // everyone revoked
    expect(v.verify(push(bob))).toMatchObject({ ok: false, code: 'unknown_key' });
  });

  it('a file broken while running yields no keys (fail closed) and recovers when fixed; reload() works on demand', () => {
    const dir = tmp('ak');
    const path = join(dir, 'allowed_keys');
    const alice = operator('alice');
    writeAllowed(path, [alice]);
    const keys = new AllowedKeys(path);
    expect(keys.size).toBe(1);
    writeFileSync(path, `${alice.line}\ned25519 !!!notbase64 eve\n`);
    expect(keys.refresh()).toBe(true);
    expect(keys.size).toBe(0);
    expect(keys.lastError).toMatch(/allowed_keys:2: public key line: expected base64 key bytes/);
    expect(keys.refresh()).toBe(false); // unchanged file: not re-read
    writeAllowed(path, [alice]);
    expect(keys.reload()).toBe(1);
    expect(keys.lastError).toBeUndefined();
  });
});
