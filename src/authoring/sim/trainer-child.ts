/**
 * The child process that trains one candidate (`reward refine --sim`). LLM-written
 * code runs here, not in the CLI's process: if it takes the sandbox, or V8,
 * down with it, the parent records a failed candidate and goes on.
 * Protocol (process IPC): one TrainJob in, progress messages and one result out, then exit.
 */
import { diagnosticsOf, formatDiagnostic } from '../../reward/index.js';
import type { RobotDescription } from '../../core/robot.js';
import { loadCandidate, trainWithReward, type SimTrainOptions, type SimTrainResult } from './train-with-reward.js';

export interface TrainJob {
  type: 'train';
  source: string;
  filename: string;
  robot: RobotDescription;
  options: SimTrainOptions;
}

export type FromTrainer =
  | { type: 'progress'; generation: number; of: number }
  | { type: 'result'; result: SimTrainResult }
  | { type: 'error'; message: string };

const send = (m: FromTrainer): Promise<void> => new Promise((resolve) => process.send!(m, () => resolve()));

process.once('message', (job: TrainJob) => {
  void (async () => {
    try {
      const rt = await loadCandidate(job.source, job.filename, job.robot);
      try {
        const result = await trainWithReward(rt, job.robot, job.options, (g, of) => process.send!({ type: 'progress', generation: g, of } satisfies FromTrainer));
        await send({ type: 'result', result });
      } finally {
        rt.dispose();
      }
    } catch (e) {
      const d = diagnosticsOf(e);
      await send({ type: 'error', message: d ? d.map(formatDiagnostic).join('\n') : (e as Error).message });
    }
    process.disconnect();
  })();
});
