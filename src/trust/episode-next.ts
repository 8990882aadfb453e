import { parseEpisodeNext } from '../transport/commands.js';
import type { PushRefusalCode, PushVerifier } from './signed-push.js';

/**
 * The "next" rule: a "next" ends the reset phase and lets the policy drive again (if the robot is
 * armed), so it is a command that makes the robot move, and is treated like an arm: signed by an
 * allowed key, unless the daemon runs with `--auth open` (a lab bench). Nothing unsigned or
 * unreadable ever starts an episode.
 */
export type EpisodeNextDecision =
  | { action: 'next'; reason: string; signer: string | null; signerName: string | null }
  | { action: 'refused'; code: PushRefusalCode | 'malformed'; error: string };

/** What the daemon should do with a raw `episode/next` payload; `verifier` null = no allowed_keys (fails closed). */
export function decideEpisodeNext(payload: string | Buffer, verifier: PushVerifier | null, rule: { requireSigned: boolean }): EpisodeNextDecision {
  const buf = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const parsed = parseEpisodeNext(buf);
  if (!parsed.ok) return { action: 'refused', code: 'malformed', error: parsed.error };
  if (!rule.requireSigned) return { action: 'next', reason: parsed.cmd.reason, signer: null, signerName: null };
  if (!verifier) return { action: 'refused', code: 'unknown_key', error: 'unknown_key: next: expected a signed next verified against allowed_keys, found no allowed keys configured on this robot (rewardd keys new; or --auth open on a lab bench)' };
  const v = verifier.verifyEpisodeNext(buf);
  if (!v.ok) return { action: 'refused', code: v.code, error: v.error };
  return { action: 'next', reason: v.reason, signer: v.signer, signerName: v.signerName };
}
