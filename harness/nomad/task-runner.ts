/**
 * The simulated Nomad clients' task execution: what happens to an allocation once the scheduler placed it.
 *
 * The Nomad API calls `TaskRunner.start` for every placed allocation; the runner reports the client's view
 * back through its `TaskContext` (started, finished) and is told to stop when the server stops or loses the
 * allocation. The default runner only waits; the live pipeline injects one whose build-agent tasks stream
 * their step output to output-processor.
 */
import type { EventHandle, Scheduler } from '../../sim/engine/simulation.ts';
import type { ApiTask } from './shapes.ts';

/** What a runner knows about the allocation it runs. */
export interface AllocationInfo {
  readonly allocId: string;
  readonly jobId: string;
  readonly taskGroup: string;
  /** CircleCI's parallel container index. */
  readonly taskIndex: number;
  readonly nodeId: string;
  readonly nodeName: string;
  readonly tasks: readonly ApiTask[];
  /** Job, group and task `Meta`, merged (inner wins). */
  readonly meta: Readonly<Record<string, string>>;
}

/** The runner's line back to the server. Calls after the allocation became terminal are ignored. */
export interface TaskContext {
  readonly alloc: AllocationInfo;
  /** The API's clock: timestamps and simulated durations run on it. */
  readonly clock: Scheduler;
  /** The tasks started (client status pending → running). */
  markRunning(): void;
  /** The tasks ended; `failed` marks the allocation failed. */
  finish(outcome: 'complete' | 'failed', message?: string): void;
  /** Records a task event (Nomad's `TaskEvent`), e.g. `Driver` / "Downloading image". */
  event(type: string, message: string): void;
  /**
   * Appends task output (`nomad alloc logs` shows it); `task` defaults to the group's first task. Optional so
   * that a hand-made context in a runner's unit test needs none; the Nomad API's contexts always have it.
   */
  log?(stream: 'stdout' | 'stderr', text: string, task?: string): void;
}

/** Why the server stopped an allocation's tasks. */
export type TaskStopReason = 'stopped' | 'lost' | 'wiped' | 'shutdown';

/** A started allocation, as the runner hands it back. */
export interface RunningTask {
  /** The server no longer wants it (job stopped, node down, state wiped, API shut down); idempotent. */
  stop(reason: TaskStopReason): void;
}

export interface TaskRunner {
  start(ctx: TaskContext): RunningTask;
}

/** Options of the default runner; the job's `Meta` may override them per job. */
export interface SimulatedTaskRunnerOptions {
  /** From placement to running (image pull, container start); default 50 ms. */
  startDelayMs?: number;
  /** Running time when the job's Meta has no `duration_ms`; default 1000 ms. */
  defaultDurationMs?: number;
}

/** Meta keys the default runner reads. */
export const META_DURATION_MS = 'duration_ms';
export const META_START_DELAY_MS = 'start_delay_ms';
export const META_OUTCOME = 'outcome';
/** Output the default runner writes when the task starts (`nomad alloc logs`, `nomad alloc logs -stderr`). */
export const META_STDOUT = 'stdout';
export const META_STDERR = 'stderr';

function readMs(meta: Readonly<Record<string, string>>, key: string, fallback: number): number | string {
  const v = meta[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) return `Meta.${key} must be a non-negative number of ms, got "${v}"`;
  return n;
}

/**
 * The default runner: marks the allocation running after a start delay (writing `Meta.stdout` and
 * `Meta.stderr` as the task's output), then finishes it after the job's
 * `Meta.duration_ms` (or the default), as `complete` unless `Meta.outcome` is `failed`. A job whose Meta
 * cannot be read fails at once with the reason as a task event.
 */
export class SimulatedTaskRunner implements TaskRunner {
  readonly startDelayMs: number;
  readonly defaultDurationMs: number;

  constructor(opts: SimulatedTaskRunnerOptions = {}) {
    this.startDelayMs = opts.startDelayMs ?? 50;
    this.defaultDurationMs = opts.defaultDurationMs ?? 1000;
    if (!(this.startDelayMs >= 0) || !(this.defaultDurationMs >= 0)) throw new RangeError('delays must be non-negative');
  }

  start(ctx: TaskContext): RunningTask {
    const { clock, alloc } = ctx;
    const startDelay = readMs(alloc.meta, META_START_DELAY_MS, this.startDelayMs);
    const duration = readMs(alloc.meta, META_DURATION_MS, this.defaultDurationMs);
    const outcome = alloc.meta[META_OUTCOME] === 'failed' ? 'failed' : 'complete';
    let timer: EventHandle | null = null;
    let stopped = false;
    if (typeof startDelay === 'string' || typeof duration === 'string') {
      const reason = typeof startDelay === 'string' ? startDelay : (duration as string);
      timer = clock.schedule(0, () => {
        timer = null;
        ctx.event('Driver Failure', reason);
        ctx.finish('failed', reason);
      });
    } else {
      timer = clock.schedule(Math.round(startDelay), () => {
        if (stopped) return;
        ctx.markRunning();
        const out = alloc.meta[META_STDOUT];
        const err = alloc.meta[META_STDERR];
        if (out !== undefined) ctx.log?.('stdout', out);
        if (err !== undefined) ctx.log?.('stderr', err);
        timer = clock.schedule(Math.round(duration), () => {
          timer = null;
          if (!stopped) ctx.finish(outcome, outcome === 'failed' ? 'Meta.outcome is failed' : undefined);
        });
      });
    }
    return {
      stop: () => {
        stopped = true;
        if (timer !== null) clock.cancel(timer);
        timer = null;
      },
    };
  }
}
