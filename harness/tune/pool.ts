import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { liveBundleModule } from '../cli/runtime.ts';
import { ScenarioError, type ScenarioIssue } from '../../sim/scenario/parse.ts';
import { runTuneCell, type TuneCellResult, type TuneCellTask } from './cell.ts';
import type { PoolError, PoolReply } from './pool-messages.ts';

/** Plain JavaScript that registers the TypeScript loader in the worker, then imports `tune-worker.ts`. */
const ENTRY = new URL('./tune-worker-boot.mjs', import.meta.url);

/**
 * The worker's module: prebuilt (`dist/live/tune-worker.mjs`) when the CLI runs from its bundle and the live bundle is
 * current, so no thread compiles the model's sources; else the sources through tsx.
 */
function workerEntry(): URL {
  const prebuilt = liveBundleModule('tune-worker');
  return prebuilt === undefined ? ENTRY : pathToFileURL(prebuilt);
}

/** Most worker threads of one pool (the machine's cores are the default). */
export const MAX_JOBS = 64;

/** Worker threads by default: one per core the process may use. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(MAX_JOBS, availableParallelism()));
}

export interface PoolOptions {
  /** Worker threads; 1 runs every task in this thread, one after the other. */
  jobs: number;
  /** Called as each task finishes, in finishing order. */
  onResult?: (result: TuneCellResult, done: number, total: number) => void;
}

/** An error thrown in a worker, rebuilt in the parent: a ScenarioError keeps its issues; others their name and hint. */
function rebuild(e: PoolError): Error {
  if (e.issues !== undefined) return new ScenarioError(e.issues as ScenarioIssue[]);
  const err = new Error(e.message) as Error & { hint?: string };
  err.name = e.name;
  if (e.hint !== undefined) err.hint = e.hint;
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/**
 * Runs every task and returns the results in the tasks' order, whichever finished first. With `jobs` > 1 the tasks
 * are shared among that many worker threads, each taking the next task when it finishes one; the first error
 * stops the pool (every worker is terminated) and is thrown. Each result depends only on its task.
 */
export async function runTasks(tasks: readonly TuneCellTask[], opts: PoolOptions): Promise<TuneCellResult[]> {
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1 || opts.jobs > MAX_JOBS) throw new RangeError(`jobs must be 1 to ${MAX_JOBS}, got ${opts.jobs}`);
  const results: TuneCellResult[] = new Array<TuneCellResult>(tasks.length);
  let done = 0;
  const finish = (i: number, r: TuneCellResult) => {
    results[i] = r;
    done++;
    opts.onResult?.(r, done, tasks.length);
  };
  const jobs = Math.min(opts.jobs, tasks.length);
  if (jobs <= 1) {
    for (let i = 0; i < tasks.length; i++) finish(i, await runTuneCell(tasks[i]!));
    return results;
  }
  const workers: Worker[] = [];
  const entry = workerEntry();
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      let next = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        rejectAll(e);
      };
      /** Hands the worker the next task; returns its number, or undefined when none is left. */
      const give = (w: Worker): number | undefined => {
        if (failed || next >= tasks.length) return undefined;
        const id = next++;
        w.postMessage({ id, task: tasks[id] });
        return id;
      };
      for (let k = 0; k < jobs; k++) {
        const w = new Worker(entry);
        workers.push(w);
        let running: number | undefined;
        w.on('message', (msg: PoolReply | { ready: true }) => {
          if ('ready' in msg) {
            running = give(w);
            return;
          }
          running = undefined;
          if ('error' in msg) return fail(rebuild(msg.error));
          finish(msg.id, msg.result);
          if (done === tasks.length) return resolveAll();
          running = give(w);
        });
        w.on('error', (e) => fail(new Error(`a tune worker thread failed${running !== undefined ? ` running task ${running}` : ''}: ${e.message}`)));
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`a tune worker thread exited with code ${code}${running !== undefined ? ` while running task ${running}` : ''}`));
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
