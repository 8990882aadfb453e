import { rewardStatusName, safetyFlagNames } from '../core/records.js';
import type { LoopStatus } from '../daemon/control-loop.js';
import { formatStatus } from '../daemon/status-line.js';
import type { TickStats } from '../daemon/tick-scheduler.js';
import type { PolicyRunnerStats } from '../policy/runner.js';
import type { PublisherStats } from '../transport/publisher.js';

/**
 * The `health` topic (QoS 0, once a second): what the status line prints, as
 * JSON, for dashboards and the Foxglove /status channel. `line` is the status
 * line itself, so a page can show exactly what the robot's terminal shows.
 */
export const HEALTH_SCHEMA = 'rewardd.health/1';

export interface HealthReport {
  schema: typeof HEALTH_SCHEMA;
  robot: string;
  wallMs: number;
  line: string;
  tick: TickStats & { nominalHz: number };
  /** phase: running, resetting (between episodes, waiting for `waitingFor`), ready (starting); `reset` is the --reset mode. */
  episode: { id: string; index: number; step: number; done: number; phase: string; reset: string; waitingFor: string | null; phaseForMs: number };
  reward: { version: string; status: string; total: number | null; terms: Record<string, number | null> };
  safety: { bits: number; names: string[]; armed: boolean; estopped: boolean };
  link: { up: boolean; counters: Record<string, number> };
  policy: { backend: string; inferences: number; inferencesPerS: number; skipped: number; errors: number; lastInferenceUs: number };
  mqtt: Pick<PublisherStats, 'connected' | 'protocolVersion' | 'published' | 'pending' | 'outboxBytes' | 'outboxRecords' | 'inflight' | 'droppedSteps' | 'outboxFull' | 'reconnects'> & { lastError: string | null };
}

const n = { type: 'number' };
const i = { type: 'integer' };
const s = { type: 'string' };
const b = { type: 'boolean' };
const o = (properties: Record<string, unknown>): object => ({ type: 'object', properties });
const numbersByName = { type: 'object', additionalProperties: n };

/** The JSON schema of HealthReport (the Foxglove bridge advertises it for /status). */
export const healthJsonSchema = (): object => ({
  title: 'rewardd.Health',
  ...o({
    schema: s, robot: s, wallMs: n, line: s,
    tick: o({ hz: n, p50ErrorUs: n, p99ErrorUs: n, maxErrorUs: n, p99LateUs: n, spinUs: n, skipped: i, ticks: i, nominalHz: n }),
    episode: o({ id: s, index: i, step: i, done: i, phase: s, reset: s, waitingFor: { type: ['string', 'null'] }, phaseForMs: n }),
    reward: o({ version: s, status: s, total: n, terms: numbersByName }),
    safety: o({ bits: i, names: { type: 'array', items: s }, armed: b, estopped: b }),
    link: o({ up: b, counters: numbersByName }),
    policy: o({ backend: s, inferences: i, inferencesPerS: n, skipped: i, errors: i, lastInferenceUs: n }),
    mqtt: o({ connected: b, protocolVersion: i, published: i, pending: i, outboxBytes: i, outboxRecords: i, inflight: i, droppedSteps: i, outboxFull: b, reconnects: i, lastError: { type: ['string', 'null'] } }),
  }),
});

/** JSON has no NaN: a failed reward's NaN is sent as null. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Builds reports from the control thread's status messages; remembers the last policy count for a rate. */
export class HealthReporter {
  private lastInferences = -1;
  private lastNs = 0n;

  constructor(private readonly robot: string, private readonly nominalHz: number) {}

  /** `suffix`: what the daemon appends to the status line after the loop's part (` | vision ...`), so `line` is the terminal's line. */
  report(loop: LoopStatus, tick: TickStats, broker: PublisherStats, policyBackend: string, policy: PolicyRunnerStats, wallMs: number, nowNs: bigint, suffix = ''): HealthReport {
    const dtS = Number(nowNs - this.lastNs) / 1e9;
    const rate = this.lastInferences >= 0 && dtS > 0 ? (policy.inferences - this.lastInferences) / dtS : 0;
    this.lastInferences = policy.inferences;
    this.lastNs = nowNs;
    return {
      schema: HEALTH_SCHEMA,
      robot: this.robot,
      wallMs,
      line: formatStatus({ loop, tick, broker, policyBackend }) + suffix,
      tick: { ...tick, nominalHz: this.nominalHz },
      episode: { id: loop.episode, index: loop.episodeIndex, step: loop.step, done: loop.episodesDone, phase: loop.gate.phase, reset: loop.gate.mode, waitingFor: loop.gate.waitingFor, phaseForMs: Math.round(loop.gate.forMs) },
      reward: {
        version: loop.rewardVersion,
        status: rewardStatusName(loop.rewardStatus),
        total: finite(loop.rewardTotal),
        terms: Object.fromEntries(loop.termNames.map((n, i) => [n, finite(loop.terms[i] ?? NaN)])),
      },
      safety: { bits: loop.safety, names: safetyFlagNames(loop.safety), armed: loop.armed, estopped: loop.estopped },
      link: { up: loop.linkUp, counters: loop.linkCounters },
      policy: { backend: policyBackend, inferences: policy.inferences, inferencesPerS: rate, skipped: policy.skipped, errors: policy.errors, lastInferenceUs: policy.lastInferenceUs },
      mqtt: {
        connected: broker.connected,
        protocolVersion: broker.protocolVersion,
        published: broker.published,
        pending: broker.pending,
        outboxBytes: broker.outboxBytes,
        outboxRecords: broker.outboxRecords,
        inflight: broker.inflight,
        droppedSteps: broker.droppedSteps,
        outboxFull: broker.outboxFull,
        reconnects: broker.reconnects,
        lastError: broker.lastError ?? null,
      },
    };
  }
}
