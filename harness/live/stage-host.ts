import { Worker } from 'node:worker_threads';
import { settledOrAfter, CLOSE_GRACE_MS } from './owned.ts';
import type { StageConfig, StageMessage } from './stage-worker.ts';
import type { ServiceHandle } from './stack.ts';

/** Plain JavaScript that registers the TypeScript loader in the worker, then imports `stage-worker.ts`. */
const ENTRY = new URL('./stage-worker-boot.mjs', import.meta.url);

/** A started stage in its worker: where it answers, and how to stop, kill, pause and resume it. */
export interface StageHandle extends ServiceHandle {
  /** The stage's base URL (output-processor's is where the build agents report). */
  readonly url: string;
  /** frontend's webhook URL. */
  readonly hookUrl: string | undefined;
  readonly threadId: number;
}

/**
 * Starts a stage in a worker thread and resolves once it listens; rejects with the stage's own error (its `code`
 * kept: `EADDRINUSE` when the port is taken) after the worker is gone.
 */
export async function startStageWorker(config: Omit<StageConfig, 'pauseFlag'>): Promise<StageHandle> {
  const pauseFlag = new SharedArrayBuffer(4);
  const flag = new Int32Array(pauseFlag);
  const worker = new Worker(ENTRY, { workerData: { ...config, pauseFlag } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const first = await new Promise<StageMessage>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ type: 'failed', message: err.message }));
    void exited.then(() => resolve({ type: 'failed', message: 'the worker exited before it listened' }));
  });
  if (first.type !== 'ready') {
    await worker.terminate();
    const err = new Error(`${config.stage}: ${first.type === 'failed' ? first.message : 'did not start'}`) as NodeJS.ErrnoException;
    if (first.type === 'failed' && first.code) err.code = first.code;
    throw err;
  }
  worker.on('error', () => undefined);
  const resume = () => {
    Atomics.store(flag, 0, 0);
    Atomics.notify(flag, 0);
  };
  return {
    port: first.port,
    healthUrl: first.healthUrl,
    url: first.url,
    hookUrl: first.hookUrl,
    threadId: worker.threadId,
    kill: () => {
      resume();
      void worker.terminate();
    },
    pause: () => {
      Atomics.store(flag, 0, 1);
      worker.postMessage('pause');
    },
    unpause: resume,
    stop: async () => {
      resume();
      worker.postMessage('stop');
      // Each of its closes has CLOSE_GRACE_MS; past a few of them, whatever still hangs ends with the worker.
      await settledOrAfter(exited, 4 * CLOSE_GRACE_MS);
      await worker.terminate();
    },
  };
}
