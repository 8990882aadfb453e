import { describe, expect, it } from 'vitest';
import { RewardStatus } from '../../src/core/records.js';
import { CLEAN_AFTER_STEPS, RewardSlot, type RewardSlotEvent } from '../../src/daemon/reward-slot.js';
import type { RewardEvaluator, RewardOutputLike } from '../../src/daemon/ports.js';

/** An evaluator with a version name; the slot only reads its info and calls beginEpisode/dispose. */
function evaluator(version: string): RewardEvaluator & { disposed: boolean } {
  return {
    info: { version, sha256: version, name: 'r', termNames: ['a'], weights: { a: 1 }, source: `// ${version}`, filename: `${version}.reward.js` },
    ready: true,
    disposed: false,
    beginEpisode() {},
    submit: () => 0,
    result: () => false,
    dispose() {
      this.disposed = true;
    },
  };
}
const out = (status: number): RewardOutputLike => ({ status, total: status === RewardStatus.ok ? 1 : NaN, terms: new Float64Array(1), success: false, done: false, reason: status === RewardStatus.ok ? '' : 'E_REWARD_MEMORY: test' }) as RewardOutputLike;
const ep = { index: 0, id: 'e0' };

/** A swap with --swap now: offered, and active from the next step. */
function swapIn(slot: RewardSlot, rt: RewardEvaluator): void {
  slot.offer(rt, 'now');
  slot.beforeStep(false, ep);
}

function cleanRun(slot: RewardSlot, rt: RewardEvaluator): void {
  for (let i = 0; i < CLEAN_AFTER_STEPS; i++) slot.afterStep(rt, out(RewardStatus.ok), ep);
}

describe('RewardSlot fallbacks', () => {
  it('a version that ran clean and then died is never the one restored for another loss', () => {
    const events: RewardSlotEvent[] = [];
    const good = evaluator('good');
    const slot = new RewardSlot(good, 20, (e) => events.push(e));
    cleanRun(slot, good);
    // A late-failing program: clean for 100+ steps, then out of memory.
    const late = evaluator('late');
    slot.offer(late, 'now');
    expect(slot.beforeStep(false, ep)).toBe(true);
    cleanRun(slot, late);
    slot.afterStep(late, out(RewardStatus.memory), ep);
    expect(events.at(-1)).toMatchObject({ type: 'rolled-back', from: 'late', to: 'good', cause: 'out_of_memory' });
    expect(slot.active).toBe(good);
    // Now the good version loses its host, with nothing warm behind it.
    slot.afterStep(good, out(RewardStatus.crashed), ep);
    const lost = events.at(-1)!;
    expect(lost.type).toBe('lost');
    expect(lost.type === 'lost' && lost.restore.version).toBe('good');
  });

  it('restores the most recent other clean version, or the lost one itself when there is none', () => {
    const events: RewardSlotEvent[] = [];
    const a = evaluator('a');
    const slot = new RewardSlot(a, 20, (e) => events.push(e));
    slot.afterStep(a, out(RewardStatus.crashed), ep);
    expect(events.at(-1)).toMatchObject({ type: 'lost', restore: { version: 'a' } });
    const b = evaluator('b');
    slot.offer(b, 'now', true);
    slot.beforeStep(false, ep);
    cleanRun(slot, b);
    const c = evaluator('c');
    swapIn(slot, c);
    slot.afterStep(c, out(RewardStatus.timeout), ep); // rolled back to b
    expect(slot.active).toBe(b);
    expect(c.disposed).toBe(true);
    slot.afterStep(b, out(RewardStatus.crashed), ep);
    expect(events.at(-1)).toMatchObject({ type: 'lost', version: 'b', restore: { version: 'b' } });
  });

  it('a version that fails --rollback-after steps in a row after a rollback goes back to the last other clean version', () => {
    const events: RewardSlotEvent[] = [];
    const first = evaluator('first');
    const slot = new RewardSlot(first, 20, (e) => events.push(e));
    cleanRun(slot, first);
    const counter = evaluator('counter');
    swapIn(slot, counter);
    cleanRun(slot, counter);
    const bomb = evaluator('bomb');
    swapIn(slot, bomb);
    slot.afterStep(bomb, out(RewardStatus.memory), ep);
    expect(events.at(-1)).toMatchObject({ type: 'rolled-back', from: 'bomb', to: 'counter' });
    // Now counter throws on every step (its own state ran out), with nothing warm behind it.
    const threw = (): RewardOutputLike => ({ ...out(RewardStatus.threw), reason: 'E_REWARD_THREW: count too high' }) as RewardOutputLike;
    for (let i = 0; i < 19; i++) slot.afterStep(counter, threw(), ep);
    expect(events.at(-1)!.type).toBe('rolled-back');
    slot.afterStep(counter, threw(), ep);
    // Before: nothing happened (the slot kept one previous version and had used it), forever.
    expect(events.at(-1)).toMatchObject({ type: 'lost', version: 'counter', cause: 'failures', consecutiveFailures: 20, restore: { version: 'first' } });
    // The restore comes back and replaces it.
    const restored = evaluator('first');
    slot.offer(restored, 'now', true);
    expect(slot.beforeStep(false, ep)).toBe(true);
    expect(slot.active).toBe(restored);
    expect(counter.disposed).toBe(true);
  });

  it('with no other clean version, a failing version stays active (restoring it would fail the same way)', () => {
    const events: RewardSlotEvent[] = [];
    const only = evaluator('only');
    const slot = new RewardSlot(only, 20, (e) => events.push(e));
    cleanRun(slot, only);
    for (let i = 0; i < 60; i++) slot.afterStep(only, out(RewardStatus.threw), ep);
    expect(events).toEqual([]);
    expect(slot.active).toBe(only);
  });

  it('a restore never displaces a pushed version waiting for its episode boundary: that one takes over at once', () => {
    const events: RewardSlotEvent[] = [];
    const a = evaluator('a');
    const slot = new RewardSlot(a, 20, (e) => events.push(e));
    const pushed = evaluator('pushed');
    slot.offer(pushed, 'next-episode');
    expect(slot.beforeStep(false, ep)).toBe(false); // waits for its boundary
    slot.afterStep(a, out(RewardStatus.crashed), ep);
    expect(events.at(-1)).toMatchObject({ type: 'lost', version: 'a' });
    const restore = evaluator('a');
    slot.offer(restore, 'now', true);
    // Before: the pending push was disposed, though its sender had been told it was accepted.
    expect(restore.disposed).toBe(true);
    expect(pushed.disposed).toBe(false);
    expect(slot.beforeStep(false, ep)).toBe(true);
    expect(slot.active).toBe(pushed);
    expect(a.disposed).toBe(true); // the lost version is not kept as a fallback
  });
});
