import { startWorker } from '../../distributed/worker.ts';
import type { CommandIo } from './conformance.ts';

export interface WorkerArgs {
  /** The Redis URL (the one positional argument). */
  files: string[];
  concurrency?: number | undefined;
  once: boolean;
  stallTimeoutS?: number | undefined;
}

/** A signal source; process by default, injectable for tests. */
export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', handler: () => void): unknown;
  off(signal: 'SIGINT' | 'SIGTERM', handler: () => void): unknown;
}

/**
 * `twin worker <redis-url> [--concurrency N] [--once] [--stall-timeout S]`: runs queued tasks until SIGINT or
 * SIGTERM (the first lets running tasks finish, a second releases them to the queue) or, with --once, until the
 * queue is empty. Exit 0 once stopped; a bad or unreachable URL throws a DistributedError (exit 2).
 */
export async function workerCommand(args: WorkerArgs, io: CommandIo, signals: SignalSource = process): Promise<number> {
  const log = (line: string) => io.stderr.write(`twin worker: ${line}\n`);
  const worker = await startWorker({
    url: args.files[0]!,
    once: args.once,
    log,
    ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
    ...(args.stallTimeoutS === undefined ? {} : { stallTimeoutS: args.stallTimeoutS }),
  });
  let signalled = 0;
  const onSignal = () => {
    signalled++;
    if (signalled === 1) {
      log('stopping: the running tasks finish first (signal again to put them back in the queue now)');
      void worker.stop(true);
    } else {
      log('stopping now: the running tasks go back to the queue');
      void worker.stop(false);
    }
  };
  signals.on('SIGINT', onSignal);
  signals.on('SIGTERM', onSignal);
  try {
    await worker.stopped;
  } finally {
    signals.off('SIGINT', onSignal);
    signals.off('SIGTERM', onSignal);
  }
  log(`stopped after ${worker.finished()} task${worker.finished() === 1 ? '' : 's'}`);
  return 0;
}
