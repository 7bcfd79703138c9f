import { parseArgs } from 'node:util';

/** A server the child process runs: listening once `serve` resolves, closed gracefully on SIGTERM/SIGINT. */
export interface EmbeddedServerHandle {
  close(): Promise<void>;
}

/**
 * The child's side of `startEmbeddedServer`: reads `--port` and `--data-dir`, starts
 * the server, and ends the process on SIGTERM/SIGINT (graceful close, exit 0), when its stdin closes (the harness
 * died), or on a startup error (printed, exit 1, so the harness's wait shows it in the process's last lines).
 */
export async function runEmbeddedMain(name: string, serve: (opts: { port: number; dataDir: string }) => Promise<EmbeddedServerHandle>): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), strict: false, options: { port: { type: 'string' }, 'data-dir': { type: 'string' } } });
  const port = Number(values.port);
  const dataDir = String(values['data-dir'] ?? '');
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || dataDir === '') {
    console.error(`${name}: usage: --port <1-65535> --data-dir <dir> (got port ${String(values.port)}, data dir ${dataDir || 'none'})`);
    process.exit(2);
  }
  let handle: EmbeddedServerHandle;
  try {
    handle = await serve({ port, dataDir });
  } catch (err) {
    console.error(`${name}: could not start on 127.0.0.1:${port}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  console.log(`${name}: listening on 127.0.0.1:${port}, data in ${dataDir}`);
  let closing = false;
  const end = (code: number) => {
    if (closing) return;
    closing = true;
    handle.close().then(
      () => process.exit(code),
      () => process.exit(code),
    );
  };
  process.on('SIGTERM', () => end(0));
  process.on('SIGINT', () => end(0));
  // The harness holds our stdin open; when it goes (the harness died or ended), so do we, without a grace period.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
