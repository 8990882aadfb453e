import { describe, expect, it } from 'vitest';
import { batchSteps, decodeStepBatch, encodeStepBatch } from '../../src/episode/batch-codec.js';
import { StepBatcher, type EncodedBatch, type StepInput } from '../../src/episode/step-batcher.js';
import { RewardStatus, StepFlag } from '../../src/core/records.js';

const obsNames = ['a', 'b', 'c'];
const actNames = ['l', 'r'];

function step(i: number, version: string, terms: string[]): StepInput {
  return {
    tNs: 1_000_000_000n + BigInt(i) * 10_000_000n,
    wallMs: 1_700_000_000_000 + i * 10,
    obsTNs: 999_000_000n + BigInt(i) * 10_000_000n,
    obs: Float32Array.from([i, i + 0.5, -i]),
    actionCommanded: Float32Array.from([0.1 * i, NaN]),
    actionApplied: Float32Array.from([0.1 * i, 0]),
    safety: i % 3,
    flags: i === 0 ? StepFlag.first : 0,
    rewardVersion: version,
    termNames: terms,
    rewardStatus: i === 4 ? RewardStatus.timeout : RewardStatus.ok,
    rewardTotal: i === 4 ? NaN : i * 1.25,
    rewardTerms: Float64Array.from(terms.map((_, k) => (i === 4 ? NaN : i + k / 7))),
    rewardReason: i === 4 ? 'E_REWARD_TIMEOUT: over budget' : '',
  };
}

describe('step batch codec', () => {
  it('round-trips every column bit for bit, including NaN and reasons', () => {
    const out: EncodedBatch[] = [];
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 8 }, (b) => out.push(b));
    batcher.beginEpisode('ep1');
    for (let i = 0; i < 6; i++) batcher.push(step(i, 'v1', ['x', 'y']));
    batcher.flush();
    expect(out).toHaveLength(1);
    // Decode from an unaligned view, as an MQTT packet would give it.
    const shifted = new Uint8Array(out[0]!.bytes.length + 3);
    shifted.set(out[0]!.bytes, 3);
    const b = decodeStepBatch(shifted.subarray(3));
    expect(b.count).toBe(6);
    expect(b.seq0).toBe(0);
    const rows = [...batchSteps(b)];
    expect(rows.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows[2]!.obs).toEqual(Float32Array.from([2, 2.5, -2]));
    expect(Number.isNaN(rows[3]!.actionCommanded[1])).toBe(true);
    expect(rows[3]!.rewardTerms).toEqual({ x: 3, y: 3 + 1 / 7 });
    expect(rows[4]!.rewardStatus).toBe(RewardStatus.timeout);
    expect(Number.isNaN(rows[4]!.rewardTotal)).toBe(true);
    expect(rows[4]!.rewardReason).toMatch(/E_REWARD_TIMEOUT/);
    expect(rows[5]!.tNs).toBe(1_050_000_000n);
    expect(rows[0]!.flags & StepFlag.first).toBe(StepFlag.first);
  });

  it('splits batches at capacity and at a reward version change, keeping sequence numbers contiguous', () => {
    const out: EncodedBatch[] = [];
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 4 }, (b) => out.push(b));
    batcher.beginEpisode('ep2');
    for (let i = 0; i < 6; i++) batcher.push(step(i, 'v1', ['x']));
    for (let i = 6; i < 9; i++) batcher.push(step(i, 'v2', ['x', 'y', 'z']));
    batcher.flush();
    const decoded = out.map((o) => decodeStepBatch(o.bytes));
    expect(decoded.map((d) => [d.seq0, d.count, d.rewardVersion])).toEqual([
      [0, 4, 'v1'],
      [4, 2, 'v1'],
      [6, 3, 'v2'],
    ]);
    expect([...batchSteps(decoded[2]!)][0]!.rewardTerms).toEqual({ x: 6, y: 6 + 1 / 7, z: 6 + 2 / 7 });
  });

  it('rejects truncated and foreign bytes with a coded error', () => {
    const out: EncodedBatch[] = [];
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 4 }, (b) => out.push(b));
    batcher.beginEpisode('ep3');
    batcher.push(step(0, 'v1', ['x']));
    batcher.flush();
    const bytes = out[0]!.bytes;
    expect(() => decodeStepBatch(bytes.subarray(0, bytes.length - 8))).toThrow(/E_BATCH: column .* expected/);
    expect(() => decodeStepBatch(new TextEncoder().encode('{"json":true}'))).toThrow(/E_BATCH: expected magic/);
    const encodedAgain = encodeStepBatch(decodeStepBatch(bytes));
    expect(encodedAgain).toEqual(bytes);
  });

  it('decodes from a Buffer that is a slice of a larger pool, as mqtt.js delivers payloads', () => {
    const out: EncodedBatch[] = [];
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 8 }, (b) => out.push(b));
    batcher.beginEpisode('ep4');
    for (let i = 0; i < 5; i++) batcher.push(step(i, 'v1', ['x']));
    batcher.flush();
    const pool = Buffer.alloc(out[0]!.bytes.length + 100, 0xff);
    pool.set(out[0]!.bytes, 37);
    const rows = [...batchSteps(decodeStepBatch(pool.subarray(37, 37 + out[0]!.bytes.length)))];
    expect(rows.map((r) => r.flags)).toEqual([StepFlag.first, 0, 0, 0, 0]);
    expect(rows.map((r) => r.obs[0])).toEqual([0, 1, 2, 3, 4]);
  });
});
