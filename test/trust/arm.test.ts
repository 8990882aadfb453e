import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseArm } from '../../src/transport/commands.js';
import { decideArm } from '../../src/trust/arm.js';
import { PushVerifier, signArm, signEstopReset } from '../../src/trust/signed-push.js';
import { armPayload } from '../../src/cli/arm.js';
import { SplitClock, operator, tmp, writeAllowed } from './helpers.js';

function setup() {
  const dir = tmp('arm');
  const alice = operator('alice');
  const mallory = operator('mallory');
  writeAllowed(join(dir, 'allowed_keys'), [alice]);
  const clock = new SplitClock();
  const verifier = new PushVerifier({ robot: 'rover', allowedKeysFile: join(dir, 'allowed_keys'), clock });
  const arm = (who = alice, over: { robot?: string; nowMs?: number } = {}) =>
    JSON.stringify(signArm({ robot: 'rover', privateKeyPem: who.privateKeyPem, nowMs: clock.wall, reason: 'field clear, alice at the laptop', ...over }));
  return { alice, mallory, clock, verifier, arm };
}

describe('arm: anyone may disarm, only a signed arm makes the robot move', () => {
  it('disarms on "disarm", on JSON disarm, and on anything unreadable, with or without keys', () => {
    const { verifier } = setup();
    for (const v of [verifier, null]) {
      expect(decideArm('disarm', v)).toEqual({ action: 'disarm', reason: 'mqtt' });
      expect(decideArm('{"action":"disarm","reason":"battery swap"}', v)).toEqual({ action: 'disarm', reason: 'battery swap' });
      expect(decideArm(Buffer.from([0xff, 0x00]), v)).toMatchObject({ action: 'disarm', reason: 'unreadable arm command (2 bytes)' });
      expect(decideArm('{"action":"ARM"}', v)).toMatchObject({ action: 'disarm', reason: 'unreadable arm command (action "ARM")' });
    }
  });

  it('a signed arm from an allowed key arms, naming the signer; the transport and the CLI agree on the payload', () => {
    const { verifier, arm, alice } = setup();
    const payload = arm();
    expect(parseArm(Buffer.from(payload))).toEqual({ action: 'arm', reason: 'field clear, alice at the laptop' });
    expect(decideArm(payload, verifier)).toEqual({ action: 'arm', reason: 'field clear, alice at the laptop', signer: alice.fingerprint, signerName: 'alice' });
    // What `rewardd arm --key` sends is accepted the same way (its own timestamp: the real clock).
    const real = new PushVerifier({ robot: 'rover', allowedKeysFile: verifier.allowedKeys.path });
    expect(decideArm(armPayload({ action: 'arm', robot: 'rover', reason: 'cli', privateKeyPem: alice.privateKeyPem }), real)).toMatchObject({ action: 'arm', signerName: 'alice' });
    expect(armPayload({ action: 'disarm', robot: 'rover', reason: 'cli' })).toBe('{"action":"disarm","reason":"cli"}');
  });

  it('refuses unsigned arms, unknown keys, replays, stale and wrong-robot arms', () => {
    const { verifier, arm, mallory, clock } = setup();
    expect(decideArm('arm', verifier)).toMatchObject({ action: 'refused', code: 'unsigned' });
    expect(decideArm('{"action":"arm","reason":"trust me"}', verifier)).toMatchObject({ action: 'refused', code: 'unsigned' });
    expect(decideArm(arm(mallory), verifier)).toMatchObject({ action: 'refused', code: 'unknown_key' });
    expect(decideArm(arm(undefined, { nowMs: clock.wall - 61_000 }), verifier)).toMatchObject({ action: 'refused', code: 'stale' });
    expect(decideArm(arm(undefined, { robot: 'rover-2' }), verifier)).toMatchObject({ action: 'refused', code: 'wrong_robot' });
    const once = arm();
    expect(decideArm(once, verifier)).toMatchObject({ action: 'arm' });
    expect(decideArm(once, verifier)).toMatchObject({ action: 'refused', code: 'replayed' });
  });

  it('a signed e-stop reset cannot be replayed as an arm (the purpose is signed)', () => {
    const { verifier, alice, clock } = setup();
    const reset = signEstopReset({ robot: 'rover', privateKeyPem: alice.privateKeyPem, nowMs: clock.wall, reason: 'ok' });
    expect(decideArm(JSON.stringify({ ...reset, action: 'arm' }), verifier)).toMatchObject({ action: 'refused', code: 'bad_signature' });
  });

  it('with no allowed keys every remote arm is refused; the open rule (lab bench) accepts any arm', () => {
    const { arm } = setup();
    expect(decideArm(arm(), null)).toMatchObject({ action: 'refused', code: 'unknown_key' });
    expect(decideArm('arm', null, { requireSignedArm: false })).toEqual({ action: 'arm', reason: 'mqtt', signer: null, signerName: null });
  });
});
