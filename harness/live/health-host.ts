import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { prebuiltEntry } from '../providers/prebuilt-entry.ts';
import { LOG_LINES } from '../../sim/symptoms/log-lines.ts';
import { ServiceLog } from './service-logs-writer.ts';

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

/**
 * A line a service of the plain-JavaScript thread writes: a line of `LOG_LINES` by its key and arguments (the
 * shapes are defined once, in TypeScript), or a dependency it could (`reached`) or could not reach.
 */
type LogLine = { type: 'log'; name: string; line: keyof typeof LOG_LINES | 'reached'; args: readonly unknown[]; atMs: number };

/** Where the health-only services' lines go: the stack's `ServiceLogs`. */
export type HealthLogSink = (name: string, text: string, atEpochMs: number) => void;

/**
 * One flush of telegraf's series: the metric names (tags dropped) it wrote then, and the last value of each gauge
 * series it received since the flush before (by `name`, or `name#tags` for a DogStatsD-tagged one).
 */
type GaugesFlush = { type: 'gauges'; name: string; atMs: number; names: readonly string[]; values: Readonly<Record<string, number>> };
/** Where telegraf's flushes go: the stack's recorded series (`LiveStack.gaugeFlushes`) and its `[[outputs.cloudwatch]]`. */
export type GaugeSink = (atEpochMs: number, names: readonly string[], values: Readonly<Record<string, number>>) => void;
/** logrotate's run (role `logrotate`), to the host's `onRotate`; the live volume's rule reads logrotate's row instead (live-disk.ts). */
type Rotate = { type: 'rotate'; name: string; atMs: number };
export type RotateSink = (atEpochMs: number) => void;

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
  /** Each service's log (its `cannot reach` lines limited as a stage's are). */
  private readonly logs = new Map<string, ServiceLog>();
  private lineAtMs = 0;

  constructor(
    private readonly onLog: HealthLogSink = () => undefined,
    private readonly onGauges: GaugeSink = () => undefined,
    private readonly onRotate: RotateSink = () => undefined,
  ) {}

  /** A service's line, from its key in `LOG_LINES` to its text. */
  private log(m: LogLine): void {
    // The service's clock: the instant its thread wrote the line.
    this.lineAtMs = m.atMs;
    let log = this.logs.get(m.name);
    if (log === undefined) this.logs.set(m.name, (log = new ServiceLog(m.name, (text, atMs) => this.onLog(m.name, text, atMs), undefined, () => this.lineAtMs)));
    if (m.line === 'reached' || m.line === 'cannotReach') return m.line === 'reached' ? log.reached(String(m.args[0])) : log.cannotReach(String(m.args[0]));
    const shape = LOG_LINES[m.line] as string | ((...a: never[]) => string);
    if (shape === undefined) throw new Error(`the health services' thread wrote an unknown line ${m.line}`);
    log.write(typeof shape === 'string' ? shape : shape(...(m.args as never[])));
  }

  /** Whether the shared thread runs (from the first service started until the last one ends). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** The shared thread, started on first use; a crash of it fails whatever waits on it. */
  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER);
    worker.on('message', (r: Reply | LogLine | GaugesFlush | Rotate) => {
      if (r.type === 'log') return this.log(r);
      if (r.type === 'gauges') return this.onGauges(r.atMs, r.names, r.values ?? {});
      if (r.type === 'rotate') return this.onRotate(r.atMs);
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
