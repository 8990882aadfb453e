import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { CTL } from './harness.js';

/**
 * Thread CPU time of the thread that evaluates rewards, sampled from another
 * thread, so the watchdog can tell a runaway step (burning CPU) from an
 * innocent one that the OS descheduled on a loaded machine. isolated-vm's
 * `isolate.cpuTime` counts a running call in wall time, and on a 2-core box
 * at load 10 we measured innocent 1 µs steps "taking" 20+ ms of it.
 *
 * Linux only: one small worker per process reads
 * /proc/self/task/<tid>/schedstat (pread on an open fd, ~17 µs) for every
 * registered sandbox whose BUSY word is set, and publishes the CPU time in
 * microseconds with the step's SEQ under a seqlock (CPU_SEQ = -1, CPU_US,
 * CPU_SEQ = seq). Elsewhere (or if the worker cannot start) the watchdog falls
 * back to isolate.cpuTime. The worker is unref'd: it never keeps a process alive.
 */
const SAMPLER_SOURCE = `
const { parentPort, receiveMessageOnPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ctlWords = ${JSON.stringify(CTL)};
const sleeper = new Int32Array(workerData.sleeper);
const pollMs = workerData.pollMs;
const entries = new Map();
const buf = Buffer.alloc(64);
for (;;) {
  for (let m = receiveMessageOnPort(parentPort); m !== undefined; m = receiveMessageOnPort(parentPort)) {
    const msg = m.message;
    if (msg.add !== undefined) {
      try { entries.set(msg.add, { ctl: new Int32Array(msg.ctl), fd: fs.openSync(msg.path, 'r') }); } catch (e) { /* no procfs: watchdog falls back */ }
    } else if (msg.remove !== undefined) {
      const e = entries.get(msg.remove);
      if (e) { try { fs.closeSync(e.fd); } catch (e2) {} entries.delete(msg.remove); }
    }
  }
  // Nothing registered: sleep long; a registration wakes us (Atomics.notify on the same word).
  Atomics.wait(sleeper, 0, 0, entries.size === 0 ? 1000 : pollMs);
  if (Atomics.load(sleeper, 0) !== 0) break;
  for (const e of entries.values()) {
    const c = e.ctl;
    if (Atomics.load(c, ctlWords.BUSY) !== 1) continue;
    const seq = Atomics.load(c, ctlWords.SEQ);
    let n = 0;
    try { n = fs.readSync(e.fd, buf, 0, 64, 0); } catch (err) { continue; }
    if (Atomics.load(c, ctlWords.SEQ) !== seq || Atomics.load(c, ctlWords.BUSY) !== 1) continue;
    const s = buf.toString('latin1', 0, n);
    const ns = Number(s.slice(0, s.indexOf(' ')));
    if (!(ns >= 0)) continue;
    Atomics.store(c, ctlWords.CPU_SEQ, -1);
    Atomics.store(c, ctlWords.CPU_US, Math.floor(ns / 1000) | 0);
    Atomics.store(c, ctlWords.CPU_SEQ, seq);
  }
}
`;

let sampler: { worker: Worker; sleeper: Int32Array } | null | undefined;
let nextId = 1;

function threadStatPath(): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop();
    return tid ? `/proc/self/task/${tid}/schedstat` : null;
  } catch {
    return null;
  }
}

function startSampler(pollMs: number): typeof sampler {
  try {
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(SAMPLER_SOURCE, { eval: true, workerData: { sleeper: sleeper.buffer, pollMs } });
    worker.unref();
    worker.on('error', () => {
      sampler = null;
    });
    return { worker, sleeper };
  } catch {
    return null;
  }
}

/**
 * Starts sampling the calling thread's CPU time into `ctl` while it is BUSY.
 * Returns an unregister function, or null when thread CPU time is unavailable.
 */
export function registerCpuClock(ctl: Int32Array, pollMs: number): (() => void) | null {
  const path = threadStatPath();
  if (path === null) return null;
  if (sampler === undefined) sampler = startSampler(Math.min(1, pollMs));
  if (!sampler) return null;
  const s = sampler;
  const id = nextId++;
  Atomics.store(ctl, CTL.CPU_SEQ, -1);
  s.worker.postMessage({ add: id, ctl: ctl.buffer, path });
  Atomics.notify(s.sleeper, 0);
  return () => s.worker.postMessage({ remove: id });
}
