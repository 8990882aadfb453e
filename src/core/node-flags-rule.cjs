'use strict';
// The rule behind rewardd's Node flags, in plain CommonJS so that both src/core/node-flags.ts (what
// every spawner and the relaunch use) and src/core/isolated-vm.cjs (the engine's own guard) read
// the same one. Types: node-flags-rule.d.cts; the reasons: node-flags.ts and docs/platforms.md.

/** The Node major of a version string such as "24.21.0" or "v20.20.2". */
function nodeMajor(version = process.versions.node) {
  const major = Number.parseInt(String(version).replace(/^v/, ''), 10);
  if (!Number.isInteger(major)) throw new Error(`expected a Node version like 24.21.0, found "${version}"`);
  return major;
}

/** Flags for a Node process of this version that runs rewardd code. */
function rewarddNodeFlags(version = process.versions.node) {
  return nodeMajor(version) >= 20 ? ['--no-node-snapshot'] : [];
}

/** The flags of rewarddNodeFlags() missing from execArgv and NODE_OPTIONS (read by Node as if on the command line). */
function missingNodeFlags(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS || '', version = process.versions.node) {
  const present = new Set([...execArgv, ...nodeOptions.split(/\s+/).filter((f) => f.length > 0)]);
  return rewarddNodeFlags(version).filter((f) => !present.has(f));
}

module.exports = { nodeMajor, rewarddNodeFlags, missingNodeFlags };
