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
 *
 * A partition between the clients and the Services machine (`setPartitioned`): a client cannot fetch new
 * allocations, so they start once the network is back; a build agent that ends meanwhile holds its end report
 * (and the allocation's end) and sends it once the network is back, as it does when a report sent during the
 * partition got no answer. An allocation the server declared lost meanwhile is stopped first: it sends nothing.
 */
export class BuildAgentRunner implements TaskRunner {
  posts = 0;
  postFailures = 0;
  /** Allocations between start and finish now, and the most at once. */
  running = 0;
  peakRunning = 0;
  /** Allocations that ran to their end. */
  completed = 0;
  /** Starts and end reports held back by a partition. */
  heldReports = 0;
  private partitioned = false;
  /** Counts partitions: a report sent before one and failed after it began is held, not lost. */
  private partitions = 0;
  private held: (() => void)[] = [];

  constructor(private readonly opts: BuildAgentRunnerOptions) {}

  /** The clients lose (or regain) the network to the Services machine; on heal what was held goes out. */
  setPartitioned(on: boolean): void {
    if (on === this.partitioned) return;
    this.partitioned = on;
    if (on) {
      this.partitions++;
      return;
    }
    const held = this.held;
    this.held = [];
    for (const send of held) send();
  }

  /** Runs `fn` now, or once the partition heals. */
  private whenConnected(fn: () => void): void {
    if (!this.partitioned) return fn();
    this.heldReports++;
    this.held.push(fn);
  }

  /** POSTs to output-processor; true when it answered 2xx. */
  private async post(path: string, body: unknown): Promise<boolean> {
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
      return res.ok;
    } catch {
      this.postFailures++;
      return false;
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
    // What the build stores besides its output: the artifacts and test results of its config.
    const stores = { artifacts: Number(alloc.meta.artifacts ?? 0), testResults: alloc.meta.test_results === 'true' };
    const finish = async (): Promise<void> => {
      if (stopped) return;
      const partitions = this.partitions;
      const ok = await this.post(`/builds/${buildId}/finish`, { alloc: alloc.allocId, index: alloc.taskIndex, parallelism, ...stores, ...(failed ? { failed: true } : {}) });
      // No answer because the network went away: sent again once it is back.
      if (!ok && (this.partitioned || this.partitions !== partitions)) return this.whenConnected(() => void finish());
      uncount();
      if (stopped) return;
      this.completed++;
      // A red test fails the build, not the allocation: build-agent itself ended normally.
      ctx.finish('complete');
    };
    later(this.opts.startDelayMs ?? 20, () =>
      this.whenConnected(() => {
        if (stopped) return;
        void (async () => {
          ctx.markRunning();
          counted = true;
          if (++this.running > this.peakRunning) this.peakRunning = this.running;
          if (buildId === undefined) return ctx.finish('failed', 'Meta.build_id missing');
          await this.post(`/builds/${buildId}/start`, { alloc: alloc.allocId, index: alloc.taskIndex });
          const n = this.opts.lines ?? 3;
          const lines = Array.from({ length: n }, (_, i) => `[${alloc.taskIndex}] step ${i + 1} on ${alloc.nodeName}`);
          await this.post(`/builds/${buildId}/output`, { lines });
          later((Number.isFinite(duration) ? duration : 1000) / scale, () => this.whenConnected(() => void finish()));
        })();
      }),
    );
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
