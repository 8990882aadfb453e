import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { missingNodeFlags } from './node-flags.js';

/**
 * Set in the environment of the relaunched process, and removed there at once,
 * so a relaunch happens at most once even if Node dropped a flag.
 */
const RELAUNCHED = 'REWARDD_RELAUNCHED';

/**
 * The CLI verbs (and the bare help and version flags) whose own process never loads the reward
 * sandbox: they read files and talk to the broker, and run reward code, if at all, in worker
 * processes that get the flags themselves (src/relabel/pool.ts). bin/rewardd.js does not relaunch
 * for them: no second start (~80 ms), and Node's start-up snapshot stays on. The sandbox engine
 * refuses to load in a process without the flags (src/core/isolated-vm.cjs), so a verb wrongly
 * listed here fails in its tests every time (test/core/node-flags.test.ts imports each).
 */
export const VERBS_WITHOUT_SANDBOX: ReadonlySet<string> = new Set(['relabel', 'export', 'episodes', 'keys', 'estop', 'arm', 'disarm', 'episode', '--version', '--help', '-h', 'help']);

/** The same for subcommands of a verb whose other subcommands do load it (`reward check`, `generate`, `refine`). */
export const SUBCOMMANDS_WITHOUT_SANDBOX: Readonly<Record<string, readonly string[]>> = { reward: ['diff'] };

/** Whether `rewardd ARGS` needs the relaunch with rewardd's flags (no arguments prints the usage). */
export function needsRewarddFlags(args: readonly string[]): boolean {
  const verb = args[0] ?? '--help';
  if (VERBS_WITHOUT_SANDBOX.has(verb)) return false;
  const sub = args[1];
  return !(sub !== undefined && SUBCOMMANDS_WITHOUT_SANDBOX[verb]?.includes(sub) === true);
}

/** Signals a Node 20 relaunch passes on to the program (and then dies of, like the program). */
const PASSED_ON = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

/**
 * Runs the current script again under the same Node with rewardd's flags
 * (rewarddNodeFlags()) when it started without them, so `node bin/rewardd.js`,
 * `npx rewardd` and `npm run bench` need no flags from the user.
 *
 * Resolves when this process already has the flags and should go on. Otherwise
 * it never resolves: Node 22.15+ and 24 replace the process in place with
 * execve (same pid, so signals and the exit status are the program's own);
 * Node 20 has no process.execve, so a child runs the script and this process
 * passes SIGINT/SIGTERM/SIGHUP on and exits as the child did.
 */
export async function relaunchWithRewarddFlags(): Promise<void> {
  if (process.env[RELAUNCHED] !== undefined) {
    delete process.env[RELAUNCHED]; // not inherited by what the program spawns
    return;
  }
  const missing = missingNodeFlags();
  const script = process.argv[1];
  if (missing.length === 0 || script === undefined) return;
  const args = [...missing, ...process.execArgv, script, ...process.argv.slice(2)];
  const env = { ...process.env, [RELAUNCHED]: '1' };
  const execve = (process as { execve?: Execve }).execve;
  if (typeof execve === 'function') execve(process.execPath, [process.execPath, ...args], env);
  return runAsChild(args, env);
}

function runAsChild(args: string[], env: NodeJS.ProcessEnv): Promise<never> {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  for (const sig of PASSED_ON) {
    process.on(sig, () => {
      // A Ctrl-C typed on the terminal reaches its whole foreground process
      // group, the child included; passing it on as well would make it a
      // second Ctrl-C, which `rewardd run` takes as "exit without draining".
      if (sig !== 'SIGTERM' && inTerminalForeground()) return;
      child.kill(sig);
    });
  }
  return new Promise<never>(() => {
    child.on('error', (e) => {
      process.stderr.write(`rewardd: could not start ${process.execPath}: ${e.message}\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      if (signal === null) process.exit(code ?? 1);
      if ((PASSED_ON as readonly string[]).includes(signal)) {
        process.removeAllListeners(signal); // back to the default action: die of it, as the child did
        process.kill(process.pid, signal);
      }
      process.exit(128 + (constants.signals[signal] ?? 0));
    });
  });
}

/**
 * Whether this process belongs to its terminal's foreground process group
 * (so the terminal's Ctrl-C and hang-up reach the child directly). Linux
 * reads it from /proc/self/stat (pgrp and tpgid); elsewhere, an interactive
 * stdin stands for it.
 */
function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // "pid (comm) state ppid pgrp session tty_nr tpgid ...": comm may hold spaces and parentheses.
    const [, , pgrp, , ttyNr, tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ttyNr !== '0' && pgrp === tpgid;
  } catch {
    return process.stdin.isTTY === true;
  }
}
