#!/usr/bin/env node
// The installed entry point. rewardd needs Node flags (src/core/node-flags.ts:
// --no-node-snapshot for the reward sandbox); when started without them, as
// `node bin/rewardd.js` or `npx rewardd` is, it runs itself again with them
// before loading anything else (src/core/relaunch.ts).
import { relaunchWithRewarddFlags } from '../dist/src/core/relaunch.js';

await relaunchWithRewarddFlags();
const { cli } = await import('../dist/src/cli/main.js');
process.exitCode = await cli(process.argv.slice(2));
