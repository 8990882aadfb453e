import { Worker } from 'node:worker_threads';
import { RewardStatus } from '../../core/records.js';
import { CTL } from '../harness.js';
import { setSandboxWatcher } from '../sandbox-watch.js';
import { FrameKind, MAX_REASON_BYTES } from './wire.js';

/**
 * The reward host's last line of defence, on a thread of its own: the limits
 * V8 and isolated-vm cannot hold are held here by killing the whole host
 * process, which the daemon survives by design (docs/sandbox.md).
 *
 * - Memory: isolated-vm's memoryLimit is soft, and an allocation inside one
 *   built-in (`new Array(2e8).fill(1.5)`, a Map growing its table) cannot be
 *   interrupted: V8 spends seconds in last-resort GCs and then aborts the
 *   process. The guard reads the process's resident set (/proc/self/statm,
 *   one pread) every `busyPollMs` while a step runs and kills the host when
 *   it passes `rssCapBytes`.
 * - Time: the sandbox watchdog disposes an isolate whose step runs past its
 *   budget; a termination cannot land inside some built-ins. A step still
 *   running `killedGraceMs` after its disposal, or any step running
 *   `stuckMs` of wall time, kills the host.
 * - Orphans: a host whose parent (the daemon or the CLI) died exits.
 *
 * Before it kills, the guard writes one line `REWARDD_HOST_DEATH {"status":..,"detail":..}`
 * to stderr (the supervisor reads it) and, in live mode, a DEATH frame on the reply FIFO
 * (the control thread reads it with the step's reply). Linux only (/proc).
 */
export interface GuardOptions {
  rssCapBytes: number;
  /** A step running this long (wall time) kills the host. */
  stuckMs: number;
  /** A step still running this long after the watchdog disposed its sandbox kills the host. */
  killedGraceMs: number;
  /** Poll period while some step runs. */
  busyPollMs: number;
}

export const DEATH_MARK = 'REWARDD_HOST_DEATH ';

const GUARD_SOURCE = `
const { parentPort, receiveMessageOnPort, workerData: w } = require('node:worker_threads');
const fs = require('node:fs');
const C = ${JSON.stringify(CTL)};
const sleeper = new Int32Array(w.sleeper);
const entries = new Map();
const status = fs.openSync('/proc/self/status', 'r');
const buf = Buffer.alloc(4096);
let deathFd = -1;
const nowMs = () => Number(process.hrtime.bigint() / 1000000n);
// VmRSS in kB, not statm's pages: arm64 kernels run with 4, 16 or 64 KiB pages.
function rss() {
  const n = fs.readSync(status, buf, 0, 4096, 0);
  const s = buf.toString('latin1', 0, n);
  const i = s.indexOf('VmRSS:');
  return i < 0 ? 0 : parseInt(s.slice(i + 6), 10) * 1024;
}
function die(status, detail) {
  try { fs.writeSync(2, '\\n${DEATH_MARK}' + JSON.stringify({ status, detail }) + '\\n'); } catch (e) {}
  if (deathFd >= 0) {
    const text = Buffer.from(detail, 'utf8').subarray(0, ${MAX_REASON_BYTES});
    const f = Buffer.alloc(6 + text.length);
    f.writeUInt32LE(2 + text.length, 0); f.writeUInt8(${FrameKind.DEATH}, 4); f.writeUInt8(status, 5); text.copy(f, 6);
    try { fs.writeSync(deathFd, f); } catch (e) {}
  }
  process.kill(process.pid, 'SIGKILL');
}
for (;;) {
  for (let m = receiveMessageOnPort(parentPort); m !== undefined; m = receiveMessageOnPort(parentPort)) {
    const msg = m.message;
    if (msg.add !== undefined) entries.set(msg.add, { ctl: new Int32Array(msg.ctl), seq: -1, t0: 0, killedAt: 0 });
    else if (msg.remove !== undefined) entries.delete(msg.remove);
    else if (msg.deathFd !== undefined) deathFd = msg.deathFd;
  }
  let busy = false;
  for (const e of entries.values()) if (Atomics.load(e.ctl, C.BUSY) === 1) busy = true;
  Atomics.wait(sleeper, 0, 0, busy ? w.busyPollMs : w.idlePollMs);
  if (Atomics.load(sleeper, 0) !== 0) break;
  if (process.ppid !== w.ppid) process.kill(process.pid, 'SIGKILL');
  const r = rss();
  if (r > w.rssCapBytes) die(${RewardStatus.memory}, 'the reward host grew to ' + (r / 1048576).toFixed(0) + ' MB resident, over its ' + (w.rssCapBytes / 1048576).toFixed(0) + ' MB cap');
  const t = nowMs();
  for (const e of entries.values()) {
    const c = e.ctl;
    if (Atomics.load(c, C.BUSY) !== 1) { e.seq = -1; e.killedAt = 0; continue; }
    const seq = Atomics.load(c, C.SEQ);
    if (seq !== e.seq) { e.seq = seq; e.t0 = t; e.killedAt = 0; continue; }
    if (t - e.t0 > w.stuckMs) die(${RewardStatus.timeout}, 'a step ran ' + (t - e.t0) + ' ms of wall time without returning (the host is killed past ' + w.stuckMs + ' ms)');
    if (Atomics.load(c, C.KILLED) === 1) {
      if (e.killedAt === 0) e.killedAt = t;
      else if (t - e.killedAt > w.killedGraceMs) die(${RewardStatus.timeout}, 'a step ran past its budget and did not stop ' + w.killedGraceMs + ' ms after its sandbox was disposed (an uninterruptible built-in, or a machine too busy to let the termination land sooner)');
    }
  }
}
`;

let guard: { worker: Worker; sleeper: Int32Array } | null = null;
let nextId = 1;

/** Starts the guard for this process (a reward host) and watches every sandbox built from now on. */
export function startGuard(o: GuardOptions): void {
  if (guard || process.platform !== 'linux') return;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(GUARD_SOURCE, {
    eval: true,
    workerData: { ...o, sleeper: sleeper.buffer, idlePollMs: 200, ppid: process.ppid },
  });
  worker.unref();
  guard = { worker, sleeper };
  setSandboxWatcher((ctl) => {
    const id = nextId++;
    worker.postMessage({ add: id, ctl: ctl.buffer });
    Atomics.notify(sleeper, 0);
    return () => worker.postMessage({ remove: id });
  });
}

/** In live mode the guard also writes its DEATH frame on the reply FIFO. */
export function setGuardDeathFd(fd: number): void {
  guard?.worker.postMessage({ deathFd: fd });
  if (guard) Atomics.notify(guard.sleeper, 0);
}
