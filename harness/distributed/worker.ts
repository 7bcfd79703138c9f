import { hostname } from 'node:os';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { bullConnection, connectChecked, queueRedis } from './connection.ts';
import { QUEUE_NAME, QUEUE_PREFIX, RUN_KEYS_TTL_S, runKeys, type JobData } from './keys.ts';
import { knownKinds } from './task-kinds.ts';
import { DEFAULT_STALL_TIMEOUT_S, WORKER_LIMITS } from './limits.ts';
import { TaskInterruptedError, TaskThreads } from './task-threads.ts';


export interface WorkerOptions {
  url: string;
  /** Tasks run at once, each in its own thread (default 1). */
  concurrency?: number;
  /** Exit once the queue has nothing waiting and this worker's tasks are done. */
  once?: boolean;
  /** A task's lock: a worker that stops renewing it (killed) has its task retried after about this long. */
  stallTimeoutS?: number;
  /** One line per event (connected, task started, finished, released); the CLI writes them on stderr. */
  log: (line: string) => void;
}

export interface RunningWorker {
  /** Resolves when the worker has stopped (after `stop`, or on its own with `once`). */
  readonly stopped: Promise<void>;
  /**
   * Stops taking tasks. `graceful`: the running tasks finish and their results are stored; otherwise they are
   * interrupted and put back in the queue at once for another worker.
   */
  stop(graceful: boolean): Promise<void>;
  /** Tasks this worker finished. */
  readonly finished: () => number;
}

/**
 * A worker of the twin's queue: runs tasks of every registered kind (task-kinds.ts), each in a worker thread so
 * the main thread keeps renewing the task's lock however long the simulation runs. A task's result is stored in
 * its run's hash under its index, the first write winning; a task that throws is failed at once (deterministic:
 * it would throw again) and its error stored for the submitter.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const redis = queueRedis(opts.url);
  const client = await connectChecked(redis);
  const concurrency = opts.concurrency ?? 1;
  const stallTimeoutMs = (opts.stallTimeoutS ?? DEFAULT_STALL_TIMEOUT_S) * 1000;
  const threads = new TaskThreads(concurrency);
  const me = `${hostname()}:${process.pid}`;
  const running = new Map<string, { threadTask: number; release: boolean }>();
  let finished = 0;
  let releasing = false;

  const processor = async (job: Job<JobData>, token?: string): Promise<void> => {
    const { runId, index } = job.data;
    const keys = runKeys(runId);
    const attempt = await client.multi().hincrby(keys.attempts, String(index), 1).expire(keys.attempts, RUN_KEYS_TTL_S).exec();
    const n = Number(attempt?.[0]?.[1] ?? 1);
    opts.log(`started ${job.name} task ${index} of run ${runId}${n > 1 ? ` (attempt ${n}: retried after a worker left it)` : ''}`);
    const t0 = performance.now();
    const { id, reply } = threads.run(job.name, JSON.stringify(job.data.task));
    const entry = { threadTask: id, release: false };
    running.set(job.id!, entry);
    try {
      const r = await reply;
      if (!r.ok) {
        await client.multi().hsetnx(keys.errors, String(index), `${r.message} (on ${me})`).expire(keys.errors, RUN_KEYS_TTL_S).exec();
        opts.log(`failed ${job.name} task ${index} of run ${runId}: ${r.message}`);
        throw new UnrecoverableError(r.message);
      }
      const first = await client.multi().hsetnx(keys.results, String(index), r.result).expire(keys.results, RUN_KEYS_TTL_S).exec();
      finished++;
      const kept = Number(first?.[0]?.[1] ?? 0) === 1;
      opts.log(`finished ${job.name} task ${index} of run ${runId} in ${Math.round(performance.now() - t0)} ms${kept ? '' : ' (a result was already stored: not counted again)'}`);
    } catch (e) {
      if (e instanceof TaskInterruptedError && entry.release && token !== undefined) {
        await job.moveToWait(token);
        opts.log(`released ${job.name} task ${index} of run ${runId} to the queue`);
        throw new WaitingError();
      }
      throw e;
    } finally {
      running.delete(job.id!);
    }
  };

  const worker = new Worker<JobData>(QUEUE_NAME, processor, {
    connection: bullConnection(redis),
    prefix: QUEUE_PREFIX,
    concurrency,
    lockDuration: stallTimeoutMs,
    stalledInterval: Math.max(500, Math.floor(stallTimeoutMs / 2)),
    maxStalledCount: WORKER_LIMITS.maxStalledCount,
    name: me,
  });
  worker.on('error', (e) => opts.log(`queue error: ${e.message}`));
  opts.log(`connected to ${redis.redacted}, queue ${QUEUE_PREFIX}:${QUEUE_NAME}; runs ${knownKinds().join(', ')}; ${concurrency} at a time; a task left by a dead worker is retried after ${stallTimeoutMs / 1000} s`);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (graceful: boolean): Promise<void> => {
    if (!graceful && !releasing) {
      releasing = true;
      for (const entry of running.values()) {
        entry.release = true;
        void threads.interrupt(entry.threadTask);
      }
    }
    stopping ??= (async () => {
      await worker.close();
      await threads.close();
      client.disconnect();
      resolveStopped();
    })();
    return stopping;
  };

  if (opts.once) {
    const queue = new Queue(QUEUE_NAME, { connection: bullConnection(redis), prefix: QUEUE_PREFIX });
    queue.on('error', () => undefined);
    void (async () => {
      // Bounded by the queue: each pass sleeps, and the loop ends when nothing waits and nothing runs here.
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        if (stopping !== undefined) break;
        const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
        if ((c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) === 0 && running.size === 0) break;
      }
      await queue.close();
      if (stopping !== undefined) return;
      opts.log(`the queue is empty: stopping (--once) after ${finished} task${finished === 1 ? '' : 's'}`);
      await stop(true);
    })();
  }
  return { stopped, stop, finished: () => finished };
}
