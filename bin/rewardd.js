#!/usr/bin/env node
// The installed entry point. rewardd needs Node flags (src/core/node-flags.ts:
// --no-node-snapshot for the reward sandbox); when started without them, as
// `node bin/rewardd.js` or `npx rewardd` is, it runs itself again with them
// before loading anything else (src/core/relaunch.ts), except for the verbs
// whose own process never loads the sandbox (VERBS_WITHOUT_SANDBOX there).
import { needsRewarddFlags, relaunchWithRewarddFlags } from '../dist/src/core/relaunch.js';

if (needsRewarddFlags(process.argv.slice(2))) await relaunchWithRewarddFlags();
const { cli } = await import('../dist/src/cli/main.js');
process.exitCode = await cli(process.argv.slice(2));
