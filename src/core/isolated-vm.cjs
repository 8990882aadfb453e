'use strict';
// The reward sandbox engine, isolated-vm, for the running Node: `import ivm from '#isolated-vm'`
// (package.json "imports"; types from tsconfig "paths"). No isolated-vm release builds on Node 20,
// 22 and 24 at once: 5.x compiles against the V8 of Node 20 and 22 but not 24's; 6.x ships
// prebuilt binaries for Node 22 and 24 and no longer compiles against 20's. package.json installs
// both as optional npm aliases; npm skips 6 on Node 20 (its engines say >=22) and drops 5 on
// Node 24 (its build fails), and this file loads the one made for the running Node. Their type
// declarations are identical. docs/platforms.md has the table and how it was checked.
// Plain CommonJS, not TypeScript: compiled code (dist/) and source runs (vitest, tsx) load this
// same file, so the choice exists once.

/** The npm alias of isolated-vm built for a Node major (package.json optionalDependencies). */
function isolatedVmPackage(nodeMajor) {
  return nodeMajor < 22 ? 'isolated-vm-5' : 'isolated-vm-6';
}

function load() {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const name = isolatedVmPackage(nodeMajor);
  try {
    return require(name);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`)) {
      throw new Error(
        `the reward sandbox needs ${name} (isolated-vm for Node ${nodeMajor}), which is not installed: ` +
          'node_modules was installed under another Node major, or its build failed during install ' +
          `(it needs g++, make and python3 where no prebuilt binary fits); run \`npm ci\` under Node ${process.versions.node} ` +
          `or \`npm rebuild ${name} --foreground-scripts\` to see the build error`,
        { cause: e },
      );
    }
    throw e;
  }
}

module.exports = load();
