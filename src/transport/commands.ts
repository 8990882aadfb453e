import type { IPublishPacket, MqttClient } from 'mqtt';
import type { RobotTopics } from './topics.js';

/**
 * Commands a robot accepts over MQTT:
 * - `reward/set`: the payload is a reward program's source text, raw or in a JSON envelope
 *   `{"source": "...", "filename": "x.reward.ts", "correlation": "..."}` (a signed push is such
 *   an envelope). A raw source may name its file or language in MQTT 5 user properties
 *   `filename` / `language` (ts|js); without them the language is detected (language.ts).
 *   The result goes back to the sender on its MQTT 5 response topic with its correlation
 *   data; a 3.1.1 sender (no response topic) gets it on `reward/set/result`, with
 *   `correlation` copied from the envelope if it sent one.
 * - `estop`: `stop` / `reset` as plain text or `{"action": "stop"|"reset", "reason": "..."}`.
 *   Anything else is read as `stop`: an unreadable e-stop must still stop the robot. The robot's
 *   verdict (EstopVerdict) goes back like a reward/set result: on the MQTT 5 response topic with
 *   the correlation data, else on `estop/result` with `correlation` copied from a JSON payload.
 * - `arm`: `arm` / `disarm` as plain text or `{"action": "arm"|"disarm", "reason": "..."}` (a
 *   signed envelope when the robot requires one, see trust/arm.ts). Anything else is read as
 *   `disarm`: a garbled command must never make the robot move.
 */
export type RewardSetResult = { ok: true; version: string; name?: string } | { ok: false; error: string };

export interface PushHint {
  filename?: string;
  language?: string;
}

export interface EstopCommand {
  action: 'stop' | 'reset';
  reason: string;
}

/**
 * What the robot decided on an `estop` command: a stop is always applied; a reset is applied
 * (`signer`: the key that signed it, absent under --auth open) or refused with the reason
 * (unsigned, unknown key, stale...), which leaves the latch as it was.
 */
export type EstopVerdict =
  | { ok: true; action: 'stop' | 'reset'; signer?: string }
  | { ok: false; action: 'reset'; error: string };

export interface ArmCommand {
  action: 'arm' | 'disarm';
  reason: string;
}

export interface CommandHandlers {
  /**
   * `raw` is the whole payload: a signed envelope must be verified on it, not on the extracted
   * source. `hint` is what the push said of its file: the envelope's filename, or MQTT 5 user
   * properties `filename` / `language` (not signed; a signed push's own filename is in `raw`).
   */
  onRewardSet?(source: string, reply: (result: RewardSetResult) => void, raw: Buffer, hint: PushHint): void;
  /** `raw` is the whole payload, for checking a signed reset; `reply` sends the verdict to the sender. */
  onEstop?(cmd: EstopCommand, raw: Buffer, reply: (verdict: EstopVerdict) => void): void;
  /** `raw` is the whole payload, for checking a signed arm. */
  onArm?(cmd: ArmCommand, raw: Buffer): void;
}

/** Largest `estop` payload read for a correlation field (the command itself is read regardless). */
const MAX_ESTOP_PAYLOAD_PARSED = 64 * 1024;

/** Bound on a reward source accepted over MQTT; larger pushes are refused with a reason. */
export const MAX_REWARD_SOURCE_BYTES = 256 * 1024;

export function parseEstop(payload: Buffer): EstopCommand {
  const text = payload.toString('utf8').trim();
  if (text === 'reset' || text === 'stop') return { action: text, reason: 'mqtt' };
  try {
    const j = JSON.parse(text) as { action?: unknown; reason?: unknown };
    const reason = typeof j.reason === 'string' ? j.reason : 'mqtt';
    if (j.action === 'reset') return { action: 'reset', reason };
    return { action: 'stop', reason };
  } catch {
    return { action: 'stop', reason: `unreadable estop payload (${payload.length} bytes)` };
  }
}

export function parseArm(payload: Buffer): ArmCommand {
  const text = payload.toString('utf8').trim();
  if (text === 'arm' || text === 'disarm') return { action: text, reason: 'mqtt' };
  try {
    const j = JSON.parse(text) as { action?: unknown; reason?: unknown };
    const reason = typeof j.reason === 'string' ? j.reason : 'mqtt';
    if (j.action === 'arm') return { action: 'arm', reason };
    return { action: 'disarm', reason: j.action === 'disarm' ? reason : `unreadable arm command (action ${JSON.stringify(j.action) ?? 'missing'})` };
  } catch {
    return { action: 'disarm', reason: `unreadable arm command (${payload.length} bytes)` };
  }
}

export function handleCommand(client: MqttClient, topics: RobotTopics, handlers: CommandHandlers, topic: string, payload: Buffer, packet: IPublishPacket): boolean {
  if (topic === topics.estop) {
    let correlation: string | undefined;
    // An e-stop command is a few hundred bytes; anything far larger is not looked into for a correlation.
    if (payload.length <= MAX_ESTOP_PAYLOAD_PARSED) {
      try {
        const j = JSON.parse(payload.toString('utf8')) as { correlation?: unknown };
        if (j && typeof j === 'object' && typeof j.correlation === 'string') correlation = j.correlation;
      } catch {
        // plain text: no correlation
      }
    }
    const reply = replier(client, packet, topics.estopResult, correlation);
    handlers.onEstop?.(parseEstop(payload), payload, (v) => reply(v));
    return true;
  }
  if (topic === topics.arm) {
    handlers.onArm?.(parseArm(payload), payload);
    return true;
  }
  if (topic !== topics.rewardSet) return false;
  let source = payload.toString('utf8');
  let correlation: string | undefined;
  const hint: PushHint = {};
  const props = packet.properties?.userProperties;
  const prop = (k: string): string | undefined => {
    const v = props?.[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const fn = prop('filename');
  const lang = prop('language');
  if (fn !== undefined) hint.filename = fn;
  if (lang !== undefined) hint.language = lang;
  // A JSON envelope ({source, correlation} or a signed push) may come with or without a response topic.
  if (source.trimStart().startsWith('{')) {
    try {
      const env = JSON.parse(source) as { source?: unknown; correlation?: unknown; filename?: unknown };
      if (typeof env.source === 'string') source = env.source;
      if (typeof env.correlation === 'string') correlation = env.correlation;
      if (typeof env.filename === 'string') hint.filename = env.filename;
    } catch {
      // Not an envelope: the whole payload is the source and the reward loader will say what is wrong.
    }
  }
  const reply = replier(client, packet, topics.rewardSetResult, correlation);
  if (payload.length > MAX_REWARD_SOURCE_BYTES) {
    reply({ ok: false, error: `E_REWARD_SOURCE: reward source: expected at most ${MAX_REWARD_SOURCE_BYTES} bytes, found ${payload.length}` });
  } else if (source.trim() === '') {
    // mosquitto_rr 2.0.11 (Debian 12) sends an empty message for -f FILE and -s: say so, not "no exports".
    reply({ ok: false, error: `E_REWARD_SOURCE: reward/set: expected a reward program's source text, found an empty message (${payload.length} bytes); mosquitto_rr 2.0.11 sends an empty payload for -f and -s, use -m "$(cat FILE)"` });
  } else if (!handlers.onRewardSet) {
    reply({ ok: false, error: 'E_CONFIG: this robot does not accept reward pushes' });
  } else {
    handlers.onRewardSet(source, reply, payload, hint);
  }
  return true;
}

/**
 * Sends one reply to a command's sender, once: on its MQTT 5 response topic with its correlation
 * data, or (an MQTT 3.1.1 sender) on `fallbackTopic` with `correlation` copied into the JSON.
 */
function replier(client: MqttClient, packet: IPublishPacket, fallbackTopic: string, correlation: string | undefined): (result: object) => void {
  const responseTopic = packet.properties?.responseTopic;
  const correlationData = packet.properties?.correlationData;
  let replied = false;
  return (result) => {
    if (replied) return;
    replied = true;
    const body = JSON.stringify(correlation === undefined ? result : { ...result, correlation });
    if (responseTopic) {
      client.publish(responseTopic, body, { qos: 1, properties: correlationData ? { correlationData } : {} });
    } else {
      client.publish(fallbackTopic, body, { qos: 1 });
    }
  };
}
