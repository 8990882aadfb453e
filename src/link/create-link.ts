import { RewarddError } from '../core/errors.js';
import type { Link } from './link.js';
import { SimLink } from './sim-link.js';

/**
 * Builds the link a `--link` spec names. The serial and johnny-five links are
 * imported only when asked for, so the sim default never loads native serial
 * bindings.
 */
export async function createLink(spec: string, opts: { seed: number }): Promise<Link> {
  if (spec === 'sim') return new SimLink({ rover: { seed: opts.seed } });
  if (spec.startsWith('serial:') && spec.includes('?')) {
    // serial:<path>?baud=N&heartbeat=MS&silence=MS&open-timeout=MS&reconnect-min=MS&reconnect-max=MS
    const { parseSerialLinkSpec } = await import('./serial-options.js');
    const { SerialLink } = await import('./serial-link.js');
    return new SerialLink(parseSerialLinkSpec(spec));
  }
  const m = /^(serial|johnny-five):(.+?)(?:@(\d+))?$/.exec(spec);
  if (!m) throw new RewarddError('E_CONFIG', `--link: expected sim, serial:<path>[@baud] or johnny-five:<path>, found "${spec}"`);
  const [, kind, path, baud] = m;
  if (kind === 'serial') {
    const { SerialLink } = await import('./serial-link.js');
    return new SerialLink({ path: path!, ...(baud ? { baudRate: Number(baud) } : {}) });
  }
  const { JohnnyFiveLink } = await import('./johnny-five-link.js');
  return new JohnnyFiveLink({ port: path! });
}
