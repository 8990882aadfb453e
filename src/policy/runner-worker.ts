/**
 * The policy's own thread. Every period it takes the newest observation the
 * control tick left in the observation mailbox, runs the model, and leaves
 * the action in the action mailbox stamped with that observation's time
 * (aux = inference µs). It never waits on the tick and the tick never waits
 * on it: a slow model shows up as an old stamp, which the safety filter turns
 * into a deceleration and then a stop.
 *
 * Control words (Int32Array over ctlSab) instead of messages, so the loop
 * needs no event-loop turn to see stop or episode reset.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Mailbox } from '../core/mailbox.js';
import { RewarddError } from '../core/errors.js';
import type { RobotDescription } from '../core/robot.js';
import { openPolicy, type PolicyBackend } from './session.js';
import { Ctl } from './runner-protocol.js';

interface RunnerWorkerData {
  dir: string;
  robot: RobotDescription;
  backend: PolicyBackend;
  rateHz: number | null;
  obsSab: SharedArrayBuffer;
  actSab: SharedArrayBuffer;
  ctlSab: SharedArrayBuffer;
}

const wd = workerData as RunnerWorkerData;
const port = parentPort!;
const ctl = new Int32Array(wd.ctlSab);

async function main(): Promise<void> {
  const session = await openPolicy({ dir: wd.dir, robot: wd.robot, backend: wd.backend });
  const obsMb = new Mailbox(wd.obsSab, wd.robot.observations.length);
  const actMb = new Mailbox(wd.actSab, wd.robot.actions.length);
  const rateHz = wd.rateHz ?? session.policy.manifest.rate_hz;
  // Warm-up: the first inferences of a fresh runtime are 10-100x slower (kernel compilation, allocation).
  const zeroObs = new Float64Array(wd.robot.observations.length);
  const scratch = new Float64Array(wd.robot.actions.length);
  for (let i = 0; i < 20; i++) await session.step(zeroObs, scratch);
  session.resetEpisode();
  const periodNs = BigInt(Math.round(1e9 / rateHz));
  port.postMessage({ type: 'ready', backend: session.backend, rateHz });

  const obs = new Float64Array(obsMb.size);
  const act = new Float64Array(actMb.size);
  let seenObs = 0;
  let seenReset = Atomics.load(ctl, Ctl.resetGen);
  let next = process.hrtime.bigint();
  let errorsReported = 0;
  while (Atomics.load(ctl, Ctl.stop) === 0) {
    const now = process.hrtime.bigint();
    if (now < next) {
      // Sleeps until the next period; stop() notifies this word to end the wait early.
      Atomics.wait(ctl, Ctl.stop, 0, Number(next - now) / 1e6);
      continue;
    }
    // A late iteration does not try to catch up with a burst: the newest observation is all that matters.
    next += periodNs;
    if (next <= now) next = now + periodNs;
    const reset = Atomics.load(ctl, Ctl.resetGen);
    if (reset !== seenReset) {
      seenReset = reset;
      session.resetEpisode();
    }
    const count = obsMb.count();
    if (count === seenObs || !obsMb.read(obs)) {
      Atomics.add(ctl, Ctl.skipped, 1);
      continue;
    }
    seenObs = count;
    const obsTNs = obsMb.lastTNs;
    const t0 = process.hrtime.bigint();
    try {
      await session.step(obs, act);
    } catch (e) {
      Atomics.add(ctl, Ctl.errors, 1);
      // Bound the messages: the first few errors are reported, the rest only counted.
      if (errorsReported++ < 3) port.postMessage({ type: 'step-error', message: (e as Error).message });
      continue;
    }
    const us = Number(process.hrtime.bigint() - t0) / 1e3;
    actMb.write(act, BigInt(Math.round(obsTNs)), us);
    Atomics.add(ctl, Ctl.inferences, 1);
    Atomics.store(ctl, Ctl.lastInferenceNs, Math.min(2 ** 31 - 1, Math.round(us * 1e3)));
  }
  await session.dispose();
}

main().then(
  () => port.postMessage({ type: 'stopped' }),
  (e: unknown) => {
    const code = e instanceof RewarddError ? e.code : 'E_POLICY';
    const message = e instanceof RewarddError ? e.message.slice(code.length + 2) : String((e as Error)?.message ?? e);
    port.postMessage({ type: 'error', code, message });
  },
);
