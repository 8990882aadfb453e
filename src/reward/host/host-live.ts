import { openSync, writeSync } from 'node:fs';
import { newRewardOutput } from '../output.js';
import type { RewardRuntime } from '../runtime.js';
import { CTL } from '../harness.js';
import { watchSandbox } from '../sandbox-watch.js';
import { RewardStatus } from '../../core/records.js';
import { DEATH_MARK, setGuardDeathFd } from './guard.js';
import { StepReader } from './step-reader.js';
import { FrameKind, FrameReader, encodeDeath, encodeHello, encodeResult, resultFrameBytes, type StepLayout } from './wire.js';

/**
 * A live host's whole life: reads of step requests from the control thread's
 * FIFO (StepReader: paced by the steps' send times while they come at a
 * steady rate, so the tick thread's write wakes nobody; blocking otherwise), one evaluation each, one
 * reply each, in order, until the control thread closes its end (EOF), which
 * it does when the version is retired or the daemon stops (or dies: the
 * kernel closes its ends then). Nothing else runs on this thread, so
 * waiting here is what it should do.
 *
 * A step that kills the sandbox (past its time budget, over its heap) ends
 * the host right after its reply: the runtime would answer every later step
 * `unavailable` until the next episode, and if that one reply reached the
 * control loop after it had given the step up as late, the version would
 * never be retired (seen in CI: 97,617 unavailable steps, no rollback). A
 * dead host is unmistakable: the next step meets the death and the slot
 * rolls back at once.
 */
export function serveLive(rt: RewardRuntime, requestFifo: string, replyFifo: string): void {
  const nObs = rt.observationCount;
  const layout: StepLayout = { nObs, nAct: rt.actionCount, withRaw: rt.info.rawNames.length > 0, nTerms: rt.info.termNames.length };
  // Opening order matters: the control thread opens the request FIFO first (read-write, so it never
  // blocks), then the reply FIFO for reading; each open here waits for that.
  const req = new StepReader(requestFifo);
  const rep = openSync(replyFifo, 'w');
  setGuardDeathFd(rep);
  writeSync(rep, encodeHello(process.pid));
  const reader = new FrameReader(layout);
  const chunk = Buffer.alloc(64 * 1024);
  const reply = Buffer.alloc(resultFrameBytes(layout));
  const out = newRewardOutput(layout.nTerms);
  const nAct = layout.nAct;
  // The guard also watches each frame as a whole (BUSY/SEQ like a sandbox's): work the sandbox's
  // own words do not cover (an isolate entry outside a step) cannot hang the host unseen.
  const frame = new Int32Array(new SharedArrayBuffer(CTL.WORDS * 4));
  watchSandbox(frame);
  for (;;) {
    const n = req.read(chunk);
    if (n === 0) return;
    reader.push(chunk, n);
    for (let f = reader.next(); f !== null; f = reader.next()) {
      Atomics.add(frame, CTL.SEQ, 1);
      Atomics.store(frame, CTL.BUSY, 1);
      if (f.kind === FrameKind.STEP) {
        req.stepSent(f.sentAtMs);
        const v = f.values;
        const obs = v.subarray(1, 1 + nObs);
        const act = v.subarray(1 + nObs, 1 + nObs + nAct);
        const raw = layout.withRaw ? v.subarray(1 + nObs + nAct, 1 + nObs + nAct + nObs) : undefined;
        rt.evaluate(obs, act, v[0] as number, out, raw);
        writeSync(rep, reply, 0, encodeResult(reply, layout, f.id, out));
        if (!rt.sandboxAlive) endHost(rep, out.status, `its sandbox was disposed: ${out.reason}`);
      } else if (f.kind === FrameKind.BEGIN) {
        rt.beginEpisode({ index: f.index, id: f.episode });
        if (!rt.sandboxAlive) endHost(rep, RewardStatus.crashed, 'its sandbox could not start the episode');
      }
      Atomics.store(frame, CTL.BUSY, 0);
    }
  }
}

/** The guard's way out (guard.ts), from this thread: a note for the supervisor, a DEATH frame for the control thread, SIGKILL. */
function endHost(rep: number, status: number, detail: string): never {
  const s = status === RewardStatus.memory || status === RewardStatus.timeout ? status : RewardStatus.crashed;
  try {
    writeSync(2, `\n${DEATH_MARK}${JSON.stringify({ status: s, detail })}\n`);
    writeSync(rep, encodeDeath(s, detail));
  } catch {
    /* the daemon is gone or has closed its end: the kill below is all that matters */
  }
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL did not end the reward host');
}
