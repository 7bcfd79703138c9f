#!/usr/bin/env -S node --import tsx
import { main } from '../harness/cli/main.ts';

// The boundary: the only place that turns the CLI's result into the process exit code.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`twin: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 2;
  },
);
