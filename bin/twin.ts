#!/usr/bin/env -S node --import tsx
import { main } from '../harness/cli/main.ts';

// The boundary: the only place that turns the CLI's result into the process exit code. main() reports its own
// errors; this catch is the last resort for one that escapes it (one line, the stack only with TWIN_DEBUG=1).
// The AWS SDK warns, once in every thread that builds a client, that its releases after January 2027 need Node 22.
// The twin pins a release that runs on Node 20 (package-lock.json), so the warning asks users for nothing they can
// do; `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false` brings it back. Set before any worker or child starts.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const debug = process.env.TWIN_DEBUG === '1';
    process.stderr.write(`twin: internal error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n  please report this to the twin's maintainers${debug ? '' : ' (TWIN_DEBUG=1 prints the stack)'}\n${debug && e instanceof Error ? `${e.stack}\n` : ''}`);
    process.exitCode = 2;
  },
);
