import { Worker } from 'node:worker_threads';
import { settledOrAfter, CLOSE_GRACE_MS } from './owned.ts';
import type { StageConfig, StageCounters, StageMessage, StageRequest, WorkerStage } from './stage-worker.ts';
import type { ServiceHandle } from './stack.ts';
import type { LogSink } from './service-logs-writer.ts';
import { prebuiltEntry } from '../providers/prebuilt-entry.ts';

/**
 * The worker's entry: the prebuilt stage worker from the live bundle, else plain JavaScript that registers the
 * TypeScript loader in the worker, then imports `stage-worker.ts`.
 */
const ENTRY = prebuiltEntry(new URL('./stage-worker.ts', import.meta.url)) ?? new URL('./stage-worker-boot.mjs', import.meta.url);

/** A started stage in its worker: where it answers, and how to stop, kill, pause and resume it. */
export interface StageHandle extends ServiceHandle {
  /** The stage's base URL (output-processor's is where the build agents report). */
  readonly url: string;
  /** frontend's webhook URL. */
  readonly hookUrl: string | undefined;
  /** The stage's counters as last sent (a killed worker's last ones stay). */
  readonly lastCounters: StageCounters;
  /** The stage's counters now, or the last sent when the worker does not answer within ASK_MS (killed, hung). */
  counters(): Promise<StageCounters>;
  /** audit-log-service writes what it received; resolves when written, or after ASK_MS without an answer. */
  flush(): Promise<void>;
  /** The worker's own environment (the twin's plumbing left out) and heap limit; undefined when it does not answer within ASK_MS. */
  environment(): Promise<ProcessEnvironment | undefined>;
}

/** What a stage's process runs with, read from the process itself. */
export interface ProcessEnvironment {
  readonly env: Readonly<Record<string, string>>;
  readonly maxMemoryBytes: number;
}

/** How a stage's worker is created: the container's environment and the JVM heap it is given (`docker run -e`, `-Xmx`). */
export interface StageProcessOptions {
  /** The worker's `process.env` (beside the twin's plumbing, `PLUMBING_ENV`); absent: the host's, as before. */
  readonly env?: Readonly<Record<string, string>>;
  /** The worker's old-generation limit (`resourceLimits.maxOldGenerationSizeMb`); absent: V8's default. */
  readonly heapLimitBytes?: number;
}

/**
 * The host's variables a worker keeps beside the container's environment: the twin's own switches (code cache, loop
 * probe, live mutants) and the AWS SDK's Node-version warning switch (bin/twin.js), not the container's; `docker
 * exec C env` leaves them out.
 */
export const PLUMBING_ENV = /^(TWIN_|AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED$)/;

/** The worker's `process.env` for a container environment: the twin's plumbing from the host, then the container's. */
export function workerEnv(container: Readonly<Record<string, string>>, host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const plumbing = Object.entries(host).flatMap(([k, v]) => (PLUMBING_ENV.test(k) && v !== undefined ? [[k, v] as const] : []));
  return { ...Object.fromEntries(plumbing), ...container };
}

/** Whether two workers' options make the same process (a prepared worker is used only for the options it was made with). */
export function sameProcessOptions(a: StageProcessOptions, b: StageProcessOptions): boolean {
  return JSON.stringify([a.env ?? null, a.heapLimitBytes ?? null]) === JSON.stringify([b.env ?? null, b.heapLimitBytes ?? null]);
}

/** How long the host waits for a worker's answer: a killed or hung worker does not give one. */
const ASK_MS = 5_000;

/**
 * A worker for one stage, loading its modules (a few seconds of a busy machine's time for the MongoDB driver and
 * the S3 SDK) before it is asked to start: the stack prepares them while it boots the components.
 */
export class PreparedStage {
  readonly #worker: Worker;
  readonly #flag: Int32Array;
  readonly #exited: Promise<void>;
  #taken = false;

  constructor(
    readonly stage: WorkerStage,
    readonly options: StageProcessOptions = {},
  ) {
    const pauseFlag = new SharedArrayBuffer(4);
    this.#flag = new Int32Array(pauseFlag);
    this.#worker = new Worker(ENTRY, {
      workerData: { stage, pauseFlag },
      ...(options.env === undefined ? {} : { env: workerEnv(options.env) }),
      ...(options.heapLimitBytes === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.heapLimitBytes / (1024 * 1024) } }),
    });
    this.#exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /**
   * Starts the stage with `config` and resolves once it listens; rejects with the stage's own error (its `code`
   * kept: `EADDRINUSE` when the port is taken) after the worker is gone. A prepared worker starts one stage once.
   */
  async start(config: StageConfig, onLog: LogSink = () => undefined): Promise<StageHandle> {
    if (this.#taken) throw new Error(`${this.stage}: this worker was already started`);
    this.#taken = true;
    const worker = this.#worker;
    // The stage's log lines go to `onLog` from its first (it logs its start before it listens) to its last.
    worker.on('message', (m: StageMessage) => {
      if (m.type === 'log') onLog(m.text, m.atMs, m.container);
    });
    const first = await new Promise<StageMessage>((resolve) => {
      const answer = (m: StageMessage) => {
        if (m.type === 'log') return;
        worker.off('message', answer);
        resolve(m);
      };
      worker.on('message', answer);
      worker.once('error', (err) => resolve({ type: 'failed', message: err.message }));
      void this.#exited.then(() => resolve({ type: 'failed', message: 'the worker exited before it listened' }));
      worker.postMessage({ type: 'start', config });
    });
    if (first.type !== 'ready') {
      await worker.terminate();
      const err = new Error(`${config.stage}: ${first.type === 'failed' ? first.message : 'did not start'}`) as NodeJS.ErrnoException;
      if (first.type === 'failed' && first.code) err.code = first.code;
      throw err;
    }
    worker.on('error', () => undefined);
    let last: StageCounters = {};
    let nextId = 0;
    const waiting = new Map<number, (m: StageMessage) => void>();
    worker.on('message', (m: StageMessage) => {
      if (m.type === 'counters') last = m.counters;
      if ((m.type === 'counters' || m.type === 'flushed' || m.type === 'env') && m.id !== undefined) {
        waiting.get(m.id)?.(m);
        waiting.delete(m.id);
      }
    });
    const ask = (type: StageRequest['type']) =>
      new Promise<StageMessage | undefined>((resolve) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, ASK_MS);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        void this.#exited.then(() => waiting.get(id)?.({ type: 'stopped' }));
        worker.postMessage({ type, id } satisfies StageRequest);
      });
    const resume = () => {
      Atomics.store(this.#flag, 0, 0);
      Atomics.notify(this.#flag, 0);
    };
    return {
      port: first.port,
      healthUrl: first.healthUrl,
      url: first.url,
      hookUrl: first.hookUrl,
      get lastCounters() {
        return last;
      },
      counters: async () => {
        await ask('counters');
        return last;
      },
      flush: async () => void (await ask('flush')),
      environment: async () => {
        const m = await ask('env');
        if (m?.type !== 'env') return undefined;
        // In the order the container was created with (docker's: PATH, HOSTNAME, then the -e variables), not the
        // order the thread's environment happens to enumerate; any variable the process added comes after.
        const own = Object.entries(m.env).filter(([k]) => !PLUMBING_ENV.test(k));
        const rank = new Map(Object.keys(this.options.env ?? {}).map((k, i) => [k, i] as const));
        own.sort(([a], [b]) => (rank.get(a) ?? rank.size) - (rank.get(b) ?? rank.size));
        return { env: Object.fromEntries(own), maxMemoryBytes: m.maxMemoryBytes };
      },
      kill: () => {
        resume();
        void worker.terminate();
      },
      pause: () => {
        Atomics.store(this.#flag, 0, 1);
        worker.postMessage('pause');
      },
      unpause: resume,
      stop: async () => {
        resume();
        worker.postMessage('stop');
        // Each of its closes has CLOSE_GRACE_MS; past a few of them, whatever still hangs ends with the worker.
        await settledOrAfter(this.#exited, 4 * CLOSE_GRACE_MS);
        await worker.terminate();
      },
    };
  }

  /** Ends a worker that was never started. */
  async discard(): Promise<void> {
    if (!this.#taken) await this.#worker.terminate();
  }
}
