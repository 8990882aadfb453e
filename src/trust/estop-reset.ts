import { parseEstop } from '../transport/commands.js';
import type { PushRefusalCode, PushVerifier, EstopResetVerdict } from './signed-push.js';

/**
 * The e-stop rule: anyone who can reach the `estop` topic may stop the robot
 * (an unreadable payload stops it too); only a signed reset from an allowed
 * key, or a local action on the robot (the CLI writing the latch file, see
 * docs/security.md), may clear it. A refused reset leaves the latch as it is.
 *
 * `requireSignedReset: false` restores the old open rule (any reset accepted)
 * for a lab bench without keys; the daemon should log that it is open.
 */
export type EstopDecision =
  | { action: 'stop'; reason: string }
  | { action: 'reset'; reason: string; signer: string | null; signerName: string | null }
  | { action: 'refused'; code: PushRefusalCode; error: string };

export interface EstopRule {
  /** Default true. */
  requireSignedReset?: boolean;
}

/** Verifies an e-stop reset payload (the raw MQTT payload on `estop`). */
export function verifyEstopReset(verifier: PushVerifier, payload: string | Buffer): EstopResetVerdict {
  return verifier.verifyEstopReset(payload);
}

/**
 * What the daemon should do with a raw `estop` payload. `verifier` may be null
 * when no allowed_keys are configured: then every signed-reset check fails
 * closed (refused) unless the rule is open.
 */
export function decideEstop(payload: string | Buffer, verifier: PushVerifier | null, rule: EstopRule = {}): EstopDecision {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const cmd = parseEstop(buf);
  if (cmd.action === 'stop') return { action: 'stop', reason: cmd.reason };
  if (rule.requireSignedReset === false) return { action: 'reset', reason: cmd.reason, signer: null, signerName: null };
  if (!verifier) return { action: 'refused', code: 'unknown_key', error: 'unknown_key: e-stop reset: expected a signed reset verified against allowed_keys, found no allowed keys configured on this robot; reset locally with `rewardd estop reset` on the robot' };
  const v = verifier.verifyEstopReset(buf);
  if (!v.ok) return { action: 'refused', code: v.code, error: v.error };
  return { action: 'reset', reason: v.reason, signer: v.signer, signerName: v.signerName };
}
