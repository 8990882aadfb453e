import { RewardStatus } from '../../core/records.js';
import { DEATH_MARK } from './guard.js';

/** Why a reward host process is gone, in the terms a step record and an operator use. */
export type HostDeathReason = 'out_of_memory' | 'timeout' | 'crashed';

export interface HostDeath {
  reason: HostDeathReason;
  /** One line: what killed it (the guard's note, V8's message, the signal or exit code). */
  detail: string;
  /** The RewardStatus a step that died with the host gets. */
  status: number;
}

export const statusOfDeath = (r: HostDeathReason): number => (r === 'out_of_memory' ? RewardStatus.memory : r === 'timeout' ? RewardStatus.timeout : RewardStatus.crashed);

export const deathOfStatus = (status: number): HostDeathReason => (status === RewardStatus.memory ? 'out_of_memory' : status === RewardStatus.timeout ? 'timeout' : 'crashed');

/** What V8 prints when a heap cannot grow (its fatal OOM), in the versions Node 20-24 ship. */
const V8_OOM = /is_heap_oom = 1|heap out of memory|Fatal JavaScript out of memory|Reached heap limit|Fatal process out of memory|CALL_AND_RETRY_LAST/;

/**
 * Classifies a host's end from what it left behind: the guard's death note if
 * it wrote one, else V8's fatal out-of-memory text, else the signal or exit
 * code. `killedFor` is set when the supervisor itself killed the host (a
 * request that never came back).
 */
export function classifyDeath(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, killedFor: HostDeath | null): HostDeath {
  const at = stderrTail.lastIndexOf(DEATH_MARK);
  if (at >= 0) {
    const line = stderrTail.slice(at + DEATH_MARK.length).split('\n')[0] ?? '';
    try {
      const note = JSON.parse(line) as { status?: unknown; detail?: unknown };
      const reason = deathOfStatus(Number(note.status));
      return { reason, detail: String(note.detail ?? ''), status: statusOfDeath(reason) };
    } catch {
      // A torn note: fall through to the other evidence.
    }
  }
  if (killedFor) return killedFor;
  if (V8_OOM.test(stderrTail)) {
    return { reason: 'out_of_memory', detail: 'V8 could not grow the sandbox heap (fatal out of memory inside one allocation)', status: RewardStatus.memory };
  }
  const how = signal ? `killed by ${signal}${signal === 'SIGSEGV' ? ' (segmentation fault)' : signal === 'SIGABRT' ? ' (abort)' : ''}` : `exited with code ${code ?? '?'}`;
  const last = lastMeaningfulLine(stderrTail);
  return { reason: 'crashed', detail: `the reward host ${how}${last ? `: ${last}` : ''}`, status: RewardStatus.crashed };
}

function lastMeaningfulLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('at ') && !l.startsWith('<---') && !/^\d+: 0x/.test(l));
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
