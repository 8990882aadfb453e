import { parseArm } from '../transport/commands.js';
import type { PushRefusalCode, PushVerifier } from './signed-push.js';

/**
 * The arm rule, the mirror of the e-stop rule (estop-reset.ts): anyone who can reach the `arm`
 * topic may disarm the robot (a garbled command disarms it too), because stopping is always
 * safe; only a signed arm from an allowed key may make it move, unless the daemon runs with
 * `--auth open` (a lab bench). Arming never clears a latched e-stop: the control thread
 * refuses an arm while the latch is set, and says so.
 */
export type ArmDecision =
  | { action: 'disarm'; reason: string }
  | { action: 'arm'; reason: string; signer: string | null; signerName: string | null }
  | { action: 'refused'; code: PushRefusalCode; error: string };

export interface ArmRule {
  /** Default true. */
  requireSignedArm?: boolean;
}

/** What the daemon should do with a raw `arm` payload; `verifier` null = no allowed_keys (fails closed). */
export function decideArm(payload: string | Buffer, verifier: PushVerifier | null, rule: ArmRule = {}): ArmDecision {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const cmd = parseArm(buf);
  if (cmd.action === 'disarm') return { action: 'disarm', reason: cmd.reason };
  if (rule.requireSignedArm === false) return { action: 'arm', reason: cmd.reason, signer: null, signerName: null };
  if (!verifier) return { action: 'refused', code: 'unknown_key', error: 'unknown_key: arm: expected a signed arm verified against allowed_keys, found no allowed keys configured on this robot (rewardd keys new; or --arm start on a lab bench)' };
  const v = verifier.verifyArm(buf);
  if (!v.ok) return { action: 'refused', code: v.code, error: v.error };
  return { action: 'arm', reason: v.reason, signer: v.signer, signerName: v.signerName };
}
