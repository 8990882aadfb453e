'use strict';
// Native add-ons whose version depends on the Node major, in one table. package.json installs
// every alias below as an optional dependency; npm skips an alias whose engines exclude the
// running Node and drops one whose build fails, and load() takes the one made for this Node.
// Plain CommonJS, not TypeScript: compiled code (dist/) and source runs (vitest, tsx) load
// this same file through package.json "imports" ('#isolated-vm', '#better-sqlite3').
// docs/platforms.md has the reasons and how each row was checked.

/** [npm alias, first Node major it is for]; the last row whose major <= the running Node's wins. */
const BY_NODE_MAJOR = {
  // 5.x compiles against the V8 of Node 20 (and 22) but not 24's; 6.x ships prebuilt
  // binaries for Node 22 and 24 (ABI 127, 137) and no longer compiles against 20's V8.
  'isolated-vm': [['isolated-vm-5', 20], ['isolated-vm-6', 22]],
  // 12.x (node::ObjectWrap) aborts the process on Node 24.19+ when a statement is collected
  // (`RemoveEnvironmentCleanupHook: Assertion failed: (env) != nullptr`); 13.x is Node-API with
  // prebuilt binaries, needs Node 22, and crashes on 20.
  'better-sqlite3': [['better-sqlite3-12', 20], ['better-sqlite3-13', 22]],
};

/** The npm alias of a native dependency built for a Node major. */
function nativePackage(dependency, nodeMajor) {
  const rows = BY_NODE_MAJOR[dependency];
  if (rows === undefined) throw new Error(`no Node-major table for "${dependency}"; expected one of ${Object.keys(BY_NODE_MAJOR).join(', ')}`);
  let chosen = rows[0][0];
  for (const [alias, fromMajor] of rows) if (nodeMajor >= fromMajor) chosen = alias;
  return chosen;
}

/** Loads the alias of `dependency` made for the running Node, or says in one line why it is missing. */
function loadNative(dependency) {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const name = nativePackage(dependency, nodeMajor);
  try {
    return require(name);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`)) {
      throw new Error(
        `${dependency} for Node ${nodeMajor} (npm alias ${name}) is not installed: node_modules was installed ` +
          `under another Node major, or its build failed during install (building needs g++, make and python3 ` +
          `where no prebuilt binary fits); run \`npm ci\` under Node ${process.versions.node}, or ` +
          `\`npm rebuild ${name} --foreground-scripts\` to see the build error`,
        { cause: e },
      );
    }
    throw e;
  }
}

module.exports = { BY_NODE_MAJOR, nativePackage, loadNative };
