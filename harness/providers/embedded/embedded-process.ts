import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LocalProcessRunner, launchOnFreePorts, spawnAndWait, type Launched } from '../local-process-runner.ts';
import { freePort } from '../ports.ts';
import { startProcess } from '../process.ts';
import { makeTempDir } from '../temp-dir.ts';
import { prebuiltEntry } from '../prebuilt-entry.ts';
import type { WaitStrategy } from '../wait.ts';

/**
 * The twin's own servers for the components that have no in-process server a well-kept library offers (Redis,
 * RabbitMQ, MongoDB): each runs as a private child Node process (its prebuilt module from the live bundle, else its
 * source with the TypeScript loader), on a free port of 127.0.0.1 and over its own temp dir. A child process, not this one, so that live faults stay real: `pid`
 * takes SIGKILL (its memory is gone, what it kept on disk stays), SIGSTOP (it hangs with its sockets open) and SIGCONT,
 * and `restart()` starts it again on the same port and data dir, exactly as for the local binaries.
 *
 * The child's side is `embedded-main.ts`: it exits when its stdin closes, so it cannot outlive the harness.
 */
export interface EmbeddedServerOptions {
  /** The component (`redis`, `rabbitmq`, `postgres`): names the temp dir and the messages. */
  readonly component: string;
  /** The child's entry module (`new URL('./embedded-redis-main.ts', import.meta.url)`). */
  readonly entry: URL;
  /** Ready when this passes (the port open, then a protocol-level probe). */
  readonly ready: WaitStrategy;
  readonly startTimeoutMs: number;
}

export interface EmbeddedServer {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly tempDir: string;
  readonly dataDir: string;
}

/** The TypeScript loader a child from the sources runs with (tsx, already a dependency: `bin/twin.js` uses it too). */
const TSX_LOADER = import.meta.resolve('tsx');

export async function startEmbeddedServer(o: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const tempDir = await makeTempDir(o.component);
  const dataDir = `${tempDir}/data`;
  const launchOn = async (port: number): Promise<Launched> => {
    const label = `embedded ${o.component} on 127.0.0.1:${port}`;
    const prebuilt = prebuiltEntry(o.entry);
    const args = [...(prebuilt ? [prebuilt] : ['--import', TSX_LOADER, fileURLToPath(o.entry)]), '--port', String(port), '--data-dir', dataDir];
    const proc = await spawnAndWait(
      // stdin is a pipe the harness never writes to: when the harness dies it closes and the child exits.
      () => startProcess(process.execPath, args, { label, cwd: tempDir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } }),
      (p) => o.ready.waitUntilReady({ label, host: '127.0.0.1', port, deadline: Date.now() + o.startTimeoutMs, process: p }),
    );
    return { process: proc, pid: proc.pid };
  };
  let port = 0;
  const runner = await LocalProcessRunner.start({ label: o.component, tempDir, dataDir, launch: () => launchOn(port), stopSignal: 'SIGTERM', graceMs: 5_000 }, async () => {
    await mkdir(dataDir, { recursive: true });
    const r = await launchOnFreePorts(freePort, launchOn);
    port = r.ports;
    return r.launched;
  });
  return { runner, port, tempDir, dataDir };
}
