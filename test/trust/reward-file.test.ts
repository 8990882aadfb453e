import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RewardFilePolicy, signRewardFile, signaturePathFor } from '../../src/trust/reward-file.js';
import { operator, tmp, writeAllowed } from './helpers.js';

const SRC = 'export const meta = { name: "explore" };\nexport function reward() { return { a: 1 }; }\n';

function setup() {
  const dir = tmp('rf');
  const alice = operator('alice');
  const mallory = operator('mallory');
  const allowedKeysFile = join(dir, 'allowed_keys');
  writeAllowed(allowedKeysFile, [alice]);
  const reward = join(dir, 'explore.reward.js');
  writeFileSync(reward, SRC);
  return { dir, alice, mallory, allowedKeysFile, reward };
}

describe('reward file policy', () => {
  it('trustedLocalPath (default) accepts the file as it is, with no signer', () => {
    const { reward } = setup();
    expect(new RewardFilePolicy().verifyRewardFile(reward)).toEqual({ ok: true, source: SRC, signer: null, signerName: null });
  });

  it('signatureRequired: accepts a file signed by an allowed key and names the signer', () => {
    const { reward, alice, allowedKeysFile } = setup();
    expect(signRewardFile(reward, alice.privateKeyPem)).toBe(`${reward}.sig`);
    const p = new RewardFilePolicy({ mode: 'signatureRequired', allowedKeysFile });
    expect(p.verifyRewardFile(reward)).toEqual({ ok: true, source: SRC, signer: alice.fingerprint, signerName: 'alice' });
  });

  it('signatureRequired: refuses a missing .sig, an edit after signing, an unknown key, a forged and a malformed .sig', () => {
    const { reward, alice, mallory, allowedKeysFile } = setup();
    const p = new RewardFilePolicy({ mode: 'signatureRequired', allowedKeysFile });
    expect(p.verifyRewardFile(reward)).toMatchObject({ ok: false, code: 'unsigned', error: expect.stringMatching(/expected a signature file .*\.sig .*found none/) });
    signRewardFile(reward, alice.privateKeyPem);
    writeFileSync(reward, SRC.replace('a: 1', 'a: 1000'));
    expect(p.verifyRewardFile(reward)).toMatchObject({ ok: false, code: 'bad_signature', error: expect.stringMatching(/re-sign after editing/) });
    signRewardFile(reward, mallory.privateKeyPem);
    expect(p.verifyRewardFile(reward)).toMatchObject({ ok: false, code: 'unknown_key' });
    const forged = JSON.parse(readFileSync(signaturePathFor(reward), 'utf8')) as { key: string };
    forged.key = alice.fingerprint;
    writeFileSync(signaturePathFor(reward), JSON.stringify(forged));
    expect(p.verifyRewardFile(reward)).toMatchObject({ ok: false, code: 'bad_signature' });
    writeFileSync(signaturePathFor(reward), 'not json');
    expect(p.verifyRewardFile(reward)).toMatchObject({ ok: false, code: 'malformed' });
    expect(p.verifyRewardFile(`${reward}.missing`)).toMatchObject({ ok: false, code: 'unreadable' });
  });

  it('verifyRewardSource checks the text a watcher already read, not a second read of the file', () => {
    const { reward, alice, allowedKeysFile } = setup();
    signRewardFile(reward, alice.privateKeyPem);
    const p = new RewardFilePolicy({ mode: 'signatureRequired', allowedKeysFile });
    expect(p.verifyRewardSource(reward, SRC).ok).toBe(true);
    expect(p.verifyRewardSource(reward, `${SRC}// sneaky\n`)).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('rejects bad policy options early', () => {
    expect(() => new RewardFilePolicy({ mode: 'signatureRequired' })).toThrow(/expected allowedKeysFile, found none/);
    expect(() => new RewardFilePolicy({ mode: 'sometimes' as 'trustedLocalPath' })).toThrow(/expected "trustedLocalPath" or "signatureRequired", found "sometimes"/);
  });
});
