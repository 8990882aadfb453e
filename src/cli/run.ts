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
  // Signals are handled from here, not only once the daemon is up: a Ctrl-C during start-up (the
  // broker, the control thread, the first reward host take a second or two) must not kill the
  // process by default action, with no word and no end record. The first stops it as soon as it has
  // started; a second exits at once.
  let signals = 0;
  let daemon: Awaited<ReturnType<typeof startDaemon>> | null = null;
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\n${sig} again: exiting without waiting for the outbox to drain\n`);
      process.exit(130);
    }
    if (daemon === null) {
      process.stderr.write(`\n${sig} while starting: stopping as soon as the daemon is up (again to force)\n`);
      return;
    }
    process.stderr.write(`\n${sig}: ending the episode cleanly (again to force)\n`);
    void daemon.stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  daemon = await startDaemon(cfg, {
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
  if (signals > 0) void daemon.stop();
  await daemon.done;
  if (tty) process.stdout.write('\n');
  return 0;
}
