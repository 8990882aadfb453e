import { RUN_OPTIONS, normaliseRunConfig, runHelp, type RunConfig } from '../daemon/config.js';
import { startDaemon } from '../daemon/daemon.js';
import { parseFlags } from './args.js';

export const help = runHelp();

export async function main(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, RUN_OPTIONS);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const partial: Partial<Record<keyof RunConfig, unknown>> = {};
  for (const o of RUN_OPTIONS) if (values[o.flag] !== undefined) partial[o.key] = values[o.flag];
  const cfg = normaliseRunConfig(partial);
  const tty = process.stdout.isTTY === true;
  let statusShown = false;
  const daemon = await startDaemon(cfg, {
    log: (line) => {
      if (statusShown && tty) process.stdout.write('\n');
      statusShown = false;
      process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    },
    status: (line) => {
      // On a terminal the status line rewrites itself; in a log it is one line per second.
      if (tty) process.stdout.write(`\r\x1b[K${line}`);
      else process.stdout.write(`${line}\n`);
      statusShown = true;
    },
  });
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\n${sig} again: exiting without waiting for the outbox to drain\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: ending the episode cleanly (again to force)\n`);
    void daemon.stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  await daemon.done;
  if (tty) process.stdout.write('\n');
  return 0;
}
