import { RewarddError } from '../../core/errors.js';
import type { RoverModel } from '../../link/sim/rover-model.js';
import type { Prompter } from './types.js';

export type SegmentKind = 'straight' | 'spin';

export interface SegmentTruth {
  /** Signed distance along the start heading, m. */
  distanceM: number;
  /** Signed heading change, counter-clockwise positive, rad (unwrapped: a full turn is 2π). */
  turnRad: number;
}

/** Where the odometry procedure gets the true motion of each drive segment. */
export interface OdometryTruth {
  begin(kind: SegmentKind, description: string): Promise<void>;
  /** Called every tick while the segment runs (the sim integrates its heading here). */
  tick(): void;
  end(kind: SegmentKind): Promise<SegmentTruth>;
}

const wrap = (a: number): number => a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));

/** The sim's ground truth: the rover model's pose, heading unwrapped tick by tick. */
export function simTruth(model: RoverModel): OdometryTruth {
  let x0 = 0;
  let y0 = 0;
  let th0 = 0;
  let last = 0;
  let turn = 0;
  const tick = (): void => {
    turn += wrap(model.theta - last);
    last = model.theta;
  };
  return {
    begin() {
      x0 = model.x;
      y0 = model.y;
      th0 = last = model.theta;
      turn = 0;
      return Promise.resolve();
    },
    tick,
    end() {
      tick(); // the last poll moved the rover after the last tick
      const distanceM = (model.x - x0) * Math.cos(th0) + (model.y - y0) * Math.sin(th0);
      return Promise.resolve({ distanceM, turnRad: turn });
    },
  };
}

/** A person with a tape measure and a protractor (or floor marks) answers for a real robot. */
export function promptedTruth(prompter: Prompter): OdometryTruth {
  const number = async (question: string): Promise<number> => {
    for (let tries = 0; tries < 3; tries++) {
      const answer = (await prompter.ask(question)).trim();
      const v = Number(answer);
      if (answer !== '' && Number.isFinite(v)) return v;
      await prompter.ask(`expected a number, found "${answer}"; press Enter to try again`);
    }
    throw new RewarddError('E_CONFIG', 'odometry: no measured value given');
  };
  return {
    async begin(_kind, description) {
      await prompter.ask(`Mark the robot's position and heading on the floor; keep 1.5 m clear around it. Press Enter to ${description}.`);
    },
    tick() {},
    async end(kind) {
      if (kind === 'straight') {
        const d = await number('Measured distance travelled, m (forward positive, backward negative):');
        return { distanceM: d, turnRad: 0 };
      }
      const deg = await number('Measured turn, degrees (counter-clockwise positive, a full turn is 360):');
      return { distanceM: 0, turnRad: (deg * Math.PI) / 180 };
    },
  };
}
