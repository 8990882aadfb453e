import { openSync, writeSync } from 'node:fs';
import { StepReader } from '../../../src/reward/host/step-reader.js';

// A stand-in for a live reward host: reads "steps" (8 bytes each: the f64 time each was sent, as a
// STEP frame carries it) with StepReader and says how many it has (in a file: a pipe to the test
// could fill while the test spins).
const log = openSync(process.argv[3]!, 'w');
const reader = new StepReader(process.argv[2]!);
const buf = Buffer.alloc(4096);
let pending = Buffer.alloc(0);
let steps = 0;
for (;;) {
  const n = reader.read(buf);
  if (n === 0) break;
  pending = Buffer.concat([pending, buf.subarray(0, n)]);
  for (; pending.length >= 8; pending = pending.subarray(8), steps++) reader.stepSent(pending.readDoubleLE(0));
  writeSync(log, `${steps}\n`);
}
reader.close();
writeSync(log, 'eof\n');
