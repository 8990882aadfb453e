import { describe, expect, it } from 'vitest';
import { batchSteps, decodeStepBatch, encodeStepBatch } from '../../src/episode/batch-codec.js';
import { peekStepBatch } from '../../src/recorder/batch-peek.js';
import { StepBatcher, type EncodedBatch, type StepInput } from '../../src/episode/step-batcher.js';
import { RewardStatus, StepFlag } from '../../src/core/records.js';
import { BYTES, COLUMNS, rowWidth } from '../../src/episode/batch.js';

const obsNames = ['a', 'b', 'c'];
const actNames = ['l', 'r'];

function step(i: number, version: string, terms: string[]): StepInput {
  return {
    tNs: 1_000_000_000n + BigInt(i) * 10_000_000n,
    wallMs: 1_700_000_000_000 + i * 10,
    obsTNs: 999_000_000n + BigInt(i) * 10_000_000n,
    obs: Float32Array.from([i, i + 0.5, -i]),
    obsRaw: Float32Array.from([2 * i, i === 3 ? NaN : i - 0.25, 100 + i]),
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
    expect(rows[2]!.obsRaw).toEqual(Float32Array.from([4, 1.75, 102]));
    expect(Number.isNaN(rows[3]!.obsRaw![1])).toBe(true);
    expect(b.obsRaw).toHaveLength(6 * 3);
    expect(Number.isNaN(rows[3]!.actionCommanded[1])).toBe(true);
    expect(rows[3]!.rewardTerms).toEqual({ x: 3, y: 3 + 1 / 7 });
    expect(rows[4]!.rewardStatus).toBe(RewardStatus.timeout);
    expect(Number.isNaN(rows[4]!.rewardTotal)).toBe(true);
    expect(rows[4]!.rewardReason).toMatch(/E_REWARD_TIMEOUT/);
    expect(rows[5]!.tNs).toBe(1_050_000_000n);
    expect(rows[0]!.flags & StepFlag.first).toBe(StepFlag.first);
  });

  it('writes every byte itself: padding is zero, and a batch encodes to the same bytes on dirty memory', () => {
    const out: EncodedBatch[] = [];
    // One step of 3 observations: the u8/u16 columns and the header end off 8-byte boundaries.
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 8 }, (b) => out.push(b));
    batcher.beginEpisode('ep1');
    batcher.push(step(1, 'v1', ['x']));
    batcher.flush();
    const first = out[0]!.bytes;
    const decoded = decodeStepBatch(first);
    // Fill freed memory with a pattern so that an unwritten byte would show as 0xa5.
    for (let i = 0; i < 64; i++) Buffer.allocUnsafeSlow(first.length).fill(0xa5);
    const again = encodeStepBatch(decoded);
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    const h = new DataView(first.buffer, first.byteOffset).getUint32(4, true);
    const headerEnd = 8 + h;
    expect([...first.subarray(headerEnd, (headerEnd + 7) & ~7)].every((x) => x === 0)).toBe(true);
    // Walk the column layout: every gap between a column's end and the next 8-byte boundary is zero.
    const shape = { obs: obsNames.length, actions: actNames.length, terms: 1 };
    let at = (headerEnd + 7) & ~7;
    let gaps = 0;
    for (const [, type, width] of COLUMNS) {
      const end = at + rowWidth(width, shape) * BYTES[type];
      at = (end + 7) & ~7;
      gaps += at - end;
      expect([...first.subarray(end, at)].every((x) => x === 0)).toBe(true);
    }
    expect(at).toBe(first.length);
    expect(gaps).toBeGreaterThan(0); // the case above does exercise padding
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

  it('a step pushed without raw values logs NaN for them (never a made-up value)', () => {
    const out: EncodedBatch[] = [];
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 4 }, (b) => out.push(b));
    batcher.beginEpisode('ep5');
    batcher.push(step(1, 'v1', ['x']));
    const { obsRaw: _drop, ...noRaw } = step(2, 'v1', ['x']);
    batcher.push(noRaw);
    batcher.flush();
    const rows = [...batchSteps(decodeStepBatch(out[0]!.bytes))];
    expect(rows[0]!.obsRaw).toEqual(Float32Array.from([2, 0.75, 101]));
    expect([...rows[1]!.obsRaw!].every(Number.isNaN)).toBe(true);
  });

  it('writes rewardd.steps/2 and still decodes a rewardd.steps/1 batch (built byte by byte) without obsRaw', () => {
    const out: EncodedBatch[] = [];
    const batcher = new StepBatcher({ robot: 'rover', observationNames: obsNames, actionNames: actNames, capacity: 4 }, (b) => out.push(b));
    batcher.beginEpisode('ep6');
    batcher.push(step(0, 'v1', ['x']));
    batcher.flush();
    expect(headerOf(out[0]!.bytes).schema).toBe('rewardd.steps/2');

    const v1 = v1Batch();
    const b = decodeStepBatch(v1);
    expect(b.obsRaw).toBeUndefined();
    const rows = [...batchSteps(b)];
    expect(rows.map((r) => [r.seq, r.tNs, r.obsTNs, r.wallMs, r.safety, r.flags, r.rewardStatus, r.rewardTotal])).toEqual([
      [7, 100n, 90n, 1.5, 3, 1, 0, 0.5],
      [8, 200n, 190n, 2.5, 0, 2, 0, 1.5],
    ]);
    expect(rows[1]!.obs).toEqual(Float32Array.from([4, 5, 6]));
    expect(rows[1]!.actionCommanded).toEqual(Float32Array.from([0.5, -0.5]));
    expect(rows[1]!.actionApplied).toEqual(Float32Array.from([0.25, -0.25]));
    expect(rows[1]!.rewardTerms).toEqual({ x: 1.5 });
    expect('obsRaw' in rows[0]!).toBe(false);
    // Re-encoding a /1 batch keeps it /1: no raw values are invented.
    expect(encodeStepBatch(b)).toEqual(v1);
    // The recorder's ingest check accepts both schemas too (an old robot's outbox may replay /1).
    expect(peekStepBatch(v1)).toEqual({ episode: 'old', robot: 'rover', seq0: 7, count: 2 });
    expect(peekStepBatch(out[0]!.bytes)).toMatchObject({ episode: 'ep6', seq0: 0, count: 1 });
    expect(() => peekStepBatch(v1Batch('rewardd.steps/3'))).toThrow(/E_BATCH: expected schema/);
    expect(() => decodeStepBatch(v1Batch('rewardd.steps/3'))).toThrow(/E_BATCH: expected schema rewardd.steps\/2 \(or rewardd.steps\/1\), found rewardd.steps\/3/);
  });
});

function headerOf(bytes: Uint8Array): { schema: string } {
  const h = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + h))) as { schema: string };
}

/** Two steps in the rewardd.steps/1 layout of docs/records.md, written field by field (3 obs, 2 actions, 1 term). */
function v1Batch(schema = 'rewardd.steps/1'): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ schema, episode: 'old', robot: 'rover', seq0: 7, count: 2, rewardVersion: 'v0', termNames: ['x'], observationNames: obsNames, actionNames: actNames, rewardReasons: [] }),
  );
  const parts: number[] = [];
  const bytes = (a: ArrayBufferView): void => {
    parts.push(...new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    while (parts.length % 8 !== 0) parts.push(0);
  };
  const head = new Uint8Array(8);
  head.set([0x52, 0x57, 0x53, 0x31]);
  new DataView(head.buffer).setUint32(4, header.length, true);
  parts.push(...head, ...header);
  while (parts.length % 8 !== 0) parts.push(0);
  bytes(BigInt64Array.from([100n, 200n])); // tNs
  bytes(BigInt64Array.from([90n, 190n])); // obsTNs
  bytes(Float64Array.from([1.5, 2.5])); // wallMs
  bytes(Float64Array.from([0.5, 1.5])); // rewardTotal
  bytes(Float64Array.from([0.5, 1.5])); // rewardTerms
  bytes(Float32Array.from([1, 2, 3, 4, 5, 6])); // obs
  bytes(Float32Array.from([0.5, -0.5, 0.5, -0.5])); // actionCommanded
  bytes(Float32Array.from([0.25, -0.25, 0.25, -0.25])); // actionApplied
  bytes(Uint16Array.from([3, 0])); // safety
  bytes(Uint8Array.from([1, 2])); // flags
  bytes(Uint8Array.from([0, 0])); // rewardStatus
  return Uint8Array.from(parts);
}
