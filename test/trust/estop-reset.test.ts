import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseEstop } from '../../src/transport/commands.js';
import { decideEstop } from '../../src/trust/estop-reset.js';
import { PushVerifier, signEstopReset, signRewardPush } from '../../src/trust/signed-push.js';
import { SplitClock, operator, tmp, writeAllowed } from './helpers.js';

function setup() {
  const dir = tmp('estop');
  const alice = operator('alice');
  const mallory = operator('mallory');
  writeAllowed(join(dir, 'allowed_keys'), [alice]);
  const clock = new SplitClock();
  const verifier = new PushVerifier({ robot: 'rover', allowedKeysFile: join(dir, 'allowed_keys'), clock });
  const reset = (who = alice, over: { robot?: string; nowMs?: number; reason?: string } = {}) =>
    JSON.stringify(signEstopReset({ robot: 'rover', privateKeyPem: who.privateKeyPem, nowMs: clock.wall, reason: 'area clear, checked by alice', ...over }));
  return { alice, mallory, clock, verifier, reset };
}

describe('e-stop: anyone may stop, only a signed reset clears', () => {
  it('stops on "stop", on JSON stop, and on an unreadable payload, with or without keys', () => {
    const { verifier } = setup();
    for (const v of [verifier, null]) {
      expect(decideEstop('stop', v)).toEqual({ action: 'stop', reason: 'mqtt' });
      expect(decideEstop('{"action":"stop","reason":"person in the field"}', v)).toEqual({ action: 'stop', reason: 'person in the field' });
      expect(decideEstop(Buffer.from([0xff, 0x00, 0x13]), v)).toMatchObject({ action: 'stop' });
    }
  });

  it('a signed reset from an allowed key resets, naming the signer; the transport parses it as a reset too', () => {
    const { verifier, reset, alice } = setup();
    const payload = reset();
    expect(parseEstop(Buffer.from(payload))).toEqual({ action: 'reset', reason: 'area clear, checked by alice' });
    expect(decideEstop(payload, verifier)).toEqual({ action: 'reset', reason: 'area clear, checked by alice', signer: alice.fingerprint, signerName: 'alice' });
  });

  it('refuses unsigned resets (plain and JSON), unknown keys, replays, stale and wrong-robot resets', () => {
    const { verifier, reset, mallory, clock } = setup();
    expect(decideEstop('reset', verifier)).toMatchObject({ action: 'refused', code: 'unsigned' });
    expect(decideEstop('{"action":"reset","reason":"trust me"}', verifier)).toMatchObject({ action: 'refused', code: 'unsigned' });
    expect(decideEstop(reset(mallory), verifier)).toMatchObject({ action: 'refused', code: 'unknown_key' });
    expect(decideEstop(reset(undefined, { nowMs: clock.wall + 61_000 }), verifier)).toMatchObject({ action: 'refused', code: 'stale' });
    expect(decideEstop(reset(undefined, { robot: 'rover-2' }), verifier)).toMatchObject({ action: 'refused', code: 'wrong_robot' });
    const once = reset();
    expect(decideEstop(once, verifier)).toMatchObject({ action: 'reset' });
    expect(decideEstop(once, verifier)).toMatchObject({ action: 'refused', code: 'replayed' });
  });

  it('a reason changed after signing, or a reward push signature reused as a reset, is a bad signature', () => {
    const { verifier, reset, alice, clock } = setup();
    const env = JSON.parse(reset()) as { reason: string };
    env.reason = 'changed';
    expect(decideEstop(JSON.stringify(env), verifier)).toMatchObject({ action: 'refused', code: 'bad_signature' });
    const push = signRewardPush({ source: 'ok', robot: 'rover', privateKeyPem: alice.privateKeyPem, nowMs: clock.wall });
    const { source: _s, ...sig } = push;
    expect(decideEstop(JSON.stringify({ ...sig, action: 'reset', reason: 'ok' }), verifier)).toMatchObject({ action: 'refused', code: 'bad_signature' });
  });

  it('with no allowed keys configured every remote reset is refused; the open rule (lab bench) accepts any reset', () => {
    const { reset } = setup();
    expect(decideEstop(reset(), null)).toMatchObject({ action: 'refused', code: 'unknown_key' });
    expect(decideEstop('reset', null, { requireSignedReset: false })).toEqual({ action: 'reset', reason: 'mqtt', signer: null, signerName: null });
  });
});
