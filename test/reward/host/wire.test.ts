import { describe, expect, it } from 'vitest';
import { RewardStatus } from '../../../src/core/records.js';
import { FrameKind, FrameReader, MAX_REASON_BYTES, encodeBegin, encodeDeath, encodeHello, encodeResult, encodeStep, resultFrameBytes, stepFrameBytes, type StepLayout } from '../../../src/reward/host/wire.js';

/** The FIFO frames between the control thread and a live reward host, byte for byte. */
const layout: StepLayout = { nObs: 3, nAct: 2, withRaw: true, nTerms: 2 };

describe('reward host wire frames', () => {
  it('round-trips a step, a begin, a hello, a result and a death', () => {
    const stepBuf = Buffer.alloc(stepFrameBytes(layout));
    const n = encodeStep(stepBuf, layout, 7, 123456.789, 0.01, [1, 2, 3], [-1, 0.5], [10, 20, 30]);
    const resBuf = Buffer.alloc(resultFrameBytes(layout));
    const m = encodeResult(resBuf, layout, 7, { status: RewardStatus.ok, total: 1.5, terms: Float64Array.from([0.25, -0]), success: true, done: false, reason: '' });
    const r = new FrameReader(layout);
    r.push(Buffer.concat([stepBuf.subarray(0, n), encodeBegin(0, 3, 'ep-3'), encodeHello(4242), resBuf.subarray(0, m), encodeDeath(RewardStatus.memory, 'RSS over cap')]));
    const step = r.next();
    expect(step).toMatchObject({ kind: FrameKind.STEP, id: 7, sentAtMs: 123456.789 });
    expect(Array.from((step as { values: Float64Array }).values)).toEqual([0.01, 1, 2, 3, -1, 0.5, 10, 20, 30]);
    expect(r.next()).toEqual({ kind: FrameKind.BEGIN, id: 0, index: 3, episode: 'ep-3' });
    expect(r.next()).toEqual({ kind: FrameKind.HELLO, pid: 4242 });
    const res = r.next() as { kind: number; id: number; status: number; flags: number; total: number; terms: Float64Array; reason: string };
    expect(res).toMatchObject({ kind: FrameKind.RESULT, id: 7, status: 0, flags: 1, total: 1.5, reason: '' });
    expect(Object.is(res.terms[1], -0)).toBe(true); // bit for bit, signed zero included
    expect(r.next()).toEqual({ kind: FrameKind.DEATH, status: RewardStatus.memory, detail: 'RSS over cap' });
    expect(r.next()).toBeNull();
  });

  it('reassembles frames split at every byte boundary', () => {
    const buf = Buffer.alloc(resultFrameBytes(layout));
    const n = encodeResult(buf, layout, 9, { status: RewardStatus.threw, total: NaN, terms: Float64Array.from([NaN, NaN]), success: false, done: false, reason: 'E_REWARD_THREW: é' });
    const whole = Buffer.concat([buf.subarray(0, n), encodeHello(1)]);
    for (let cut = 1; cut < whole.length; cut++) {
      const r = new FrameReader(layout);
      r.push(whole.subarray(0, cut));
      const early = r.next();
      r.push(whole.subarray(cut));
      const frames = [early, r.next(), r.next()].filter((f) => f !== null);
      expect(frames.map((f) => f!.kind)).toEqual([FrameKind.RESULT, FrameKind.HELLO]);
      expect((frames[0] as { reason: string }).reason).toBe('E_REWARD_THREW: é');
    }
  });

  it('cuts a long reason at a character boundary and stays under PIPE_BUF for the rover', () => {
    const rover: StepLayout = { nObs: 12, nAct: 2, withRaw: true, nTerms: 4 };
    expect(stepFrameBytes(rover)).toBeLessThan(4096);
    expect(resultFrameBytes(rover)).toBeLessThan(4096);
    const buf = Buffer.alloc(resultFrameBytes(rover));
    const n = encodeResult(buf, rover, 1, { status: RewardStatus.threw, total: NaN, terms: new Float64Array(4), success: false, done: false, reason: 'é'.repeat(4000) });
    const r = new FrameReader(rover);
    r.push(buf.subarray(0, n));
    const reason = (r.next() as { reason: string }).reason;
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(reason).toBe('é'.repeat(reason.length));
  });

  it('refuses a stream that is not this protocol', () => {
    const r = new FrameReader(layout);
    r.push(Buffer.from([0xff, 0xff, 0xff, 0x7f, 1]));
    expect(() => r.next()).toThrow(/expected a frame of 1\.\.\d+ bytes/);
    const k = new FrameReader(layout);
    k.push(Buffer.from([1, 0, 0, 0, 99]));
    expect(() => k.next()).toThrow(/expected a frame kind 1-5, found 99/);
  });
});
