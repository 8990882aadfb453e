#!/usr/bin/env -S node --no-node-snapshot
// The installed entry point. isolated-vm (the reward sandbox) needs Node's
// startup snapshot off on Node 20, hence the flag in the shebang.
import { cli } from '../dist/src/cli/main.js';

process.exitCode = await cli(process.argv.slice(2));
