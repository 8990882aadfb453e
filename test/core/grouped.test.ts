import { describe, expect, it } from 'vitest';
import { grouped } from '../../src/core/grouped.js';

describe('grouped: thousands separators without ICU', () => {
  it('writes what toLocaleString("en-US") writes for rounded integers', () => {
    const values = [0, 1, 12, 999, 1000, 1001, 99_999, 100_000, 2_097_152, 2_333_239.4, 2_333_239.6, 1e15 + 7, -1, -1234, -1_000_000, 0.4];
    for (let x = 1; x < 1e15; x = x * 7 + 3) values.push(x);
    for (const v of values) expect(grouped(v), String(v)).toBe(Math.round(v).toLocaleString('en-US'));
  });

  it('leaves what is not a finite number as String() writes it', () => {
    expect([grouped(NaN), grouped(Infinity), grouped(-Infinity)]).toEqual(['NaN', 'Infinity', '-Infinity']);
  });
});
