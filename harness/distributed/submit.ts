import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullConnection, connectChecked, queueRedis } from './connection.ts';
import { DistributedError } from './errors.ts';
import { QUEUE_NAME, QUEUE_PREFIX, RUN_KEYS_TTL_S, jobId, runKeys, type JobData } from './keys.ts';
import { TASK_KINDS, knownKinds } from './task-kinds.ts';

/** Limits of one submission: each named in its error. */
export const SUBMIT_LIMITS = {
  /** Tasks in one run. */
  maxTasks: 100_000,
  /** One task as JSON (BullMQ stores it in Redis, and every worker reads it). */
  maxTaskBytes: 8 * 1024 * 1024,
} as const;

/** How long a submission waits for a first worker to take a task, unless told otherwise (`--worker-timeout`). */
export const DEFAULT_WORKER_TIMEOUT_MS = 60_000;

/** How often the submitter looks at its run's results. */
const POLL_MS = 200;

export interface SubmitOptions {
  /** The queue's Redis: `redis://host:port[/db]`. */
  url: string;
  /** A registered task kind (task-kinds.ts). */
  kind: string;
  /** Each task as JSON-able data; results come back in this order. */
  tasks: readonly unknown[];
  /**
   * How long to wait while no worker is connected and none has taken or finished a task: at the start, and later if
   * every worker left. Past it the submission fails, saying to start `twin worker <url>`.
   */
  workerTimeoutMs?: number;
  /** Called as results arrive: tasks finished and started (by any worker) out of the total. */
  onProgress?: (finished: number, started: number, total: number) => void;
}

export interface SubmitResult<R> {
  runId: string;
  /** The results in task order. */
  results: R[];
  /** Tasks run more than once (a worker died or lost its lock mid-task); each still counted once. */
  retried: number;
}

/**
 * Runs `tasks` on the twin's queue and returns their results in task order. The run gets a fresh id; each task is
 * a BullMQ job whose id is the run id and the task's index (queued once), and its result lands in the run's hash
 * under that index, the first write winning, so a task run twice is counted once. Fails with a DistributedError
 * (exit 2 at the CLI) on a bad or unreachable URL, when no worker takes anything within the worker timeout, or
 * when a task fails on a worker; the run's jobs that were not taken are then removed.
 */
export async function runOnQueue<R>(opts: SubmitOptions): Promise<SubmitResult<R>> {
  const redis = queueRedis(opts.url);
  if (TASK_KINDS[opts.kind] === undefined) throw new DistributedError(`unknown task kind \`${opts.kind}\``, `the kinds are: ${knownKinds().join(', ')}`, 'UNKNOWN_KIND');
  if (opts.tasks.length > SUBMIT_LIMITS.maxTasks) throw new DistributedError(`${opts.tasks.length} tasks is over the limit maxTasks (${SUBMIT_LIMITS.maxTasks})`, 'split the work into several runs', 'LIMIT');
  const texts = opts.tasks.map((t, i) => {
    const text = JSON.stringify(t);
    if (text.length > SUBMIT_LIMITS.maxTaskBytes) throw new DistributedError(`task ${i} is ${text.length} bytes of JSON, over the limit maxTaskBytes (${SUBMIT_LIMITS.maxTaskBytes})`, 'make tasks smaller (fewer items per task)', 'LIMIT');
    return text;
  });
  const client = await connectChecked(redis);
  const queue = new Queue(QUEUE_NAME, { connection: bullConnection(redis), prefix: QUEUE_PREFIX });
  queue.on('error', () => undefined);
  const runId = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  const keys = runKeys(runId);
  // BullMQ's own failures (a task found stalled more than maxStalledCount times) never reach a worker's processor:
  // they come as events on the queue's stream, and are stored with the processors' errors.
  const events = new QueueEvents(QUEUE_NAME, { connection: bullConnection(redis), prefix: QUEUE_PREFIX });
  events.on('error', () => undefined);
  events.on('failed', ({ jobId: id, failedReason }) => {
    if (!id.startsWith(`${runId}-`)) return;
    void client.hsetnx(keys.errors, id.slice(runId.length + 1), failedReason).catch(() => undefined);
  });
  try {
    await events.waitUntilReady();
    await queue.addBulk(
      texts.map((text, index) => ({
        name: opts.kind,
        data: { runId, index, task: JSON.parse(text) as unknown },
        // One attempt: executors are deterministic, so a task that throws would throw again. A worker that dies is
        // another matter: BullMQ's stalled-job check puts its task back in the queue (maxStalledCount, worker side).
        opts: { jobId: jobId(runId, index), attempts: 1, removeOnComplete: true, removeOnFail: { age: RUN_KEYS_TTL_S } },
      })),
    );
    await waitForResults(client, queue, runId, texts.length, opts);
    const results = await readResults<R>(client, keys.results, texts.length);
    const attempts = await client.hvals(keys.attempts);
    return { runId, results, retried: attempts.filter((a) => Number(a) > 1).length };
  } catch (e) {
    await removeWaiting(queue, runId, texts.length).catch(() => undefined);
    throw e;
  } finally {
    await client.del(keys.results, keys.errors, keys.attempts).catch(() => undefined);
    await queue.close().catch(() => undefined);
    await events.close().catch(() => undefined);
    client.disconnect();
  }
}

async function waitForResults(client: Redis, queue: Queue, runId: string, total: number, opts: SubmitOptions): Promise<void> {
  const keys = runKeys(runId);
  const timeoutMs = opts.workerTimeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS;
  let lastChange = Date.now();
  let last = '';
  // Bounded: each pass either sees a change (finite: at most `total` results and a bounded number of attempts per
  // task) or moves towards the worker timeout, which ends the wait while no worker is connected.
  for (;;) {
    const [finished, started, failed] = await Promise.all([client.hlen(keys.results), client.hlen(keys.attempts), client.hlen(keys.errors)]);
    if (failed > 0) {
      const errors = await client.hgetall(keys.errors);
      const [index, message] = Object.entries(errors).sort((a, b) => Number(a[0]) - Number(b[0]))[0]!;
      throw new DistributedError(`task ${index} of ${total} (${opts.kind}) failed on a worker: ${message}`, 'the worker\'s log has the details; a task that fails is not retried (the same task fails the same way)', 'TASK_FAILED');
    }
    opts.onProgress?.(finished, started, total);
    if (finished >= total) return;
    const state = `${finished}/${started}`;
    if (state !== last) {
      last = state;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > timeoutMs && (await queue.getWorkersCount()) === 0) {
      const what = started === 0 ? 'no worker took any task' : `no worker is connected any more (${finished} of ${total} tasks finished)`;
      throw new DistributedError(`${what} within ${Math.round(timeoutMs / 1000)} s on the queue at ${queueRedis(opts.url).redacted}`, `start one on this or any machine that reaches that Redis: twin worker ${queueRedis(opts.url).redacted} (or wait longer with --worker-timeout)`, 'NO_WORKER');
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function readResults<R>(client: Redis, key: string, total: number): Promise<R[]> {
  const results: R[] = [];
  const chunk = 500;
  for (let from = 0; from < total; from += chunk) {
    const fields = Array.from({ length: Math.min(chunk, total - from) }, (_, i) => String(from + i));
    const values = await client.hmget(key, ...fields);
    values.forEach((v, i) => {
      if (v === null) throw new Error(`result ${from + i} missing after every result was counted`);
      results.push(JSON.parse(v) as R);
    });
  }
  return results;
}

/** Removes the run's jobs that no worker holds (a failed or abandoned run): workers do not waste time on them. */
async function removeWaiting(queue: Queue, runId: string, total: number): Promise<void> {
  for (let index = 0; index < total; index++) {
    const job = await queue.getJob(jobId(runId, index));
    if (job !== undefined && (await job.isWaiting())) await job.remove().catch(() => undefined);
  }
}
