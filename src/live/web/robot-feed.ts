import { SafetyFlag, StepFlag, type EpisodeEnd, type EpisodeStart } from '../../core/records.js';
import { decodeStepBatch } from '../../episode/batch-codec.js';
import type { HealthReport } from '../health.js';
import type { CameraPanel } from './camera-panel.js';
import type { EpisodeBook } from './episodes.js';
import type { Markers } from './markers.js';
import type { StepHistory } from './step-history.js';

/**
 * Turns the robot's MQTT topics into the page's models: step batches into the
 * history and the episode book, start/end records and reward events into
 * markers, `health` and `status` into the header. Topics (docs/records.md):
 * status, health, reward/active, episodes/+/{start,steps,end}, live, camera/+.
 */
export interface FeedParts {
  prefix: string;
  robot: string | null;
  history: StepHistory;
  book: EpisodeBook;
  markers: Markers;
  camera: CameraPanel;
}

type RewardActive =
  | { type?: undefined; version: string; name?: string; termNames?: string[] }
  | { type: 'activated'; version: string; name?: string; previous: string | null; mode: string }
  | { type: 'rolled-back'; from: string; to: string; name?: string; consecutiveFailures: number; lastReason: string };

const td = new TextDecoder();

export class RobotFeed {
  robot: string | null;
  online: { state: string; reason: string } | null = null;
  activeReward: { version: string; name: string } | null = null;
  /** The last reward event (swap or rollback) seen, to name the marker of the version change in the steps. */
  private lastEvent: RewardActive | null = null;
  private lastVersion: string | null = null;
  private lastEstop = false;
  private readonly markedEpisodes = new Set<string>();
  errors = 0;
  lastError = '';
  onChange: () => void = () => {};
  onHealth: (h: HealthReport) => void = () => {};
  onRobot: (robot: string) => void = () => {};

  constructor(private readonly p: FeedParts) {
    this.robot = p.robot;
  }

  subscriptions(): string[] {
    if (!this.robot) return [`${this.p.prefix}/+/status`];
    const b = `${this.p.prefix}/${this.robot}`;
    return [`${b}/status`, `${b}/health`, `${b}/reward/active`, `${b}/episodes/+/+`, `${b}/live`, `${b}/camera/+`];
  }

  handle(topic: string, payload: Uint8Array): void {
    try {
      this.dispatch(topic, payload);
    } catch (e) {
      // One bad message (a foreign publisher on our topics) is counted, never fatal to the page.
      this.errors++;
      this.lastError = `${topic}: ${(e as Error).message}`;
    }
  }

  private dispatch(topic: string, payload: Uint8Array): void {
    const pre = `${this.p.prefix}/`;
    if (!topic.startsWith(pre)) return;
    const [robot, ...rest] = topic.slice(pre.length).split('/');
    const sub = rest.join('/');
    if (!this.robot) {
      if (sub !== 'status') return;
      const s = JSON.parse(td.decode(payload)) as { state: string };
      if (s.state !== 'online' || !robot) return;
      this.robot = robot;
      this.onRobot(robot);
      return;
    }
    if (robot !== this.robot) return;
    const json = <T>(): T => JSON.parse(td.decode(payload)) as T;
    if (sub === 'status') this.online = json<{ state: string; reason: string }>();
    else if (sub === 'health') this.onHealth(json<HealthReport>());
    else if (sub === 'reward/active') this.rewardActive(json<RewardActive>());
    else if (sub === 'live') this.p.camera.live(json<{ obs?: Record<string, number> }>());
    else if (rest[0] === 'camera' && rest[1]) this.p.camera.frame(rest[1], payload);
    else if (rest[0] === 'episodes' && rest.length === 3) {
      const kind = rest[2];
      if (kind === 'steps') this.steps(payload);
      else if (kind === 'start') this.start(json<EpisodeStart>());
      else if (kind === 'end') this.end(json<EpisodeEnd>());
    }
  }

  private rewardActive(a: RewardActive): void {
    const version = a.type === 'rolled-back' ? a.to : a.version;
    if (a.name) this.p.book.nameVersion(version, a.name);
    this.activeReward = { version, name: a.name ?? this.p.book.rewardNames.get(version) ?? '?' };
    if (a.type) this.lastEvent = a;
  }

  private start(s: EpisodeStart): void {
    this.p.book.onStart(s);
    this.markEpisode(s.episode, s.startedWallMs / 1000, `#${s.index}`);
    this.onChange();
  }

  private end(e: EpisodeEnd): void {
    this.p.book.onEnd(e);
    this.p.markers.add({ t: e.endedWallMs / 1000, kind: 'end', label: e.reason });
    this.onChange();
  }

  private markEpisode(id: string, t: number, label: string): void {
    if (this.markedEpisodes.has(id)) return;
    this.markedEpisodes.add(id);
    if (this.markedEpisodes.size > 4096) this.markedEpisodes.clear();
    this.p.markers.add({ t, kind: 'episode', label });
  }

  private steps(payload: Uint8Array): void {
    const b = decodeStepBatch(payload);
    const h = this.p.history;
    const from = h.append(b);
    this.p.book.onBatch(b);
    if (from < 0) return;
    const t0 = h.t[h.at(from)]!;
    // A version change between batches is the exact step a swap or rollback took effect.
    if (this.lastVersion !== null && b.rewardVersion !== this.lastVersion) {
      const ev = this.lastEvent;
      const rolled = ev?.type === 'rolled-back' && ev.to === b.rewardVersion;
      const name = this.p.book.rewardNames.get(b.rewardVersion) ?? ev?.name ?? '';
      this.p.markers.add({ t: t0, kind: rolled ? 'rollback' : 'swap', label: `${rolled ? 'rollback' : 'swap'} → ${name} ${b.rewardVersion.slice(0, 6)}` });
    }
    this.lastVersion = b.rewardVersion;
    for (let i = 0; i < b.count; i++) {
      if (b.flags[i]! & StepFlag.first) this.markEpisode(b.episode, b.wallMs[i]! / 1000, '');
      const estop = (b.safety[i]! & SafetyFlag.estop) !== 0;
      if (estop && !this.lastEstop) this.p.markers.add({ t: b.wallMs[i]! / 1000, kind: 'estop', label: 'e-stop' });
      this.lastEstop = estop;
    }
    this.onChange();
  }

  renderState(online: HTMLElement, reward: HTMLElement, estopPill: HTMLElement, banner: HTMLElement, h: HealthReport | null): void {
    online.textContent = `robot: ${this.online ? `${this.online.state} (${this.online.reason})` : '?'}`;
    online.className = `pill ${this.online?.state === 'online' ? 'ok' : this.online ? 'bad' : ''}`;
    const v = h?.reward.version ?? this.activeReward?.version;
    const name = v ? (this.p.book.rewardNames.get(v) ?? this.activeReward?.name ?? '?') : '?';
    reward.textContent = `reward: ${name} v ${v ?? '?'}${h && h.reward.status !== 'ok' ? ` (${h.reward.status})` : ''}`;
    const latched = h?.safety.estopped;
    estopPill.textContent = `e-stop: ${latched === undefined ? '?' : latched ? 'LATCHED' : h!.safety.armed ? 'clear, armed' : 'clear, disarmed'}`;
    estopPill.className = `pill ${latched ? 'bad' : latched === false ? 'ok' : ''}`;
    banner.textContent = latched ? 'E-STOP LATCHED: the robot holds still until a signed or local reset (then an arm, unless it arms itself)' : '';
    banner.classList.toggle('hidden', !latched);
  }
}
