import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { prebuiltEntry } from '../providers/prebuilt-entry.ts';

/** What a health-only service is started with (see service-worker.mjs for the roles). */
export interface HealthServiceSpec {
  name: string;
  /** The port to listen on, 0 for a free one. */
  port: number;
  healthPath: string;
  /** Each probed on every health check: its health URL (2xx), else its TCP port (accepts a connection); neither passes. */
  dependencies: readonly { name: string; healthUrl?: string | undefined; port?: number | undefined }[];
  role?: Readonly<Record<string, unknown>> & { kind: string };
}

/** A message a running service acts on: hung (`pause`), answering again, or a new list of dependencies (ready-agent). */
export type HealthServiceMessage = 'pause' | 'unpause' | { type: 'dependencies'; dependencies: HealthServiceSpec['dependencies'] };

/**
 * One health-only service in the shared thread, with the two calls LiveStack made on the worker thread each used to
 * have: `terminate` ends this service alone, abruptly (its listener closed, its connections destroyed, nothing
 * answered); `postMessage` pauses, unpauses or updates it alone.
 */
export interface HealthService {
  readonly port: number;
  terminate(): Promise<number>;
  postMessage(m: HealthServiceMessage): void;
}

type Reply = { type: 'listening'; name: string; port: number } | { type: 'error'; name: string; code?: string; message?: string } | { type: 'killed'; name: string };

const WORKER = prebuiltEntry(new URL('./service-worker.mjs', import.meta.url)) ?? fileURLToPath(new URL('./service-worker.mjs', import.meta.url));

/**
 * The stack's health-only twin services, all in one worker thread instead of a thread each (each thread cost about
 * 100 ms of CPU to start: 25 of them were 2.3 CPU-s of an embedded boot). The thread starts with the first service
 * and ends with the last, so a stack that terminated all of them (`LiveStack.down`) holds no thread.
 */
export class HealthServiceHost {
  private worker: Worker | undefined;
  /** Services started or starting: the thread ends when this comes back to 0. */
  private held = 0;
  private readonly waiting = new Map<string, (r: Reply) => void>();

  /** Whether the shared thread runs (from the first service started until the last one ends). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** The shared thread, started on first use; a crash of it fails whatever waits on it. */
  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER);
    worker.on('message', (r: Reply) => {
      const wake = this.waiting.get(`${r.type === 'killed' ? 'kill' : 'start'}:${r.name}`);
      wake?.(r);
    });
    // Unexpected only: a thread ended by `release` has nothing waiting on it.
    const fail = (message: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const [key, wake] of this.waiting) wake(key.startsWith('kill:') ? { type: 'killed', name: key.slice(5) } : { type: 'error', name: key.slice(6), message });
    };
    worker.on('error', (e) => fail(`the health services' thread failed: ${e.message}`));
    worker.on('exit', (code) => fail(`the health services' thread exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** Waits for the reply `key` (`start:<name>` or `kill:<name>`) after sending `message`. */
  private ask(key: string, message: object): Promise<Reply> {
    if (this.waiting.has(key)) return Promise.reject(new Error(`${key.slice(key.indexOf(':') + 1)}: already ${key.startsWith('kill:') ? 'being killed' : 'starting'}`));
    const worker = this.thread();
    return new Promise((resolve) => {
      this.waiting.set(key, (r) => {
        this.waiting.delete(key);
        resolve(r);
      });
      worker.postMessage(message);
    });
  }

  /**
   * Starts a service on its port, or on a free one when that one is taken (the row's ports say which); rejects with
   * the listen error otherwise.
   */
  async start(spec: HealthServiceSpec): Promise<HealthService> {
    this.held++;
    const listen = (port: number) => this.ask(`start:${spec.name}`, { type: 'start', ...spec, port });
    let r = await listen(spec.port);
    if (r.type === 'error' && r.code === 'EADDRINUSE' && spec.port !== 0) r = await listen(0);
    if (r.type !== 'listening') {
      this.release();
      throw new Error(`${spec.name}: ${(r.type === 'error' && r.message) || 'did not start'}`);
    }
    let ended: Promise<number> | undefined;
    return {
      port: r.port,
      terminate: () =>
        (ended ??= this.ask(`kill:${spec.name}`, { type: 'kill', name: spec.name }).then(() => {
          this.release();
          return 1;
        })),
      postMessage: (m) => {
        if (ended === undefined) this.worker?.postMessage(typeof m === 'string' ? { type: m, name: spec.name } : { ...m, name: spec.name });
      },
    };
  }

  /** One service fewer; the thread ends with the last. */
  private release(): void {
    if (--this.held > 0) return;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }
}
