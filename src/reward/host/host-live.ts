import { openSync, readSync, writeSync } from 'node:fs';
import { newRewardOutput } from '../output.js';
import type { RewardRuntime } from '../runtime.js';
import { CTL } from '../harness.js';
import { watchSandbox } from '../sandbox-watch.js';
import { setGuardDeathFd } from './guard.js';
import { FrameKind, FrameReader, encodeHello, encodeResult, resultFrameBytes, type StepLayout } from './wire.js';

/**
 * A live host's whole life: blocking reads of step requests from the control
 * thread's FIFO, one evaluation each, one reply each, in order, until the
 * control thread closes its end (EOF), which it does when the version is
 * retired or the daemon stops (or dies: the kernel closes its ends then).
 * Nothing else runs on this thread, so blocking is what it should do.
 */
export function serveLive(rt: RewardRuntime, requestFifo: string, replyFifo: string): void {
  const nObs = rt.observationCount;
  const layout: StepLayout = { nObs, nAct: rt.actionCount, withRaw: rt.info.rawNames.length > 0, nTerms: rt.info.termNames.length };
  // Opening order matters: the control thread opens the request FIFO first (read-write, so it never
  // blocks), then the reply FIFO for reading; each open here waits for that.
  const req = openSync(requestFifo, 'r');
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
    const n = readSync(req, chunk, 0, chunk.length, null);
    if (n === 0) return;
    reader.push(chunk, n);
    for (let f = reader.next(); f !== null; f = reader.next()) {
      Atomics.add(frame, CTL.SEQ, 1);
      Atomics.store(frame, CTL.BUSY, 1);
      if (f.kind === FrameKind.STEP) {
        const v = f.values;
        const obs = v.subarray(1, 1 + nObs);
        const act = v.subarray(1 + nObs, 1 + nObs + nAct);
        const raw = layout.withRaw ? v.subarray(1 + nObs + nAct, 1 + nObs + nAct + nObs) : undefined;
        rt.evaluate(obs, act, v[0] as number, out, raw);
        writeSync(rep, reply, 0, encodeResult(reply, layout, f.id, out));
      } else if (f.kind === FrameKind.BEGIN) {
        rt.beginEpisode({ index: f.index, id: f.episode });
      }
      Atomics.store(frame, CTL.BUSY, 0);
    }
  }
}
