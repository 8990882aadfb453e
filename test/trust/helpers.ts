import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/core/clock.js';
import { generateKeyPair, publicKeyLine, type KeyPair } from '../../src/trust/keys.js';

export const tmp = (tag: string): string => mkdtempSync(join(tmpdir(), `rewardd-trust-${tag}-`));

/** A clock whose wall time and monotonic time move separately, as NTP makes them do. */
export class SplitClock implements Clock {
  ns = 0n;
  wall = 1_800_000_000_000;
  nowNs(): bigint {
    return this.ns;
  }
  wallMs(): number {
    return this.wall;
  }
  /** Both clocks move together by ms. */
  advance(ms: number): void {
    this.ns += BigInt(ms) * 1_000_000n;
    this.wall += ms;
  }
}

export interface Operator extends KeyPair {
  name: string;
  line: string;
}

export function operator(name: string): Operator {
  const kp = generateKeyPair();
  return { ...kp, name, line: publicKeyLine(kp.publicKeyRaw, name) };
}

export function writeAllowed(path: string, ops: Operator[], extra = ''): void {
  writeFileSync(path, `# robot rover's operators\n${ops.map((o) => o.line).join('\n')}\n${extra}`);
}
