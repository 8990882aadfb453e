import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseEpisodeNext } from '../../src/transport/commands.js';
import { decideEpisodeNext } from '../../src/trust/episode-next.js';
import { PushVerifier, signArm, signEpisodeNext } from '../../src/trust/signed-push.js';
import { SplitClock, operator, tmp, writeAllowed } from './helpers.js';

function setup() {
  const dir = tmp('next');
  const alice = operator('alice');
  const mallory = operator('mallory');
  writeAllowed(join(dir, 'allowed_keys'), [alice]);
  const clock = new SplitClock();
  const verifier = new PushVerifier({ robot: 'rover', allowedKeysFile: join(dir, 'allowed_keys'), clock });
  const next = (who = alice, over: { robot?: string; nowMs?: number } = {}) =>
    JSON.stringify({ ...signEpisodeNext({ robot: 'rover', privateKeyPem: who.privateKeyPem, nowMs: clock.wall, reason: 'rover back on its mark', ...over }), correlation: 'c-1' });
  return { alice, mallory, clock, verifier, next };
}

describe('episode/next payloads', () => {
  it('reads "next" and {"action":"next"}; refuses anything else with what was expected (never taken as a next)', () => {
    expect(parseEpisodeNext(Buffer.from(' next\n'))).toEqual({ ok: true, cmd: { reason: 'mqtt' } });
    expect(parseEpisodeNext(Buffer.from('{"action":"next","reason":"reset done","correlation":"x"}'))).toEqual({ ok: true, cmd: { reason: 'reset done' }, correlation: 'x' });
    expect(parseEpisodeNext(Buffer.from(''))).toEqual({ ok: false, error: 'E_EPISODE: next: expected "next" or {"action":"next","reason":"..."}, found an empty message' });
    expect(parseEpisodeNext(Buffer.from('go'))).toMatchObject({ ok: false, error: expect.stringMatching(/found "go"$/) });
    expect(parseEpisodeNext(Buffer.from('{"action":"nxt","correlation":"y"}'))).toEqual({ ok: false, error: 'E_EPISODE: next: field "action": expected "next", found "nxt"', correlation: 'y' });
    expect(parseEpisodeNext(Buffer.from('[1]'))).toMatchObject({ ok: false, error: expect.stringMatching(/expected a JSON object/) });
    expect(parseEpisodeNext(Buffer.alloc(5000, 0x20))).toMatchObject({ ok: false, error: 'E_EPISODE: next: expected at most 4096 bytes, found 5000' });
  });
});

describe('next: signed like an arm', () => {
  it('accepts a signed next from an allowed key, naming the signer and its reason', () => {
    const { verifier, next, alice } = setup();
    expect(decideEpisodeNext(next(), verifier, { requireSigned: true })).toEqual({ action: 'next', reason: 'rover back on its mark', signer: alice.fingerprint, signerName: 'alice' });
  });

  it('refuses unsigned, unknown-key, stale, wrong-robot and replayed nexts; --auth open takes a plain one', () => {
    const { verifier, next, mallory, clock } = setup();
    expect(decideEpisodeNext('next', verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'unsigned' });
    expect(decideEpisodeNext('{"action":"next"}', verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'unsigned' });
    expect(decideEpisodeNext('next', null, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'unknown_key' });
    expect(decideEpisodeNext(next(mallory), verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'unknown_key' });
    expect(decideEpisodeNext(next(undefined, { nowMs: clock.wall - 61_000 }), verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'stale' });
    expect(decideEpisodeNext(next(undefined, { robot: 'rover-2' }), verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'wrong_robot' });
    const once = next();
    expect(decideEpisodeNext(once, verifier, { requireSigned: true })).toMatchObject({ action: 'next' });
    expect(decideEpisodeNext(once, verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'replayed' });
    expect(decideEpisodeNext('next', verifier, { requireSigned: false })).toEqual({ action: 'next', reason: 'mqtt', signer: null, signerName: null });
    expect(decideEpisodeNext('nope', verifier, { requireSigned: false })).toMatchObject({ action: 'refused', code: 'malformed' });
  });

  it('a signed arm cannot be replayed as a next (the purpose is signed)', () => {
    const { verifier, alice, clock } = setup();
    const arm = signArm({ robot: 'rover', privateKeyPem: alice.privateKeyPem, nowMs: clock.wall, reason: 'ok' });
    expect(decideEpisodeNext(JSON.stringify({ ...arm, action: 'next' }), verifier, { requireSigned: true })).toMatchObject({ action: 'refused', code: 'bad_signature' });
  });
});
