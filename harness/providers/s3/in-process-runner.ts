import type { Server } from 'node:http';
import type { BackendRunner } from '../runner.ts';
import { removeDir } from '../temp-dir.ts';

/** A server listening in this process (s3rver, fileserved): its port and how to close it. */
export interface InProcessServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface InProcessRunnerOptions {
  /** Removed by stop(): everything the backend created lives under it. */
  readonly tempDir: string;
  /** Where the objects are (wipe_state deletes it). */
  readonly dataDir: string;
  /** Starts listening on 127.0.0.1:`port` (0: a free one) over the same data dir, resolving once it serves. */
  readonly listen: (port: number) => Promise<InProcessServer>;
}

/**
 * The lifecycle of an HTTP server in this process whose data lives on disk: restart on the same port and data dir
 * (objects survive it, as they would on a disk or in S3), and a stop that always removes the temp dir. There is no
 * pid to signal: a kill would kill the harness. Lifecycle calls are serialised, so a restart racing a stop cannot leak.
 */
export class InProcessRunner implements BackendRunner {
  readonly pid = undefined;
  #server: InProcessServer | undefined;
  readonly #serial = serialQueue();
  #stopped = false;

  private constructor(
    private readonly opts: InProcessRunnerOptions,
    server: InProcessServer,
  ) {
    this.#server = server;
  }

  /** Listens on a free port; if that fails the temp dir is removed before the error is rethrown. */
  static async start(opts: InProcessRunnerOptions): Promise<InProcessRunner> {
    try {
      return new InProcessRunner(opts, await opts.listen(0));
    } catch (err) {
      await removeDir(opts.tempDir);
      throw err;
    }
  }

  /** The port it listens on; kept across restarts, so clients need no new address. */
  get port(): number {
    return this.#server?.port ?? 0;
  }
  get dataDir(): string {
    return this.opts.dataDir;
  }

  restart(): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      const port = this.port;
      await this.#close();
      this.#server = await this.opts.listen(port);
    });
  }

  stop(): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      this.#stopped = true;
      try {
        await this.#close();
      } finally {
        await removeDir(this.opts.tempDir);
      }
    });
  }

  async #close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.close();
  }

}

/** Runs steps one at a time, in call order; a step that fails does not stop the ones queued after it. */
export function serialQueue(): <T>(step: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return (step) => {
    const next = queue.then(step, step);
    queue = next.catch(() => undefined);
    return next;
  };
}

/** How long requests in flight may finish after a close before their connections are cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Closes an HTTP server: no new connections, idle keep-alive sockets closed at once (clients such as the AWS SDK
 * keep them open), and connections still busy after a grace period cut, so a stop is bounded.
 */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    timer.unref();
    server.close((err) => {
      clearTimeout(timer);
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
