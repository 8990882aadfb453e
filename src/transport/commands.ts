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
 * - `episode/next`: `next` as plain text or `{"action": "next", "reason": "...", "correlation": "..."}`
 *   (a signed envelope when the robot requires one, see trust/episode-next.ts): the reset phase
 *   between episodes is over. Anything else is refused (a garbled "next" must not start an
 *   episode). The verdict goes back like a reward/set result: to the MQTT 5 response topic with
 *   the correlation data, or on `episode/next/result` with `correlation` copied.
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

export interface EpisodeNextCommand {
  reason: string;
}

/** The robot's verdict on a "next": `detail` says what happens now, `error` why not. */
export type EpisodeNextResult = { ok: true; detail: string } | { ok: false; error: string };

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
  /** `raw` is the whole payload, for checking a signed "next"; `reply` sends the verdict (once). */
  onEpisodeNext?(cmd: EpisodeNextCommand, raw: Buffer, reply: (result: EpisodeNextResult) => void): void;
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

/** Bound on an episode/next payload (a signed envelope is a few hundred bytes). */
export const MAX_EPISODE_NEXT_BYTES = 4096;

/** Reads an episode/next payload: `next`, or JSON with `"action": "next"`. */
export function parseEpisodeNext(payload: Buffer): { ok: true; cmd: EpisodeNextCommand; correlation?: string } | { ok: false; error: string; correlation?: string } {
  if (payload.length > MAX_EPISODE_NEXT_BYTES) return { ok: false, error: `E_EPISODE: next: expected at most ${MAX_EPISODE_NEXT_BYTES} bytes, found ${payload.length}` };
  const text = payload.toString('utf8').trim();
  if (text === 'next') return { ok: true, cmd: { reason: 'mqtt' } };
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { ok: false, error: `E_EPISODE: next: expected "next" or {"action":"next","reason":"..."}, found ${text === '' ? 'an empty message' : `${JSON.stringify(text.slice(0, 40))}${text.length > 40 ? '...' : ''}`}` };
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return { ok: false, error: `E_EPISODE: next: expected a JSON object {"action":"next"}, found ${JSON.stringify(j)}` };
  const o = j as { action?: unknown; reason?: unknown; correlation?: unknown };
  const correlation = typeof o.correlation === 'string' ? o.correlation : undefined;
  const withCorr = correlation === undefined ? {} : { correlation };
  if (o.action !== 'next') return { ok: false, error: `E_EPISODE: next: field "action": expected "next", found ${JSON.stringify(o.action) ?? 'nothing'}`, ...withCorr };
  return { ok: true, cmd: { reason: typeof o.reason === 'string' ? o.reason : 'mqtt' }, ...withCorr };
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
  if (topic === topics.episodeNext) {
    const parsed = parseEpisodeNext(payload);
    const reply = replier(client, packet, topics.episodeNextResult, parsed.correlation);
    if (!parsed.ok) reply({ ok: false, error: parsed.error });
    else if (!handlers.onEpisodeNext) reply({ ok: false, error: 'E_CONFIG: this robot does not take "next"' });
    else handlers.onEpisodeNext(parsed.cmd, payload, reply);
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
