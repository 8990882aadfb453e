import { createHash } from 'node:crypto';

/**
 * Content hash of a provenance artefact (reward source, calibration, policy
 * manifest and weights, robot description). Versions are content hashes, so
 * two robots running the same file report the same version.
 * 12 hex chars (48 bits) is short enough to read in a status line and wide
 * enough that a collision among a project's reward versions is negligible;
 * the full sha256 is also kept in the start record.
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function shortHash(data: string | Uint8Array): string {
  return sha256Hex(data).slice(0, 12);
}

/** Hash of a JSON value with keys sorted, so formatting does not change the version. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}
