/**
 * Bounds and defaults of the queue's settings, apart from the modules that load BullMQ so that the CLI's argument
 * parser can check them without loading it.
 */
export const WORKER_LIMITS = {
  /** `twin worker --concurrency`: tasks at once, each in a thread. */
  maxConcurrency: 64,
  /** `--stall-timeout`, seconds: how long a task's lock lasts without renewal before another worker retries it. */
  minStallTimeoutS: 1,
  maxStallTimeoutS: 3_600,
  /** Times a task may be found stalled (its worker gone) and put back before BullMQ fails it. */
  maxStalledCount: 5,
  /** `--worker-timeout`, seconds. */
  maxWorkerTimeoutS: 86_400,
} as const;

export const DEFAULT_STALL_TIMEOUT_S = 30;
