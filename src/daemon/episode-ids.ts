import { randomBytes } from 'node:crypto';

/**
 * Episode ids sort by start time, are unique across daemon restarts and
 * robots, and are safe as an MQTT topic level and a file name:
 * 20261127T143501Z-3fa2-0007 (UTC start, boot tag, index since boot).
 */
export function episodeIdFactory(bootTag = randomBytes(2).toString('hex')): (index: number, wallMs: number) => string {
  return (index, wallMs) => {
    const t = new Date(wallMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return `${t}-${bootTag}-${String(index).padStart(4, '0')}`;
  };
}
