/**
 * Where the twin's distributed work lives in Redis. BullMQ holds the jobs (queue QUEUE_NAME under QUEUE_PREFIX);
 * the twin's own hashes, one set per run, hold what each task gave, keyed by its index, so a task run twice (a
 * worker killed mid-task, a lock lost) is counted once: the first result written wins (HSETNX).
 */
export const QUEUE_PREFIX = 'twin';
export const QUEUE_NAME = 'tasks';

/** How long a run's hashes outlive their last write when nobody collects them (a submitter that was interrupted). */
export const RUN_KEYS_TTL_S = 24 * 3600;

export function runKeys(runId: string): { results: string; errors: string; attempts: string } {
  const base = `${QUEUE_PREFIX}:run:${runId}`;
  return { results: `${base}:results`, errors: `${base}:errors`, attempts: `${base}:attempts` };
}

/** The idempotency key of a task: BullMQ refuses a second job with the same id, so a re-submitted task is not queued twice. */
export function jobId(runId: string, index: number): string {
  return `${runId}-${index}`;
}

/** What a queued job carries: its run, its index in the run (the order of the results), and the task itself. */
export interface JobData {
  runId: string;
  index: number;
  task: unknown;
}
