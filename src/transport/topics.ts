import { RewarddError, describeValue } from '../core/errors.js';

/**
 * The MQTT topic tree (DESIGN.md, public contract):
 *   <prefix>/<robot>/status                       retained birth/death (death is the MQTT will)
 *   <prefix>/<robot>/episodes/<episode>/start     JSON EpisodeStart, QoS 1
 *   <prefix>/<robot>/episodes/<episode>/steps     binary step batch, QoS 1
 *   <prefix>/<robot>/episodes/<episode>/end       JSON EpisodeEnd, QoS 1
 *   <prefix>/<robot>/episodes/<episode>/vision    binary vision batch (embeddings, frames), QoS 1
 *   <prefix>/<robot>/camera/<name>                JPEG/PNG frames in, for an mqtt camera (docs/vision.md)
 *   <prefix>/<robot>/reward/active                retained JSON
 *   <prefix>/<robot>/reward/set                   command (MQTT 5 response topic + correlation data)
 *   <prefix>/<robot>/reward/set/result            reply topic for MQTT 3.1.1 senders (no response topic)
 *   <prefix>/<robot>/estop                        command
 *   <prefix>/<robot>/estop/result                 the robot's verdict on an estop command (MQTT 3.1.1 senders; MQTT 5: the response topic)
 *   <prefix>/<robot>/arm                          command (arm / disarm)
 *   <prefix>/<robot>/episode/next                 command: the reset phase is over, start the next episode (reply like reward/set)
 *   <prefix>/<robot>/episode/next/result          reply topic for MQTT 3.1.1 senders
 *   <prefix>/<robot>/live                         QoS 0, downsampled
 *   <prefix>/<robot>/health                       QoS 0, 1 Hz JSON: the status line's data (tick, policy, MQTT, outbox, safety)
 *   <prefix>/<robot>/camera/<name>                JPEG/PNG frames (written by a camera source, read by the dashboard)
 */
export const DEFAULT_PREFIX = 'rewardd/v1';

/** Robot and episode ids become topic levels: no wildcards, separators or empties. */
const LEVEL_RE = /^[A-Za-z0-9_.:-]+$/;

export function checkTopicLevel(what: string, v: string): string {
  if (typeof v !== 'string' || !LEVEL_RE.test(v)) {
    throw new RewarddError('E_CONFIG', `${what}: expected a topic level of [A-Za-z0-9_.:-]+, found ${describeValue(v)}`);
  }
  return v;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[#+]/.test(prefix) || prefix.startsWith('/') || prefix.endsWith('/') || prefix.startsWith('$')) {
    throw new RewarddError('E_CONFIG', `topic prefix: expected levels like "rewardd/v1" (no wildcards, no leading/trailing "/"), found ${describeValue(prefix)}`);
  }
  return prefix;
}

/** vision: embedding records of the episode (src/vision/vision-batch.ts). */
export type EpisodeTopicKind = 'start' | 'steps' | 'end' | 'vision';

export interface RobotTopics {
  readonly prefix: string;
  readonly robot: string;
  /** `<prefix>/<robot>` */
  readonly base: string;
  readonly status: string;
  readonly rewardActive: string;
  readonly rewardSet: string;
  readonly rewardSetResult: string;
  readonly estop: string;
  readonly estopResult: string;
  readonly arm: string;
  /** The operator's "next" between episodes (src/daemon/episode-gate.ts). */
  readonly episodeNext: string;
  readonly episodeNextResult: string;
  readonly live: string;
  readonly health: string;
  /** `<base>/camera/+`: every camera's frames. */
  readonly cameras: string;
  episodeStart(episode: string): string;
  episodeSteps(episode: string): string;
  episodeEnd(episode: string): string;
  episode(episode: string, kind: EpisodeTopicKind): string;
}

export function episodeTopics(prefix: string = DEFAULT_PREFIX, robot: string): RobotTopics {
  checkPrefix(prefix);
  checkTopicLevel('robot', robot);
  const base = `${prefix}/${robot}`;
  const episode = (id: string, kind: EpisodeTopicKind): string => `${base}/episodes/${checkTopicLevel('episode id', id)}/${kind}`;
  return {
    prefix,
    robot,
    base,
    status: `${base}/status`,
    rewardActive: `${base}/reward/active`,
    rewardSet: `${base}/reward/set`,
    rewardSetResult: `${base}/reward/set/result`,
    estop: `${base}/estop`,
    estopResult: `${base}/estop/result`,
    arm: `${base}/arm`,
    episodeNext: `${base}/episode/next`,
    episodeNextResult: `${base}/episode/next/result`,
    live: `${base}/live`,
    health: `${base}/health`,
    cameras: `${base}/camera/+`,
    episodeStart: (id) => episode(id, 'start'),
    episodeSteps: (id) => episode(id, 'steps'),
    episodeEnd: (id) => episode(id, 'end'),
    episode,
  };
}

/** Subscription filter for recorders: every robot's episode topics, or one robot's. */
export function episodeFilter(prefix: string = DEFAULT_PREFIX, robot?: string): string {
  checkPrefix(prefix);
  return `${prefix}/${robot === undefined ? '+' : checkTopicLevel('robot', robot)}/episodes/#`;
}

/** MQTT 5 shared subscription of a filter: the broker hands each message to one member of the group. */
export function sharedFilter(group: string, filter: string): string {
  checkTopicLevel('share group', group);
  return `$share/${group}/${filter}`;
}

export interface ParsedEpisodeTopic {
  robot: string;
  episode: string;
  kind: EpisodeTopicKind;
}

/** Splits `<prefix>/<robot>/episodes/<episode>/<kind>`; undefined for any other topic. */
export function parseEpisodeTopic(prefix: string, topic: string): ParsedEpisodeTopic | undefined {
  if (!topic.startsWith(prefix + '/')) return undefined;
  const parts = topic.slice(prefix.length + 1).split('/');
  if (parts.length !== 4 || parts[1] !== 'episodes') return undefined;
  const [robot, , episode, kind] = parts as [string, string, string, string];
  if (kind !== 'start' && kind !== 'steps' && kind !== 'end' && kind !== 'vision') return undefined;
  return { robot, episode, kind };
}
