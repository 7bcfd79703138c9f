import type { RunningTask, TaskContext, TaskRunner } from '../../nomad/task-runner.ts';

export interface BuildAgentRunnerOptions {
  /** output-processor's base URL, read when an allocation starts (so it may be set after the Nomad API started). */
  outputProcessorUrl: () => string;
  /** From placement to running; default 20 ms. */
  startDelayMs?: number;
  /** Output lines per allocation; default 3. */
  lines?: number;
  /** Virtual ms per wall ms: `Meta.duration_ms` is the scenario's time and runs `duration_ms / timeScale`; default 1. */
  timeScale?: number;
}

/**
 * The Nomad clients' build-agent: when an allocation starts it POSTs `start`, a few output lines, and after
 * `Meta.duration_ms` `finish` to output-processor, then finishes the allocation. Unreachable output-processor:
 * the calls are lost (v0), the allocation still completes.
 */
export class BuildAgentRunner implements TaskRunner {
  posts = 0;
  postFailures = 0;
  /** Allocations between start and finish now, and the most at once. */
  running = 0;
  peakRunning = 0;
  /** Allocations that ran to their end. */
  completed = 0;

  constructor(private readonly opts: BuildAgentRunnerOptions) {}

  private async post(path: string, body: unknown): Promise<void> {
    this.posts++;
    try {
      const res = await fetch(`${this.opts.outputProcessorUrl()}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      await res.text();
      if (!res.ok) this.postFailures++;
    } catch {
      this.postFailures++;
    }
  }

  start(ctx: TaskContext): RunningTask {
    const { alloc } = ctx;
    const buildId = alloc.meta.build_id;
    const duration = Number(alloc.meta.duration_ms ?? 1000);
    const parallelism = Number(alloc.meta.parallelism ?? 1);
    const failed = alloc.meta.fails === 'true';
    const scale = this.opts.timeScale ?? 1;
    const timers = new Set<NodeJS.Timeout>();
    let stopped = false;
    const later = (ms: number, fn: () => void | Promise<void>) => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) void fn();
      }, ms);
      timers.add(t);
    };
    let counted = false;
    const uncount = () => {
      if (counted) this.running--;
      counted = false;
    };
    later(this.opts.startDelayMs ?? 20, async () => {
      ctx.markRunning();
      counted = true;
      if (++this.running > this.peakRunning) this.peakRunning = this.running;
      if (buildId === undefined) return ctx.finish('failed', 'Meta.build_id missing');
      await this.post(`/builds/${buildId}/start`, { alloc: alloc.allocId, index: alloc.taskIndex });
      const n = this.opts.lines ?? 3;
      const lines = Array.from({ length: n }, (_, i) => `[${alloc.taskIndex}] step ${i + 1} on ${alloc.nodeName}`);
      await this.post(`/builds/${buildId}/output`, { lines });
      later((Number.isFinite(duration) ? duration : 1000) / scale, async () => {
        // What the build stores besides its output: the artifacts and test results of its config.
        const stores = { artifacts: Number(alloc.meta.artifacts ?? 0), testResults: alloc.meta.test_results === 'true' };
        await this.post(`/builds/${buildId}/finish`, { alloc: alloc.allocId, index: alloc.taskIndex, parallelism, ...stores, ...(failed ? { failed: true } : {}) });
        uncount();
        // A red test fails the build, not the allocation: build-agent itself ended normally.
        if (!stopped) ctx.finish('complete');
      });
    });
    return {
      stop: () => {
        uncount();
        stopped = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
      },
    };
  }
}
