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

/** The Node major of a version string such as "24.21.0" or "v20.20.2". */
export function nodeMajor(version: string = process.versions.node): number {
  const major = Number.parseInt(version.replace(/^v/, ''), 10);
  if (!Number.isInteger(major)) throw new Error(`expected a Node version like 24.21.0, found "${version}"`);
  return major;
}

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
export function rewarddNodeFlags(version: string = process.versions.node): string[] {
  return nodeMajor(version) >= 20 ? ['--no-node-snapshot'] : [];
}

/** Splits NODE_OPTIONS into its flags (whitespace-separated; quotes are not needed by any flag here). */
function nodeOptionFlags(nodeOptions: string): string[] {
  return nodeOptions.split(/\s+/).filter((f) => f.length > 0);
}

/**
 * The flags of rewarddNodeFlags() that a process started without: a flag
 * counts as present when it is in the process's own arguments (execArgv) or
 * in NODE_OPTIONS, which Node reads at start-up as if it were on the command line.
 */
export function missingNodeFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env['NODE_OPTIONS'] ?? '',
  version: string = process.versions.node,
): string[] {
  const present = new Set([...execArgv, ...nodeOptionFlags(nodeOptions)]);
  return rewarddNodeFlags(version).filter((f) => !present.has(f));
}
