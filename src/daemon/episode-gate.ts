import { RewarddError } from '../core/errors.js';
import type { EpisodeResetPhase } from '../core/records.js';

/**
 * When the next episode may start: the reset phase between episodes.
 *
 * A simulator resets its own world, so on the sim one episode follows another at the next tick
 * (`immediate`). A real robot's world does not reset: the rover is still at the beacon, and a
 * reward whose success() was true at the end is true again at step 0 of the next episode (issue
 * 18 saw 270 one-step `success` episodes in 7 s). So after every episode end, a real robot holds
 * its actuators at their stop values in a **reset phase** until one of:
 *
 * - `operator`: someone says "next" (`rewardd episode next`, or the `episode/next` topic);
 * - `until-clear[:K]`: the reward, still evaluated every tick, has had success() and done() both
 *   false (status ok) for K evaluated ticks in a row;
 * - `pause:MS`: MS milliseconds have passed (monotonic clock).
 *
 * Independently, `minEpisodeSteps` is a debounce: a success() or done() on a step before that
 * many steps does not end the episode (truncations — step limit, e-stop, lost link, shutdown —
 * always do). The first time it holds an end back, one warning says why (never once per episode).
 *
 * No I/O and no clock of its own: the control loop passes monotonic milliseconds in.
 */
export type ResetMode =
  | { kind: 'immediate' }
  | { kind: 'operator' }
  | { kind: 'until-clear'; ticks: number }
  | { kind: 'pause'; ms: number };

/** K of `until-clear` when not given: half a second at 100 Hz. */
export const DEFAULT_CLEAR_TICKS = 50;

/** The `--reset` values, for help texts and errors. */
export const RESET_CHOICES = 'auto | immediate | operator | until-clear[:K] | pause:MS';

/**
 * Reads `--reset`. `auto` is `immediate` on the sim (it resets its own world) and `operator` on
 * a serial or johnny-five link: only a person can tell that a real scene was put back, and an
 * armed policy must not start driving while someone is still in the arena.
 */
export function parseResetMode(text: string, link: string): ResetMode {
  const bad = (): never => {
    throw new RewarddError('E_CONFIG', `--reset: expected ${RESET_CHOICES} (K ticks 1..1000000, MS 1..86400000), found ${JSON.stringify(text)}`);
  };
  if (text === 'auto') return link === 'sim' ? { kind: 'immediate' } : { kind: 'operator' };
  if (text === 'immediate') return { kind: 'immediate' };
  if (text === 'operator') return { kind: 'operator' };
  const m = /^(until-clear|pause)(?::(\d+))?$/.exec(text);
  if (!m) return bad();
  if (m[1] === 'until-clear') {
    const k = m[2] === undefined ? DEFAULT_CLEAR_TICKS : Number(m[2]);
    if (!(k >= 1 && k <= 1_000_000)) return bad();
    return { kind: 'until-clear', ticks: k };
  }
  const ms = m[2] === undefined ? NaN : Number(m[2]);
  if (!(ms >= 1 && ms <= 86_400_000)) return bad();
  return { kind: 'pause', ms };
}

export function resetModeLabel(m: ResetMode): string {
  return m.kind === 'until-clear' ? `until-clear:${m.ticks}` : m.kind === 'pause' ? `pause:${m.ms}` : m.kind;
}

/** How a reset phase ended: what the next episode's start record says of it (`reset`). */
export type ResetSummary = EpisodeResetPhase;

export type GatePhase = 'running' | 'resetting' | 'ready';

/** The gate as the status line and the health topic show it. */
export interface GateStatus {
  phase: GatePhase;
  mode: string;
  /** While resetting: what the phase waits for, in words ("next", "success() and done() false for 50 ticks (12 so far)", "the pause to end, 1.2 s left"). */
  waitingFor: string | null;
  /** ms since the phase began (0 while running). */
  forMs: number;
}

export type NextVerdict = { ok: true; detail: string } | { ok: false; error: string };

export class EpisodeGate {
  private phaseValue: GatePhase = 'ready';
  private episodeId = '';
  private endedAtMs = 0;
  private ticks = 0;
  private evaluations = 0;
  private clearRun = 0;
  private startedBy: ResetSummary['endedBy'] = 'immediate';
  private nextBy: { signer: string | null; reason: string } | null = null;
  /** First episode: nothing preceded it, so its start record has no `reset`. */
  private first = true;
  private warned = false;
  /** success()/done() results held back by the minimum length in the current episode. */
  heldBack = 0;

  constructor(
    readonly mode: ResetMode,
    readonly minEpisodeSteps: number,
    private readonly warn: (line: string) => void,
  ) {
    if (!Number.isInteger(minEpisodeSteps) || minEpisodeSteps < 1) throw new RewarddError('E_CONFIG', `--min-episode-steps: expected an integer >= 1, found ${minEpisodeSteps}`);
  }

  get phase(): GatePhase {
    return this.phaseValue;
  }

  /** The loop evaluates the reward during the reset phase only when the mode reads it. */
  get evaluatesDuringReset(): boolean {
    return this.mode.kind === 'until-clear';
  }

  /**
   * Called on each tick while no episode runs and the robot could start one (link up, no e-stop):
   * true once the next episode may start. Counts the tick as one held in the reset phase otherwise.
   */
  mayStart(nowMs: number): boolean {
    if (this.phaseValue === 'ready') return true;
    if (this.phaseValue === 'running') return false;
    const m = this.mode;
    if (m.kind === 'pause' && nowMs - this.endedAtMs >= m.ms) {
      this.open('pause');
      return true;
    }
    this.ticks++;
    return false;
  }

  /** One reward evaluation during the reset phase (until-clear): `ok` is status ok. */
  observe(ok: boolean, success: boolean, done: boolean): void {
    if (this.phaseValue !== 'resetting') return;
    this.evaluations++;
    if (this.mode.kind !== 'until-clear') return;
    this.clearRun = ok && !success && !done ? this.clearRun + 1 : 0;
    if (this.clearRun >= this.mode.ticks) this.open('clear');
  }

  /** The operator's "next". Refused while an episode runs or when the mode has no reset phase. */
  next(by: { signer: string | null; reason: string }): NextVerdict {
    if (this.mode.kind === 'immediate') return { ok: false, error: 'E_EPISODE: next: expected a robot with a reset phase (--reset operator, until-clear or pause), found --reset immediate: episodes follow one another at once' };
    if (this.phaseValue === 'running') return { ok: false, error: `E_EPISODE: next: expected the robot between episodes, found episode ${this.episodeId} running; "next" starts an episode after the current one has ended` };
    if (this.phaseValue === 'ready') return { ok: true, detail: 'the next episode is already starting' };
    this.nextBy = by;
    this.open('next');
    return { ok: true, detail: 'the next episode starts at the next tick' };
  }

  /** The loop started episode `id`; returns how the reset phase before it ended (null for the first). */
  episodeStarted(id: string, nowMs: number): ResetSummary | null {
    const summary: ResetSummary | null = this.first
      ? null
      : {
          mode: resetModeLabel(this.mode),
          endedBy: this.startedBy,
          waitedMs: Math.max(0, Math.round(nowMs - this.endedAtMs)),
          ticks: this.ticks,
          evaluations: this.evaluations,
          ...(this.nextBy ? { signer: this.nextBy.signer, reason: this.nextBy.reason } : {}),
        };
    this.first = false;
    this.phaseValue = 'running';
    this.episodeId = id;
    this.heldBack = 0;
    return summary;
  }

  /** The episode ended (any reason): the reset phase begins, or, with `immediate`, the next may start. */
  episodeEnded(nowMs: number): void {
    this.endedAtMs = nowMs;
    this.ticks = 0;
    this.evaluations = 0;
    this.clearRun = 0;
    this.nextBy = null;
    if (this.mode.kind === 'immediate') this.open('immediate');
    else this.phaseValue = 'resetting';
  }

  /**
   * Whether a success()/done() at step `index` (0-based) is held back by the minimum length: the
   * episode then goes on. Warns once per run, the first time it happens.
   */
  holdsEnd(index: number, what: 'success' | 'done'): boolean {
    if (index + 1 >= this.minEpisodeSteps) return false;
    this.heldBack++;
    if (!this.warned) {
      this.warned = true;
      this.warn(
        `warning: episode ${this.episodeId}: ${what}() was already true at step ${index}: the world did not reset between episodes. ` +
          `A success()/done() before step ${this.minEpisodeSteps} (--min-episode-steps) does not end an episode` +
          (this.mode.kind === 'immediate' ? '; a real robot needs a reset phase: --reset operator, until-clear[:K] or pause:MS' : '') +
          ` (said once; each end record counts them in endsHeldBack)`,
      );
    }
    return true;
  }

  status(nowMs: number): GateStatus {
    const mode = resetModeLabel(this.mode);
    if (this.phaseValue === 'running') return { phase: 'running', mode, waitingFor: null, forMs: 0 };
    const forMs = this.first ? 0 : Math.max(0, nowMs - this.endedAtMs);
    if (this.phaseValue === 'ready') return { phase: 'ready', mode, waitingFor: null, forMs };
    const m = this.mode;
    const waitingFor =
      m.kind === 'operator'
        ? 'next'
        : m.kind === 'until-clear'
          ? `success() and done() false for ${m.ticks} ticks (${this.clearRun} so far)`
          : m.kind === 'pause'
            ? `the pause to end, ${(Math.max(0, m.ms - forMs) / 1000).toFixed(1)} s left`
            : null;
    return { phase: 'resetting', mode, waitingFor, forMs };
  }

  private open(by: ResetSummary['endedBy']): void {
    this.startedBy = by;
    this.phaseValue = 'ready';
  }
}

/** The status line's words for the gate: "resetting (waiting for next, 12 s)". */
export function describeGate(s: GateStatus): string {
  if (s.phase === 'running') return 'running';
  // Ready but not started: this tick's end came in after the start check, or the link is down or the e-stop latched.
  if (s.phase === 'ready') return 'the next one is starting';
  // A pause says how long is left; the others how long the robot has been waiting.
  if (s.mode.startsWith('pause:')) return `resetting (waiting for ${s.waitingFor})`;
  return `resetting (waiting for ${s.waitingFor ?? 'next'}, ${(s.forMs / 1000).toFixed(0)} s)`;
}
