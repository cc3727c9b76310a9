#!/usr/bin/env node
// The diffai command. The CLI itself lives in dist/cli/main.js (compiled from lib/cli/main.ts).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`ERR_INTERNAL: ${error?.stack ?? error}\n`);
    process.exitCode = 2;
  },
);
