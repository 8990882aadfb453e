'use strict';
// The reward sandbox engine for the running Node: `import ivm from '#isolated-vm'`.
// Which isolated-vm release that is: src/core/native-packages.cjs.
//
// On Node 20 and later isolated-vm needs the process started with --no-node-snapshot
// (src/core/node-flags.ts): without it the process crashes sometimes, not always. A process that
// loads it without the flag is refused here, every time, with the reason: bin/rewardd.js starts
// some verbs without the flag (those whose process never runs reward code), and a mistake in
// that list must show up as this error in their tests, not as a rare crash on a robot.
// Worker threads share their process's start-up, whatever their own execArgv says.
const { isMainThread } = require('node:worker_threads');
const { missingNodeFlags } = require('./node-flags-rule.cjs');

const missing = isMainThread ? missingNodeFlags() : [];
if (missing.length > 0) {
  throw new Error(
    `isolated-vm loaded in a process started without ${missing.join(' ')}, which it needs on Node 20 and later ` +
      '(docs/platforms.md): start rewardd through bin/rewardd.js, or pass rewarddNodeFlags() to the process',
  );
}

module.exports = require('./native-packages.cjs').loadNative('isolated-vm');
