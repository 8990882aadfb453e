/**
 * The e-stop command as it travels (MQTT `estop` topic payload, CLI): JSON
 * `{"action":"trigger"|"reset","reason":"..."}`; a bare `trigger`/`reset`
 * text payload is accepted too, and an empty or unparseable payload counts as
 * a trigger, because on an e-stop channel a garbled message must fail safe.
 */
export interface EstopCommand {
  action: 'trigger' | 'reset';
  reason: string;
}

export function parseEstopCommand(payload: Uint8Array | string): EstopCommand {
  const text = (typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8')).trim();
  if (text === 'reset') return { action: 'reset', reason: '' };
  if (text === 'trigger' || text === '') return { action: 'trigger', reason: 'estop command' };
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const reason = typeof o.reason === 'string' ? o.reason.slice(0, 200) : '';
    if (o.action === 'reset') return { action: 'reset', reason };
    return { action: 'trigger', reason: reason || (o.action === 'trigger' ? 'estop command' : `unrecognised estop payload (${text.slice(0, 40)})`) };
  } catch {
    return { action: 'trigger', reason: `unparseable estop payload (${text.slice(0, 40)})` };
  }
}

export const formatEstopCommand = (c: EstopCommand): string => JSON.stringify(c);
