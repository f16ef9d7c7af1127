#!/usr/bin/env node
// The published entry point: runs the built emulator CLI (dist/) with the process's arguments.
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(
      `kaltura-ks-emulator: unexpected failure: ${error?.message ?? String(error)}\n`,
    );
    process.exitCode = 70;
  },
);
