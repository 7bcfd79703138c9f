/**
 * An operating or input error of the distributed queue (a bad or unreachable Redis URL, no worker, a task that
 * failed on a worker): what happened, naming the URL or the task, and a hint. The CLI prints both and exits 2.
 */
export class DistributedError extends Error {
  override readonly name = 'DistributedError';
  constructor(
    message: string,
    readonly hint: string,
    readonly code: 'BAD_URL' | 'UNREACHABLE' | 'NO_WORKER' | 'TASK_FAILED' | 'LIMIT' | 'UNKNOWN_KIND',
  ) {
    super(message);
  }
}
