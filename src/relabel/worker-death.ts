import { RewardStatus } from '../core/records.js';
import { DEATH_MARK } from '../reward/host/guard.js';
import type { WorkerFailure } from './episode-job.js';

/**
 * Why a relabel worker process ended while it held an episode, from what it
 * left behind: V8's fatal out-of-memory text on stderr (isolated-vm's memory
 * limit is soft: one allocation inside a built-in can abort the process),
 * else the signal or exit code; `killedForStall` when the pool killed it for
 * reporting no progress.
 */
export interface WorkerDeath {
  failure: WorkerFailure;
  /** One line for the report. */
  detail: string;
}

/** What V8 prints when a heap cannot grow, in the versions Node 20-24 ship. */
const V8_OOM = /is_heap_oom = 1|heap out of memory|Fatal JavaScript out of memory|Reached heap limit|Fatal process out of memory|CALL_AND_RETRY_LAST/;

export function classifyDeath(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, killedForStall: string | null): WorkerDeath {
  if (killedForStall !== null) return { failure: 'timeout', detail: killedForStall };
  // The worker's guard (src/reward/host/guard.ts) says why it killed it, on stderr, just before.
  const mark = stderrTail.lastIndexOf(DEATH_MARK);
  if (mark >= 0) {
    try {
      const note = JSON.parse(stderrTail.slice(mark + DEATH_MARK.length).split('\n')[0]!) as { status: number; detail: string };
      const failure: WorkerFailure = note.status === RewardStatus.memory ? 'out_of_memory' : note.status === RewardStatus.timeout ? 'timeout' : 'crashed';
      return { failure, detail: `the relabel worker was killed by its guard: ${note.detail}` };
    } catch {
      /* a torn line: classify by the rest */
    }
  }
  if (V8_OOM.test(stderrTail)) return { failure: 'out_of_memory', detail: 'the relabel worker ran out of memory (V8 aborted it inside one allocation of the reward program)' };
  const how = signal ? `was killed by ${signal}${signal === 'SIGSEGV' ? ' (segmentation fault)' : signal === 'SIGABRT' ? ' (abort)' : ''}` : `exited with code ${code ?? '?'}`;
  const last = stderrTail.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('at ')).pop();
  return { failure: 'crashed', detail: `the relabel worker ${how}${last ? `: ${last.slice(0, 200)}` : ''}` };
}

/** Keeps the last `max` bytes of a stream's text (bounded: a worker's stderr can be long). */
export class TailBuffer {
  private text = '';
  constructor(private readonly max = 8192) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}
