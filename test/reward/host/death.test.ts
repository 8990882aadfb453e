import { describe, expect, it } from 'vitest';
import { RewardStatus } from '../../../src/core/records.js';
import { classifyDeath } from '../../../src/reward/host/death.js';
import { DEATH_MARK } from '../../../src/reward/host/guard.js';

/** How a host's end is told from what it leaves behind (guard note, V8's text, signal, exit code). */
describe('classifyDeath', () => {
  it("takes the guard's note first", () => {
    const d = classifyDeath(null, 'SIGKILL', `noise\n${DEATH_MARK}{"status":${RewardStatus.memory},"detail":"the reward host grew to 300 MB"}\n`, null);
    expect(d).toEqual({ reason: 'out_of_memory', detail: 'the reward host grew to 300 MB', status: RewardStatus.memory });
  });

  it("reads V8's fatal out-of-memory text as out_of_memory", () => {
    const tail = '<--- Last few GCs --->\n[1:0x1]  2250 ms: Mark-Compact (reduce) 128.6 (131.4) -> 128.6 (130.4) MB\n<--- JS stacktrace --->\nCALL_AND_RETRY_LAST\nis_heap_oom = 1\n';
    expect(classifyDeath(null, 'SIGABRT', tail, null)).toMatchObject({ reason: 'out_of_memory', status: RewardStatus.memory });
  });

  it('calls anything else a crash, with the signal or code and the last line', () => {
    expect(classifyDeath(null, 'SIGSEGV', 'something broke\n', null)).toMatchObject({ reason: 'crashed', status: RewardStatus.crashed, detail: 'the reward host killed by SIGSEGV (segmentation fault): something broke' });
    expect(classifyDeath(3, null, '', null).detail).toBe('the reward host exited with code 3');
  });

  it("keeps the supervisor's own reason for a host it killed", () => {
    const own = { reason: 'timeout' as const, detail: 'no answer to "check" within 30000 ms', status: RewardStatus.timeout };
    expect(classifyDeath(null, 'SIGKILL', '', own)).toBe(own);
  });
});
