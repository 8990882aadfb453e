import { rewardStatusName, safetyFlagNames } from '../core/records.js';
import type { LoopStatus } from './control-loop.js';
import type { TickStats } from './tick-scheduler.js';
import { describeGate } from './episode-gate.js';

export interface StatusParts {
  loop: LoopStatus;
  tick: TickStats;
  broker: { connected: boolean; published: number; pending: number; outboxFull: boolean };
  policyBackend: string;
}

const fmt = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : 'NaN');

/** The one-line status printed every second: rate, episode, reward, broker, safety. */
export function formatStatus(s: StatusParts): string {
  const l = s.loop;
  const terms = l.termNames.map((n, i) => `${n} ${fmt(l.terms[i] ?? NaN, 2)}`).join(' ');
  const reward =
    l.rewardStatus === 0 ? `reward ${fmt(l.rewardTotal)} (${terms})` : `reward FAILED ${rewardStatusName(l.rewardStatus)}`;
  const safety = l.estopped ? 'ESTOP' : !l.armed ? 'disarmed' : safetyFlagNames(l.safety & ~128).join(',') || 'ok';
  const b = s.broker;
  return [
    `tick ${s.tick.hz.toFixed(1)} Hz p99 err ${s.tick.p99ErrorUs.toFixed(0)} us`,
    // Between episodes the step count is the last episode's; say what the robot waits for instead.
    l.gate.phase === 'running' || l.episodeIndex < 0 ? `ep ${l.episodeIndex} step ${l.step}` : `ep ${l.episodeIndex} ended, ${describeGate(l.gate)}`,
    reward,
    `v ${l.rewardVersion}`,
    `policy ${s.policyBackend}`,
    `safety ${safety}`,
    `mqtt ${b.connected ? 'up' : 'DOWN'} sent ${b.published} pending ${b.pending}${b.outboxFull ? ' OUTBOX FULL' : ''}`,
    `link ${l.linkUp ? 'up' : 'LOST'}`,
  ].join(' | ');
}
