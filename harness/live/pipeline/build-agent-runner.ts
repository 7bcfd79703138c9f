import type { RunningTask, TaskContext, TaskRunner } from '../../nomad/task-runner.ts';
import { REASONS } from '../../../sim/domain/fates.ts';
import { requestJson } from './http-util.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';

export interface BuildAgentRunnerOptions {
  /** output-processor's base URL, read when an allocation starts (so it may be set after the Nomad API started). */
  outputProcessorUrl: () => string;
  /** From placement to running; default 20 ms. */
  startDelayMs?: number;
  /** Output lines per allocation; default 3. */
  lines?: number;
  /** Virtual ms per wall ms: `Meta.duration_ms` is the scenario's time and runs `duration_ms / timeScale`; default 1. */
  timeScale?: number;
  /** vm-service's base URL, for builds whose `Meta.vm` asks for an instance (machine, remote Docker). */
  vmServiceUrl?: () => string | undefined;
}

/**
 * The Nomad clients' build-agent: when an allocation starts it POSTs `start`, a few output lines, and after
 * `Meta.duration_ms` `finish` to output-processor, then finishes the allocation. Unreachable output-processor:
 * the calls are lost (v0), the allocation still completes.
 *
 * A partition between the clients and the Services machine (`setPartitioned`), or one client's Nomad agent down
 * (`setAgentDown`): the client cannot fetch new allocations, so they start once it is reachable again; a build
 * agent that ends meanwhile holds its end report (and the allocation's end) and sends it then, as it does when a
 * report sent during a partition got no answer. An allocation the server declared lost meanwhile is stopped
 * first: it sends nothing. A terminated instance (`terminate`) takes its build agents with it, silently.
 */
export class BuildAgentRunner implements TaskRunner {
  posts = 0;
  postFailures = 0;
  /** Allocations between start and finish now, and the most at once. */
  running = 0;
  peakRunning = 0;
  /** Allocations that ran to their end. */
  completed = 0;
  /** Starts and end reports held back by a partition or a client's agent being down. */
  heldReports = 0;
  private partitioned = false;
  /** The time the agents' stderr lines print (`YYYY-MM-DDTHH:MM:SS`) for an epoch instant: the wall's until `useLogClock`. */
  private isoTime: (epochMs: number) => string = (epochMs) => new Date(epochMs).toISOString().slice(0, 19);
  /** Counts partitions: a report sent before one and failed after it began is held, not lost. */
  private partitions = 0;
  private held: { nodeId: string; send: () => void }[] = [];
  /** Clients whose Nomad agent is down, and instances terminated. */
  private readonly agentDown = new Set<string>();
  private readonly terminated = new Set<string>();
  /** How to end each client's running build agents at once (its instance is terminated). */
  private readonly tasksByNode = new Map<string, Set<() => void>>();
  /** The build each running build agent streams the output of, by allocation. */
  private readonly streaming = new Map<string, number>();
  /** Builds whose output stream a partition cut while they ran: the live output of their running steps is lost. */
  readonly interrupted = new Set<number>();

  constructor(private readonly opts: BuildAgentRunnerOptions) {}

  /** The clock the agents' stderr lines print (a drill installation's, as the services' logs: `LiveStack.useLogClock`). */
  useLogClock(isoTime: (epochMs: number) => string): void {
    this.isoTime = isoTime;
  }

  /** The clients lose (or regain) the network to the Services machine; on heal what was held goes out. */
  setPartitioned(on: boolean): void {
    if (on === this.partitioned) return;
    this.partitioned = on;
    if (!on) return this.release();
    this.partitions++;
    for (const build of this.streaming.values()) this.interrupted.add(build);
  }

  /** A client's Nomad agent stops (its tasks run on, reporting nothing) or is back (it sends what it held). */
  setAgentDown(nodeId: string, down: boolean): void {
    if (down) this.agentDown.add(nodeId);
    else if (this.agentDown.delete(nodeId)) this.release();
  }

  /** A client's instance is terminated: its build agents die without a word, and nothing starts on it again. */
  terminate(nodeId: string): void {
    this.terminated.add(nodeId);
    for (const kill of [...(this.tasksByNode.get(nodeId) ?? [])]) kill();
    this.tasksByNode.delete(nodeId);
  }

  private unreachable(nodeId: string): boolean {
    return this.partitioned || this.agentDown.has(nodeId);
  }

  /** Sends what was held by clients that are reachable again. */
  private release(): void {
    const ready = this.held.filter((h) => !this.unreachable(h.nodeId));
    this.held = this.held.filter((h) => this.unreachable(h.nodeId));
    for (const h of ready) h.send();
  }

  /** Runs `send` now, or once the client can reach the Services machine again. */
  private whenConnected(nodeId: string, send: () => void): void {
    if (!this.unreachable(nodeId)) return send();
    this.heldReports++;
    this.held.push({ nodeId, send });
  }

  /** An instance from vm-service, or why there is none (the simulation's reason when vm-service is down). */
  private async acquireVm(kind: 'machine' | 'remote_docker', buildId: number): Promise<{ instanceId?: string; reason?: string }> {
    const what = kind === 'machine' ? 'machine' : 'remote Docker';
    const base = this.opts.vmServiceUrl?.();
    if (base === undefined) return { reason: `no vm-service: no ${what} instance` };
    try {
      const res = await requestJson('POST', `${base}/vms`, { kind, build_id: buildId }, 30_000);
      const body = (res.body ?? {}) as { instanceId?: string; error?: string };
      if (ok(res.status) && body.instanceId !== undefined) return { instanceId: body.instanceId };
      return { reason: `vm-service could not provide a ${what} instance: ${body.error ?? res.status}` };
    } catch {
      return { reason: REASONS.noVmInstance('vm-service', kind) };
    }
  }

  private async releaseVm(instanceId: string): Promise<void> {
    const base = this.opts.vmServiceUrl?.();
    if (base === undefined) return;
    await requestJson('DELETE', `${base}/vms/${instanceId}`, undefined, 5_000).catch(() => undefined);
  }

  /** POSTs to output-processor; true when it answered 2xx. */
  /** Wall ms of each POST by kind (start, output, finish), kept only with TWIN_LOOP_PROBE: a profiling aid. */
  readonly postMs: Record<string, number[]> | undefined = process.env['TWIN_LOOP_PROBE'] ? {} : undefined;
  private async post(path: string, body: unknown, unreachable?: () => void): Promise<boolean> {
    this.posts++;
    const t0 = performance.now();
    const kind = path.split('/').pop()!;
    try {
      const res = await requestJson('POST', `${this.opts.outputProcessorUrl()}${path}`, body, 5_000);
      if (this.postMs) (this.postMs[kind] ??= []).push(performance.now() - t0);
      if (!ok(res.status)) this.postFailures++;
      return ok(res.status);
    } catch {
      this.postFailures++;
      unreachable?.();
      return false;
    }
  }

  start(ctx: TaskContext): RunningTask {
    const { alloc } = ctx;
    const buildId = alloc.meta.build_id;
    // Each container is its own job (schedulerer's `buildJobs`) carrying its own drawn duration.
    const duration = Number(alloc.meta.duration_ms ?? 1000);
    const parallelism = Number(alloc.meta.parallelism ?? 1);
    // The container's index: schedulerer runs each container of a parallel build as its own job (Meta.parallel_index).
    const index = Number(alloc.meta.parallel_index ?? alloc.taskIndex);
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
    // `nomad logs -stderr <alloc>`: each call output-processor (port 8585) did not answer is the seeds' gRPC warning.
    const unreachable = () => ctx.log?.('stderr', `${LOG_LINES.grpcUnavailable(this.isoTime(Date.now()))}\n`);
    let counted = false;
    const uncount = () => {
      if (counted) this.running--;
      counted = false;
    };
    // What the build stores besides its output: the artifacts and test results of its config.
    const stores = { artifacts: Number(alloc.meta.artifacts ?? 0), testResults: alloc.meta.test_results === 'true' };
    const vm = alloc.meta.vm as 'machine' | 'remote_docker' | undefined;
    let instanceId: string | undefined;
    /** An infrastructure failure of this container (no instance from vm-service): the build fails with it. */
    let infraFailure: string | undefined;
    const finish = async (): Promise<void> => {
      if (stopped) return;
      // The instance is never reused: vm-service terminates it.
      if (instanceId !== undefined) void this.releaseVm(instanceId);
      instanceId = undefined;
      const partitions = this.partitions;
      const outcome = infraFailure !== undefined ? { failed: true, reason: infraFailure } : failed ? { failed: true } : {};
      const ok = await this.post(`/builds/${buildId}/finish`, { alloc: alloc.allocId, index, parallelism, ...stores, ...outcome }, unreachable);
      // No answer because the network went away: sent again once it is back.
      if (!ok && (this.partitioned || this.partitions !== partitions)) return this.whenConnected(alloc.nodeId, () => void finish());
      uncount();
      if (stopped) return;
      this.streaming.delete(alloc.allocId);
      this.completed++;
      // A red test fails the build, not the allocation: build-agent itself ended normally.
      ctx.finish('complete');
    };
    const node = alloc.nodeId;
    // Placed on an instance that is gone: nothing runs it (the server finds out past the heartbeat timeout).
    if (this.terminated.has(node)) return { stop: () => undefined };
    const placedAt = performance.now();
    later(this.opts.startDelayMs ?? 20, () =>
      this.whenConnected(node, () => {
        if (stopped) return;
        void (async () => {
          ctx.markRunning();
          counted = true;
          if (buildId !== undefined) this.streaming.set(alloc.allocId, Number(buildId));
          if (++this.running > this.peakRunning) this.peakRunning = this.running;
          if (buildId === undefined) return ctx.finish('failed', 'Meta.build_id missing');
          await this.post(`/builds/${buildId}/start`, { alloc: alloc.allocId, index }, unreachable);
          if (this.postMs) (this.postMs['placed→started'] ??= []).push(performance.now() - placedAt);
          const n = this.opts.lines ?? 3;
          const lines = Array.from({ length: n }, (_, i) => `[${index}] step ${i + 1} on ${alloc.nodeName}`);
          ctx.log?.('stdout', lines.map((l) => `${l}\n`).join(''));
          await this.post(`/builds/${buildId}/output`, { lines }, unreachable);
          if (vm !== undefined) {
            const got = await this.acquireVm(vm, Number(buildId));
            if (stopped) return void (got.instanceId !== undefined && this.releaseVm(got.instanceId));
            if (got.instanceId === undefined) {
              infraFailure = got.reason;
              return this.whenConnected(node, () => void finish());
            }
            instanceId = got.instanceId;
          }
          later((Number.isFinite(duration) ? duration : 1000) / scale, () => this.whenConnected(node, () => void finish()));
        })();
      }),
    );
    const stop = () => {
      this.streaming.delete(alloc.allocId);
      uncount();
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      this.tasksByNode.get(node)?.delete(stop);
    };
    const onNode = this.tasksByNode.get(node) ?? new Set();
    onNode.add(stop);
    this.tasksByNode.set(node, onNode);
    return { stop };
  }
}

function ok(status: number): boolean {
  return status >= 200 && status < 300;
}
