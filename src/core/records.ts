/**
 * The episode contract: what every logged step and episode carries.
 * These shapes are public (MQTT subscribers and recorders read them); change
 * them only with a bump of RECORD_SCHEMA and a note in docs/records.md.
 */
export const RECORD_SCHEMA = 'rewardd.episode/1';

/** Why a step's reward is what it is. 0 = ok; every other value means "no reward value". */
export const RewardStatus = {
  ok: 0,
  timeout: 1,
  threw: 2,
  non_finite: 3,
  bad_output: 4,
  memory: 5,
  /** The sandbox was being rebuilt (after a memory bomb) or no program is loaded. */
  unavailable: 6,
  /** The reward host process died under this step (a V8 abort, a segfault, a kill): docs/sandbox.md. */
  crashed: 7,
  /** The reward host did not answer before the step had to be logged (a stalled or overloaded host). */
  late: 8,
} as const;
export type RewardStatusName = keyof typeof RewardStatus;
export type RewardStatusCode = (typeof RewardStatus)[RewardStatusName];
export const rewardStatusName = (code: number): RewardStatusName | 'unknown' =>
  (Object.keys(RewardStatus) as RewardStatusName[]).find((k) => RewardStatus[k] === code) ?? 'unknown';

/** RLDS step flags, plus success, as a bit set. */
export const StepFlag = {
  first: 1,
  last: 2,
  terminal: 4,
  success: 8,
} as const;

/**
 * Safety-filter interventions on a step, as a bit set: a step whose applied
 * action differs from the commanded one always carries at least one bit.
 */
export const SafetyFlag = {
  clamped: 1,
  rate_limited: 2,
  non_finite: 4,
  stale_decel: 8,
  stale_stop: 16,
  estop: 32,
  disarmed: 64,
  no_action_yet: 128,
} as const;
export type SafetyFlagName = keyof typeof SafetyFlag;
export const safetyFlagNames = (bits: number): SafetyFlagName[] =>
  (Object.keys(SafetyFlag) as SafetyFlagName[]).filter((k) => (bits & SafetyFlag[k]) !== 0);

/** One step as a plain object: what the batch decoder yields per row. */
export interface StepRecord {
  episode: string;
  seq: number;
  /** Monotonic time of the tick, ns (host clock; origin is per daemon boot). */
  tNs: bigint;
  /** Wall time of the tick, ms since the Unix epoch. */
  wallMs: number;
  /** Monotonic time the newest sample of this observation was taken, ns (host clock). */
  obsTNs: bigint;
  /** Observation values in the order of the start record's observation names. */
  obs: Float32Array;
  /** Raw (uncalibrated) observation, float32-rounded, same order; absent in steps logged as rewardd.steps/1. */
  obsRaw?: Float32Array;
  /** The policy's action before the safety filter. */
  actionCommanded: Float32Array;
  /** What was sent to the actuators. */
  actionApplied: Float32Array;
  safety: number;
  flags: number;
  rewardVersion: string;
  rewardStatus: number;
  /** Σ weight × term; NaN when status is not ok (never a made-up value). */
  rewardTotal: number;
  /** Named terms of this step's reward version; NaN when status is not ok. */
  rewardTerms: Record<string, number>;
  /** Set only on failed steps: the reason code and message. */
  rewardReason?: string;
}

export interface Provenance<T> {
  /** Short content hash (12 hex). */
  hash: string;
  /** Full sha256 of the same content. */
  sha256: string;
  content: T;
}

export interface EpisodeStart {
  schema: typeof RECORD_SCHEMA;
  episode: string;
  robot: string;
  /** Index of this episode since the daemon started. */
  index: number;
  startedWallMs: number;
  startedNs: string;
  tickHz: number;
  stepLimit: number;
  observationNames: string[];
  actionNames: string[];
  robotDescription: Provenance<unknown>;
  calibration: Provenance<unknown>;
  policy: Provenance<unknown> & { backend: string };
  reward: Provenance<string> & { name: string; weights: Record<string, number>; termNames: string[]; signer: string | null };
  link: { kind: string; detail: Record<string, unknown> };
  software: { rewardd: string; node: string };
  /** Scenario facts the link chose for this episode (e.g. the sim's beacon position). */
  scenario: Record<string, unknown>;
  /** The vision model and camera, when the robot has one (docs/vision.md). */
  vision?: { model: { name: string; hash: string; weights: string }; camera: { name: string; source: string; width: number; height: number; hz: number } };
  /** The reset phase that preceded this episode (src/daemon/episode-gate.ts); absent on a daemon's first episode. */
  reset?: EpisodeResetPhase;
}

/** How the reset phase between two episodes went (docs/architecture.md, "Episodes and the reset phase"). */
export interface EpisodeResetPhase {
  /** The `--reset` mode in force: "immediate", "operator", "until-clear:50", "pause:2000". */
  mode: string;
  /** What let this episode start: immediate (no reset phase), next (the operator), clear (until-clear), pause. */
  endedBy: 'immediate' | 'next' | 'clear' | 'pause';
  /** Monotonic time from the previous episode's end to this start, ms. */
  waitedMs: number;
  /** Ticks spent holding the actuators at their stop values (not counted while the link was down or the e-stop latched). */
  ticks: number;
  /** Reward evaluations made during the phase (until-clear only); none is logged as a step. */
  evaluations: number;
  /** A "next": the fingerprint of the key that signed it (null: unsigned, under --auth open) and its reason. */
  signer?: string | null;
  reason?: string;
}

export type EpisodeEndReason = 'success' | 'done' | 'step_limit' | 'interrupted' | 'shutdown' | 'link_lost' | 'estop';

/** A reward version's source as logged with an episode (see EpisodeEnd.rewardSources). */
export interface RewardSource {
  hash: string;
  sha256: string;
  name: string;
  /** The file name it was pushed or loaded as (its extension: JavaScript or TypeScript). */
  filename: string;
  content: string;
  signer: string | null;
}

/** Bound on the reward sources one end record carries (sources are at most 256 KiB each). */
export const MAX_END_REWARD_SOURCE_BYTES = 1024 * 1024;

export interface EpisodeEnd {
  schema: typeof RECORD_SCHEMA;
  episode: string;
  robot: string;
  steps: number;
  endedWallMs: number;
  endedNs: string;
  reason: EpisodeEndReason;
  success: boolean;
  /** Σ of ok-step totals; failed steps are counted in rewardFailures, not added. */
  return: number;
  returnByTerm: Record<string, number>;
  rewardFailures: number;
  /** rewardFailures by status name (timeout, threw, crashed, late...); absent in records before 0.2. */
  rewardFailuresByStatus?: Record<string, number>;
  rewardVersions: string[];
  /**
   * The source of every version in rewardVersions that did not start the episode (a hot swap
   * mid-episode: the start record names only the first), so the store can relabel with it.
   * Absent when the episode kept its first version; bounded (MAX_END_REWARD_SOURCE_BYTES).
   */
  rewardSources?: RewardSource[];
  /**
   * Steps taken after the episode's last one, not logged: the reward host answered late, and the
   * step it said was terminal (success/done) had already been followed by these. Absent when 0.
   */
  stepsAfterEnd?: number;
  /**
   * Steps whose success() or done() did not end the episode because they came before
   * `--min-episode-steps` (a world that did not reset). Absent when 0.
   */
  endsHeldBack?: number;
  safetyInterventions: number;
  linkCounters: Record<string, number>;
  /** Camera and encoder counters over the episode, when the robot has a camera (docs/vision.md). */
  vision?: { framesReceived: number; framesDropped: number; framesGarbage: number; encoded: number; encodeErrors: number; sourceRestarts: number; recordsLogged: number; framesLogged: number; notLogged: number; lost: number; lastError: string };
}
