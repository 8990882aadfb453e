import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PushVerifier, signRewardPush, signEstopReset, type PushVerdict } from '../../src/trust/signed-push.js';
import { SplitClock, operator, tmp, writeAllowed } from './helpers.js';

const SOURCE = 'export const meta = { name: "reach" };\nexport function reward(obs) { return { progress: -obs.range_m }; }\n';

function setup(o: { windowMs?: number; nonceCacheSize?: number } = {}) {
  const dir = tmp('push');
  const alice = operator('alice@laptop');
  const mallory = operator('mallory');
  const allowedKeysFile = join(dir, 'allowed_keys');
  writeAllowed(allowedKeysFile, [alice]);
  const clock = new SplitClock();
  const verifier = new PushVerifier({ robot: 'rover', allowedKeysFile, clock, ...o });
  const push = (over: Partial<Parameters<typeof signRewardPush>[0]> = {}) =>
    JSON.stringify(signRewardPush({ source: SOURCE, robot: 'rover', privateKeyPem: alice.privateKeyPem, nowMs: clock.wall, ...over }));
  return { dir, alice, mallory, allowedKeysFile, clock, verifier, push };
}

const refusal = (v: PushVerdict): { code: string; error: string } => {
  if (v.ok) throw new Error(`expected a refusal, found acceptance by ${v.signer}`);
  return { code: v.code, error: v.error };
};

describe('PushVerifier: acceptance', () => {
  it('accepts a push signed by an allowed key for this robot, returning the source and the signer fingerprint', () => {
    const { verifier, push, alice } = setup();
    const v = verifier.verify(Buffer.from(push()));
    expect(v).toEqual({ ok: true, source: SOURCE, signer: alice.fingerprint, signerName: 'alice@laptop' });
    expect(alice.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('ignores unsigned extra fields such as correlation, and tolerates clock skew inside the window', () => {
    const { verifier, clock, alice } = setup();
    const env = { ...signRewardPush({ source: SOURCE, robot: 'rover', privateKeyPem: alice.privateKeyPem, nowMs: clock.wall + 59_000 }), correlation: 'c-1' };
    expect(verifier.verify(JSON.stringify(env)).ok).toBe(true);
  });
});

describe('PushVerifier: the pushed file name (it picks TypeScript or JavaScript on the robot)', () => {
  it('carries a signed filename through, and a push without one still verifies as before', () => {
    const { verifier, push, alice } = setup();
    expect(verifier.verify(push({ filename: 'smooth-efficient.reward.ts' }))).toEqual({ ok: true, source: SOURCE, filename: 'smooth-efficient.reward.ts', signer: alice.fingerprint, signerName: 'alice@laptop' });
    expect(verifier.verify(push())).toEqual({ ok: true, source: SOURCE, signer: alice.fingerprint, signerName: 'alice@laptop' });
  });

  it('refuses a filename changed, added or removed after signing, and a filename that is a path', () => {
    const { verifier, push } = setup();
    const changed = JSON.parse(push({ filename: 'a.reward.ts' })) as Record<string, unknown>;
    changed.filename = 'a.reward.js';
    expect(refusal(verifier.verify(JSON.stringify(changed))).code).toBe('bad_signature');
    const added = JSON.parse(push()) as Record<string, unknown>;
    added.filename = 'a.reward.ts';
    expect(refusal(verifier.verify(JSON.stringify(added))).code).toBe('bad_signature');
    const removed = JSON.parse(push({ filename: 'a.reward.ts' })) as Record<string, unknown>;
    delete removed.filename;
    expect(refusal(verifier.verify(JSON.stringify(removed))).code).toBe('bad_signature');
    const path = JSON.parse(push()) as Record<string, unknown>;
    path.filename = '../etc/passwd';
    expect(refusal(verifier.verify(JSON.stringify(path)))).toMatchObject({ code: 'malformed', error: expect.stringMatching(/field "filename": expected a base name/) });
    expect(() => push({ filename: 'a b.ts' })).toThrow(/file name: expected a base name/);
  });
});

describe('PushVerifier: each refusal says what was expected and what was found', () => {
  it('unsigned: plain source text, and the {source, correlation} envelope without a signature', () => {
    const { verifier } = setup();
    const a = refusal(verifier.verify(SOURCE));
    expect(a.code).toBe('unsigned');
    expect(a.error).toMatch(/expected a signed envelope .* found plain text/);
    const b = refusal(verifier.verify(JSON.stringify({ source: SOURCE, correlation: 'x' })));
    expect(b.code).toBe('unsigned');
    expect(b.error).toMatch(/found JSON without "sig" and "key"/);
  });

  it('bad_signature: source altered after signing', () => {
    const { verifier, push } = setup();
    const env = JSON.parse(push()) as { source: string };
    env.source = env.source.replace('-obs.range_m', '+obs.range_m');
    const r = refusal(verifier.verify(JSON.stringify(env)));
    expect(r.code).toBe('bad_signature');
    expect(r.error).toMatch(/expected a reward-push signature by key [0-9a-f]{16} \("alice@laptop"\).*found one that does not verify/);
  });

  it('bad_signature: signed by another key but claiming an allowed fingerprint', () => {
    const { verifier, push, mallory, alice, clock } = setup();
    const forged = JSON.parse(push({ privateKeyPem: mallory.privateKeyPem })) as { key: string };
    forged.key = alice.fingerprint;
    expect(refusal(verifier.verify(JSON.stringify(forged))).code).toBe('bad_signature');
    void clock;
  });

  it('bad_signature: an e-stop reset signature is not a reward push signature (purpose is signed)', () => {
    const { verifier, alice, clock } = setup();
    const reset = signEstopReset({ robot: 'rover', reason: SOURCE, privateKeyPem: alice.privateKeyPem, nowMs: clock.wall });
    const { action: _a, reason: _r, ...sigFields } = reset;
    expect(refusal(verifier.verify(JSON.stringify({ ...sigFields, source: SOURCE }))).code).toBe('bad_signature');
  });

  it('unknown_key: a well-signed push by a key not in allowed_keys', () => {
    const { verifier, push, mallory, allowedKeysFile } = setup();
    const r = refusal(verifier.verify(push({ privateKeyPem: mallory.privateKeyPem })));
    expect(r.code).toBe('unknown_key');
    expect(r.error).toContain(`expected a key listed in ${allowedKeysFile}, found key ${mallory.fingerprint}`);
  });

  it('stale: signed too long ago, too far in the future, or before this verifier started', () => {
    const { verifier, push, clock } = setup();
    const old = refusal(verifier.verify(push({ nowMs: clock.wall - 60_001 })));
    expect(old.code).toBe('stale');
    expect(old.error).toMatch(/expected a timestamp within 60000 ms of the robot's clock .* \(60001 ms ago\)/);
    expect(refusal(verifier.verify(push({ nowMs: clock.wall + 60_001 }))).code).toBe('stale');
    const before = refusal(verifier.verify(push({ nowMs: clock.wall - 1000 })));
    expect(before.code).toBe('stale');
    expect(before.error).toMatch(/signed after this robot started verifying/);
    // The start rule lapses after 2 windows, so a robot whose clock was wrong at boot is not locked out.
    clock.advance(120_001);
    expect(verifier.verify(push({ nowMs: clock.wall - 1000 })).ok).toBe(true);
  });

  it('replayed: the same push twice within the window; still refused after its nonce is forgotten, even if the wall clock steps back', () => {
    const { verifier, push, clock } = setup();
    const p = push({ nonce: 'nonce-0001' });
    expect(verifier.verify(p).ok).toBe(true);
    const r = refusal(verifier.verify(p));
    expect(r.code).toBe('replayed');
    expect(r.error).toMatch(/expected a nonce not seen in the last 120000 ms, found nonce-0001 again/);
    // A different nonce with the same content is a new push.
    expect(verifier.verify(push({ nonce: 'nonce-0002' })).ok).toBe(true);
    // 2 windows of monotonic time later the nonce is forgotten; the wall clock is stepped back
    // (NTP) so the old push looks fresh again: the horizon still refuses it.
    clock.advance(120_001);
    clock.wall -= 120_001;
    const again = refusal(verifier.verify(p));
    expect(again.code).toBe('stale');
    expect(again.error).toMatch(/newest forgotten nonce/);
  });

  it('replayed: an NTP step forward does not make the cache forget (retention is monotonic)', () => {
    const { verifier, push, clock } = setup();
    const p = push();
    expect(verifier.verify(p).ok).toBe(true);
    clock.wall += 3_600_000; // wall jumps an hour: the push is now stale...
    expect(refusal(verifier.verify(p)).code).toBe('stale');
    clock.wall -= 3_600_000; // ...and jumps back: it is fresh again, but its nonce is still remembered.
    expect(refusal(verifier.verify(p)).code).toBe('replayed');
  });

  it('wrong_robot: a push signed for another robot', () => {
    const { verifier, push } = setup();
    const r = refusal(verifier.verify(push({ robot: 'rover-2' })));
    expect(r.code).toBe('wrong_robot');
    expect(r.error).toBe('wrong_robot: expected a message signed for robot "rover", found one signed for "rover-2"');
  });

  it('wrong_robot is only reported for a valid signature: re-addressing a push breaks it', () => {
    const { verifier, push } = setup();
    const env = JSON.parse(push({ robot: 'rover-2' })) as { robot: string };
    env.robot = 'rover';
    expect(refusal(verifier.verify(JSON.stringify(env))).code).toBe('bad_signature');
  });

  it.each([
    ['not JSON', '{"v":1,', /expected JSON, found a parse error/],
    ['a signature and nothing else', '{"sig":"AAAA"}', /field "v": expected 1, found undefined/],
    ['version 2', (p: Record<string, unknown>) => ({ ...p, v: 2 }), /field "v": expected 1, found 2/],
    ['ts as a string', (p: Record<string, unknown>) => ({ ...p, ts: String(p.ts) }), /field "ts": expected integer ms since the epoch, found "1800000000000"/],
    ['a short nonce', (p: Record<string, unknown>) => ({ ...p, nonce: 'abc' }), /field "nonce": expected 8..128 chars/],
    ['a robot id with a slash', (p: Record<string, unknown>) => ({ ...p, robot: 'a/b' }), /field "robot": expected a robot id, found "a\/b"/],
    ['a truncated signature', (p: Record<string, unknown>) => ({ ...p, sig: String(p.sig).slice(0, 40) }), /field "sig": expected a base64 ed25519 signature/],
    ['no source', (p: Record<string, unknown>) => ({ ...p, source: undefined }), /field "source": expected the reward program text, found undefined/],
    ['a bad key fingerprint', (p: Record<string, unknown>) => ({ ...p, key: 'XYZ' }), /field "key": expected a 16-hex-char key fingerprint, found "XYZ"/],
  ] as const)('malformed: %s', (_name, mutate, message) => {
    const { verifier, push } = setup();
    const payload = typeof mutate === 'string' ? mutate : JSON.stringify(mutate(JSON.parse(push()) as Record<string, unknown>));
    const r = refusal(verifier.verify(payload));
    expect(r.code).toBe('malformed');
    expect(r.error).toMatch(message);
  });

  it('malformed: a payload over the size bound is not parsed', () => {
    const { verifier } = setup();
    const r = refusal(verifier.verify(Buffer.alloc(1024 * 1024 + 1, 0x7b)));
    expect(r.code).toBe('malformed');
    expect(r.error).toMatch(/expected at most 1048576 bytes, found 1048577/);
  });
});

describe('PushVerifier: bounded replay memory', () => {
  it('keeps at most nonceCacheSize nonces, refuses (not forgets) when full of live ones, and frees them after 2 windows', () => {
    const { verifier, push, clock } = setup({ nonceCacheSize: 3, windowMs: 10_000 });
    for (let i = 0; i < 3; i++) expect(verifier.verify(push()).ok).toBe(true);
    const full = refusal(verifier.verify(push()));
    expect(full.code).toBe('replayed');
    expect(full.error).toMatch(/replay cache full: expected at most 3 signed messages per 20000 ms/);
    clock.advance(20_000);
    expect(verifier.verify(push()).ok).toBe(true);
  });

  it('rejects bad options early with expected/found', () => {
    const dir = tmp('opts');
    expect(() => new PushVerifier({ robot: 'rover', allowedKeysFile: join(dir, 'k'), windowMs: 5 })).toThrow(/windowMs: expected 1000..3600000, found 5/);
    expect(() => new PushVerifier({ robot: 'rover', allowedKeysFile: join(dir, 'k'), nonceCacheSize: 0 })).toThrow(/nonceCacheSize: expected an integer/);
    expect(() => new PushVerifier({ robot: 'a/b', allowedKeysFile: join(dir, 'k') })).toThrow(/robot: expected a topic level/);
  });
});
