/**
 * The Node command-line flags every rewardd process needs, decided in one place
 * for the Node that runs it. Whoever starts a Node process that may load the
 * reward sandbox (bin/rewardd.js, the test runner, reward hosts and workers
 * spawned with `process.execPath`) takes its flags from here:
 *
 *   spawn(process.execPath, [...rewarddNodeFlags(), script, ...args])
 *
 * docs/platforms.md lists the flags per Node major and why.
 */
import { createRequire } from 'node:module';
import type * as Rule from './node-flags-rule.cjs';

// The rule itself is in node-flags-rule.cjs, which the sandbox engine's loader (isolated-vm.cjs) reads
// too: one rule for who starts processes and for the guard that refuses a process started without it.
// Required through the package's "imports" map, which resolves the same from src/, dist/ and the
// bundled vitest config.
const rule = createRequire(import.meta.url)('#node-flags-rule') as typeof Rule;

/** The Node major of a version string such as "24.21.0" or "v20.20.2". */
export const nodeMajor: (version?: string) => number = rule.nodeMajor;

/**
 * Flags for a Node process of this version that runs rewardd code.
 *
 * `--no-node-snapshot`: from Node 20 on, Node starts from its own startup
 * snapshot, and V8 shares read-only heap data between the isolates of a
 * process; isolated-vm's isolates are built differently, and mixing the two
 * crashes the process, sometimes and platform-dependently (laverdet/isolated-vm
 * #420, #424). The READMEs of isolated-vm 5.0.4, 6.2.0 and 7.0.1 all require
 * the flag on Node 20 and later, so it stays on for 22 and 24 although short
 * runs there did not crash without it.
 */
export const rewarddNodeFlags: (version?: string) => string[] = rule.rewarddNodeFlags;

/**
 * The flags of rewarddNodeFlags() that a process started without: a flag
 * counts as present when it is in the process's own arguments (execArgv) or
 * in NODE_OPTIONS, which Node reads at start-up as if it were on the command line.
 */
export const missingNodeFlags: (execArgv?: readonly string[], nodeOptions?: string, version?: string) => string[] = rule.missingNodeFlags;
