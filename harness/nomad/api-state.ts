/**
 * The Nomad server behind the twin's HTTP API: the simulation's `NomadScheduler`, plus the plumbing a real
 * server adds around its scheduler and that the HTTP API exposes.
 *
 *     HTTP write ─► tx(fn) ─► NomadScheduler call ─► Change ─► absorb: stop runners of lost/stopped allocations,
 *                    │                                         finish drains, continue unblocking (bounded)
 *                    └─► stamp: one raft-like index for everything the call changed (jobs, summaries,
 *                        allocations, evaluations, nodes), table indexes, new allocation records
 *                        ─► notify blocking queries ─► start the task runner of each new allocation
 *     task runner ─► markRunning / finish ─► tx(...) as above
 *
 * Nothing here decides where a task runs or whether a job waits: that is the scheduler's (shared with the
 * simulation). This module only remembers what Nomad's state store remembers besides it (indexes, times,
 * the job as submitted, drain metadata, task events) and turns queries into Nomad's JSON (`shapes.ts`).
 */
import { Rng } from '../../sim/engine/rng.ts';
import type { EventHandle, Scheduler } from '../../sim/engine/simulation.ts';
import {
  DEFAULT_DATACENTER,
  DEFAULT_NODE_CLASS,
  NomadScheduler,
  type AllocView,
  type Change,
  type JobView,
  type NodeStatus,
} from '../../sim/models/nomad/index.ts';
import { ID_EVAL, nomadId, type EvalView } from '../../sim/models/nomad/cluster-state.ts';
import { NomadHttpError, parseJobRegistration } from './job-spec.ts';
import {
  MAX_RETAINED_NODE_EVENTS,
  isDraining,
  milliToMhz,
  taskGroupOf,
  toAllocStub,
  toAllocation,
  toEvaluation,
  toJob,
  toJobStub,
  toJobSummary,
  toNode,
  toNodeStub,
  type AllocListStubJson,
  type ApiJob,
  type AllocMeta,
  type AllocationJson,
  type DrainStrategyMeta,
  type EvalMeta,
  type EvaluationJson,
  type JobJson,
  type JobListStubJson,
  type JobMeta,
  type JobSummaryJson,
  type NodeEventMeta,
  type NodeJson,
  type NodeListStubJson,
  type NodeMeta,
  type NodeUpdateResponseJson,
} from './shapes.ts';
import type { AllocationInfo, RunningTask, TaskContext, TaskRunner, TaskStopReason } from './task-runner.ts';

/** A simulated Nomad client: its name and machine size (the reservation is taken off by the scheduler). */
export interface ClientSpec {
  name: string;
  cpus: number;
  memoryGb: number;
  datacenter?: string;
  nodeClass?: string;
}

/** Settled options of the state (the builder in `server.ts` applies the defaults). */
export interface NomadApiStateSettings {
  seed: number;
  clients: readonly ClientSpec[];
  clock: Scheduler;
  runner: TaskRunner;
  version: string;
  reservedCpuMilli: number;
  reservedMemoryMb: number;
  /** Where the simulated clients' HTTP API answers (the server's own listener; set once it listens). */
  clientHttpAddr?: string;
  /**
   * A scheduler the state mirrors instead of making its own (a training drill's simulation): `adopt()` gives its
   * nodes, jobs, allocations and evaluations records; the simulation, not the API, moves it on.
   */
  scheduler?: NomadScheduler;
}

/** Bytes of each task's stdout and stderr kept per allocation (the tail; Nomad's default log config keeps 10 x 10 MB). */
export const MAX_TASK_LOG_BYTES = 1024 * 1024;
/** Matches per context a prefix search returns (Nomad's `truncateLimit`). */
export const SEARCH_TRUNCATE_LIMIT = 20;
/** What `/v1/search` can look in (Nomad's `structs.Context`, open-source contexts). */
export const SEARCH_CONTEXTS = ['allocs', 'jobs', 'nodes', 'evals', 'deployment'] as const;
export type SearchContext = (typeof SEARCH_CONTEXTS)[number];
export type TaskLogStream = 'stdout' | 'stderr';

/** A query's answer: the index the result reflects (for `X-Nomad-Index` and blocking) and the body, if found. */
export interface QueryResult<T> {
  index: number;
  body: T | undefined;
}

/** What a drain request asks, in either of its forms. */
export interface DrainRequest {
  enable: boolean;
  /** `legacy`: `?enable=` (Nomad ≤ 0.7), the drain stays on until disabled; `spec`: a `DrainSpec` body (≥ 0.8). */
  form: 'legacy' | 'spec';
  deadlineNs?: number;
  ignoreSystemJobs?: boolean;
  /** When disabling a `spec` drain: make the node eligible again. */
  markEligible?: boolean;
}

/** Evaluations of unknown jobs' deregistrations kept until a GC (a bound: each DELETE of an unknown id adds one). */
export const MAX_ORPHAN_EVALS = 10_000;
/** Their ids' serials start here, far above the scheduler's own evaluations'. */
const ORPHAN_EVAL_SERIAL_BASE = 0xc0000000;
/** Nomad's default job priority (an unknown job's deregistration evaluation has it). */
const DEFAULT_JOB_PRIORITY = 50;
/** A mirrored scheduler's job as schedulerer submits one: one `build` task of the job's resources (MHz, MB). */
function mirroredJob(j: JobView): Record<string, unknown> {
  return {
    ID: j.id,
    Name: j.id,
    Type: 'batch',
    Priority: j.priority,
    Datacenters: [j.datacenter ?? DEFAULT_DATACENTER],
    ...(j.nodeClass === null ? {} : { Constraints: [{ LTarget: '${node.class}', RTarget: j.nodeClass, Operand: '=' }] }),
    TaskGroups: [{ Name: 'build', Count: j.count, Tasks: [{ Name: 'build', Driver: 'docker', Config: { image: 'circleci/picard' }, Resources: { CPU: milliToMhz(j.cpuMilli), MemoryMB: j.memoryMb } }] }],
  };
}

/** Bound on `retryBlocked()` rounds one call may run after a change that left unblocking work. */
const MAX_UNBLOCK_ROUNDS = 10_000;

/**
 * The steps of a force drain (or a drain whose deadline passed) as 0.9.3's servers and client take them, at
 * separate indexes so `nomad node-drain`'s monitor sees each: the drainer marks the node's allocations for
 * migration (`DesiredTransition.Migrate`), the node-drain evaluation stops them (`DesiredStatus` stop, "alloc is
 * being migrated"), then the client reports each one complete, one index each. Delays in model ms. Measured on a
 * real 0.9.3 dev agent running two raw_exec allocations (by its timestamps: drain set 05:17:55.128, node drain
 * complete 56.179, tasks killed 56.237, client status complete 56.496): about 1 s to the drainer's step, then
 * 60 ms and 260 ms. The twin holds the last two steps longer (`stop`, `report`; `reportEach` between two
 * allocations' reports) so a monitor on a loaded machine still sees each: with 60 ms, the CLI at nice 19 under
 * load 16 missed every "draining" line.
 */
export const DRAIN_STAGE_MS = { migrate: 1000, stop: 500, report: 500, reportEach: 50 } as const;
/** Task events kept per allocation: Nomad keeps a bounded list of recent events per task; every task of a group shares one here. */
const MAX_TASK_EVENTS = 10;

/**
 * What the server keeps in its data dir (`/opt/nomad`) and reads back when it starts on it: the jobs not yet dead,
 * as registered, in registration order, and whether each had allocations placed (running on a client) or waited
 * for capacity. Indexes, evaluations and task events are not kept: a restarted server makes new ones.
 */
export interface PersistedNomadState {
  version: 1;
  jobs: { job: ApiJob; placed: boolean }[];
}

interface JobRecord {
  meta: JobMeta;
  runMeta: Record<string, string>;
  fp: string;
  summaryFp: string;
  purged: boolean;
}

interface AllocRecord {
  meta: AllocMeta;
  nodeId: string;
  /** The desired status last stamped: a server-side change moves `AllocModifyIndex` too. */
  desired: string;
  fp: string;
}

interface EvalRecord {
  meta: EvalMeta;
  fp: string;
}

interface NodeRecord {
  meta: NodeMeta;
  fp: string;
}

/** What one transaction touched, for stamping. */
class Touched {
  readonly jobs = new Set<string>();
  readonly nodes = new Set<string>();
  allNodes = false;
  /** Commit an index even if no object changed (Nomad raft-applies every register, deregister and drain). */
  force = false;
  /** Tables a change emptied or rewrote wholesale (GC, wipe, purge). */
  readonly tables = new Set<keyof NomadApiState['tables']>();
  readonly newAllocs: string[] = [];
  /** Draining nodes that emptied: their drain completes in the next index, as Nomad's asynchronous drainer does. */
  readonly drainsEmptied: string[] = [];
}

function fingerprint(...parts: readonly unknown[]): string {
  return parts.map((p) => (typeof p === 'object' && p !== null ? JSON.stringify(p) : String(p))).join('|');
}

function bySortedId<T extends { ID: string }>(a: T, b: T): number {
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}

/** The twin's Nomad server state: scheduler, indexes, records, running tasks, blocking-query listeners. */
export class NomadApiState {
  readonly scheduler: NomadScheduler;
  readonly settings: NomadApiStateSettings;
  /** The last committed raft-like index (Nomad starts a new cluster at 1). */
  private idx = 1;
  /** Last index that changed each table (a missing object's queries report these). */
  readonly tables = { jobs: 1, summaries: 1, allocs: 1, evals: 1, nodes: 1 };
  private readonly jobRecs = new Map<string, JobRecord>();
  private readonly allocRecs = new Map<string, AllocRecord>();
  private readonly evalRecs = new Map<string, EvalRecord>();
  private readonly nodeRecs = new Map<string, NodeRecord>();
  /** Every allocation ever placed on a node (terminal ones too, as Nomad lists them until GC), in order. */
  private readonly allocsByNode = new Map<string, string[]>();
  private readonly running = new Map<string, RunningTask>();
  /** Task output by allocation, task and stream (the tail, at most `MAX_TASK_LOG_BYTES` each). */
  private readonly logs = new Map<string, Map<string, Record<TaskLogStream, string>>>();
  private readonly listeners = new Set<() => void>();
  private nodeOrdinal = 0;
  private closed = false;
  /**
   * Deregistration evaluations of jobs the scheduler never had: 0.9.3 answers a `DELETE /v1/job/:id` of an
   * unknown id with a new, complete `job-deregister` evaluation (measured against a real agent), so the twin
   * keeps them beside the scheduler's, under ids of their own serial range.
   */
  private readonly orphanEvals = new Map<string, { view: EvalView; meta: EvalMeta }>();
  private orphanSerial = 0;
  /** Pending drain steps (`DRAIN_STAGE_MS`), canceled on close. */
  private readonly drainTimers = new Set<EventHandle>();
  /** Allocations read back from a data dir whose clients lost them: no task runner, they hold capacity until stopped or wiped. */
  private readonly stale = new Set<string>();
  /** While `restore` re-registers placed jobs: their new allocations are stale, not started. */
  private restoring = false;
  /** Jobs registered while stale allocations held capacity whose evaluation blocked. */
  private blockedBehind = 0;
  private wipeCount = 0;

  constructor(settings: NomadApiStateSettings) {
    this.settings = settings;
    this.scheduler =
      settings.scheduler ??
      new NomadScheduler({
        rng: new Rng(settings.seed).fork('nomad'),
        reservedCpuMilli: settings.reservedCpuMilli,
        reservedMemoryMb: settings.reservedMemoryMb,
      });
    for (const c of settings.clients) this.addClient(c);
  }

  /** The last committed index. */
  get index(): number {
    return this.idx;
  }

  private get now(): number {
    return this.settings.clock.nowMs;
  }

  /** Calls `fn` after every committed change; returns the unsubscribe function. */
  onCommit(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // -------------------------------------------------------------------------------------------
  // Transactions

  /**
   * Runs one state change: `fn` calls the scheduler and reports what it touched; everything that changed is
   * stamped with one new index (none when nothing changed), listeners are told, and the task runners of new
   * allocations start.
   */
  private tx<T>(fn: (t: Touched, index: number) => T): T {
    if (this.closed) throw new NomadHttpError(503, 'the twin Nomad API is shutting down');
    const t = new Touched();
    const next = this.idx + 1;
    const result = fn(t, next);
    if (this.stamp(t, next) || t.force) {
      this.idx = next;
      for (const l of [...this.listeners]) l();
    }
    for (const allocId of t.newAllocs) {
      if (this.restoring) this.stale.add(allocId);
      else this.startRunner(allocId);
    }
    // A later index than the change that emptied the node: `nomad node-drain -enable` blocks on the node
    // past the drain's own index and would otherwise never see the drain end.
    if (t.drainsEmptied.length > 0 && !this.closed) {
      this.tx((t2) => {
        for (const nodeId of t.drainsEmptied) this.drainCompleted(nodeId, t2);
      });
    }
    return result;
  }

  /** Acts on a scheduler `Change`: runners of lost and stopped allocations stop, drains finish, unblocking continues. */
  private absorb(change: Change, t: Touched): void {
    let c = change;
    for (let round = 0; ; round++) {
      for (const p of c.placed) t.jobs.add(p.jobId);
      for (const p of c.lost) {
        t.jobs.add(p.jobId);
        this.stopRunner(p.allocId, 'lost');
      }
      for (const p of c.stopped) {
        t.jobs.add(p.jobId);
        this.stopRunner(p.allocId, 'stopped');
        this.taskEvent(p.allocId, 'Killed', 'Task successfully killed', { dead: true });
      }
      t.drainsEmptied.push(...c.drainComplete);
      if (!c.unblockPending) return;
      if (round >= MAX_UNBLOCK_ROUNDS) throw new Error(`blocked evaluations still pending after ${MAX_UNBLOCK_ROUNDS} retry rounds`);
      c = this.scheduler.retryBlocked();
    }
  }

  /** Stamps what changed with `index`; returns whether anything did. */
  private stamp(t: Touched, index: number): boolean {
    let changed = false;
    for (const table of t.tables) {
      this.tables[table] = index;
      changed = true;
    }
    for (const jobId of t.jobs) if (this.stampJob(jobId, index, t)) changed = true;
    const nodeIds = t.allNodes ? [...this.nodeRecs.keys()] : [...t.nodes];
    for (const nodeId of nodeIds) if (this.stampNode(nodeId, index)) changed = true;
    return changed;
  }

  private stampJob(jobId: string, index: number, t: Touched): boolean {
    const rec = this.jobRecs.get(jobId);
    const view = this.scheduler.job(jobId);
    if (rec === undefined || view === undefined) return false;
    let changed = false;
    const now = this.now;
    const fp = fingerprint(view.status, view.stopped, rec.purged);
    if (fp !== rec.fp) {
      rec.fp = fp;
      rec.meta.modifyIndex = index;
      this.tables.jobs = index;
      changed = true;
    }
    const summaryFp = fingerprint(view.summary);
    if (summaryFp !== rec.summaryFp) {
      rec.summaryFp = summaryFp;
      rec.meta.summaryModifyIndex = index;
      this.tables.summaries = index;
      changed = true;
    }
    for (const evalId of view.evalIds) {
      const e = this.scheduler.evaluation(evalId);
      if (e === undefined) continue;
      const efp = fingerprint(e.status, e.blockedEvalId, e.failedTgAllocs);
      const er = this.evalRecs.get(evalId);
      if (er === undefined) {
        this.evalRecs.set(evalId, {
          fp: efp,
          meta: {
            createIndex: index,
            modifyIndex: index,
            jobModifyIndex: rec.meta.jobModifyIndex,
            createTimeMs: now,
            modifyTimeMs: now,
            queued: view.summary.queued,
            nodesAvailable: this.nodesAvailable(),
            failure: e.blockedEvalId === null ? null : (this.scheduler.evaluation(e.blockedEvalId)?.failedTgAllocs ?? null),
          },
        });
      } else if (er.fp !== efp) {
        er.fp = efp;
        er.meta.modifyIndex = index;
        er.meta.modifyTimeMs = now;
        er.meta.queued = view.summary.queued;
      } else continue;
      this.tables.evals = index;
      changed = true;
    }
    for (const allocId of view.allocIds) {
      const a = this.scheduler.alloc(allocId);
      if (a === undefined) continue;
      const ar = this.allocRecs.get(allocId);
      if (ar === undefined) {
        const node = this.scheduler.node(a.nodeId);
        const tg = taskGroupOf(rec.meta.job);
        this.allocRecs.set(allocId, {
          nodeId: a.nodeId,
          desired: a.desiredStatus,
          fp: fingerprint(a.clientStatus, a.desiredStatus, 1, false, null),
          meta: {
            createIndex: index,
            modifyIndex: index,
            allocModifyIndex: index,
            createTimeMs: now,
            modifyTimeMs: now,
            nodeName: node?.name ?? '',
            placement: { nodesEvaluated: Object.values(this.nodesAvailable()).reduce((x, y) => x + y, 0), nodesAvailable: this.nodesAvailable() },
            taskGroup: tg.Name,
            taskNames: tg.Tasks.map((x) => x.Name),
            migrate: false,
            reportedClientStatus: null,
            desiredDescription: null,
            task: {
              state: 'pending',
              failed: false,
              startedAtMs: null,
              finishedAtMs: null,
              events: [{ type: 'Received', timeMs: now, message: 'Task received by client' }],
            },
          },
        });
        let list = this.allocsByNode.get(a.nodeId);
        if (list === undefined) this.allocsByNode.set(a.nodeId, (list = []));
        list.push(allocId);
        t.newAllocs.push(allocId);
      } else {
        const afp = fingerprint(a.clientStatus, a.desiredStatus, ar.meta.task.events.length, ar.meta.migrate, ar.meta.reportedClientStatus);
        if (afp === ar.fp) continue;
        if (ar.desired !== a.desiredStatus) {
          ar.desired = a.desiredStatus;
          ar.meta.allocModifyIndex = index;
        }
        ar.fp = afp;
        ar.meta.modifyIndex = index;
        ar.meta.modifyTimeMs = now;
      }
      this.tables.allocs = index;
      changed = true;
    }
    return changed;
  }

  private stampNode(nodeId: string, index: number): boolean {
    const rec = this.nodeRecs.get(nodeId);
    if (rec === undefined) return false;
    const view = this.scheduler.node(nodeId);
    const m = rec.meta;
    const fp =
      view === undefined
        ? 'forgotten'
        : fingerprint(view.status, view.drain, view.eligibility, m.legacyDrain, m.drainStrategy, m.events.length);
    if (fp === rec.fp) return false;
    rec.fp = fp;
    m.modifyIndex = index;
    this.tables.nodes = index;
    return true;
  }

  /** Ready, eligible nodes per datacenter now (an evaluation's `NodesAvailable`). */
  private nodesAvailable(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.scheduler.nodes()) {
      if (n.status !== 'ready') continue;
      out[n.datacenter] = (out[n.datacenter] ?? 0) + 1;
    }
    return out;
  }

  private nodeEvent(rec: NodeRecord, subsystem: NodeEventMeta['subsystem'], message: string, index: number): void {
    rec.meta.events.push({ subsystem, message, timeMs: this.now, createIndex: index });
    if (rec.meta.events.length > MAX_RETAINED_NODE_EVENTS) rec.meta.events.splice(0, rec.meta.events.length - MAX_RETAINED_NODE_EVENTS);
  }

  // -------------------------------------------------------------------------------------------
  // Task runners

  private startRunner(allocId: string): void {
    const a = this.scheduler.alloc(allocId);
    const ar = this.allocRecs.get(allocId);
    if (a === undefined || ar === undefined || a.clientStatus !== 'pending' || this.closed) return;
    const job = this.jobRecs.get(a.jobId);
    if (job === undefined) return;
    const tg = taskGroupOf(job.meta.job);
    const info: AllocationInfo = Object.freeze({
      allocId,
      jobId: a.jobId,
      taskGroup: tg.Name,
      taskIndex: a.taskIndex,
      nodeId: a.nodeId,
      nodeName: ar.meta.nodeName,
      tasks: tg.Tasks,
      meta: Object.freeze({ ...job.runMeta }),
    });
    const ctx: TaskContext = {
      alloc: info,
      clock: this.settings.clock,
      markRunning: () => this.onRunning(allocId),
      finish: (outcome, message) => this.onFinish(allocId, outcome, message),
      event: (type, message) => {
        if (this.running.has(allocId)) this.tx((t) => this.taskEvent(allocId, type, message, {}, t));
      },
      log: (stream, text, task) => {
        if (this.running.has(allocId)) this.appendLog(allocId, task ?? tg.Tasks[0]!.Name, stream, text);
      },
    };
    // Registered before start: a runner may report synchronously from inside start().
    const placeholder: RunningTask = { stop: () => {} };
    this.running.set(allocId, placeholder);
    let task: RunningTask;
    try {
      task = this.settings.runner.start(ctx);
    } catch (err) {
      // A runner that cannot start its tasks is a driver failure for this allocation, not a server crash.
      const message = err instanceof Error ? err.message : String(err);
      this.taskEvent(allocId, 'Driver Failure', message, {});
      this.onFinish(allocId, 'failed', message);
      return;
    }
    if (this.running.get(allocId) === placeholder) this.running.set(allocId, task);
    else task.stop('stopped');
  }

  private appendLog(allocId: string, task: string, stream: TaskLogStream, text: string): void {
    if (stream !== 'stdout' && stream !== 'stderr') throw new RangeError(`unknown log stream ${String(stream)}`);
    let byTask = this.logs.get(allocId);
    if (byTask === undefined) this.logs.set(allocId, (byTask = new Map()));
    let streams = byTask.get(task);
    if (streams === undefined) byTask.set(task, (streams = { stdout: '', stderr: '' }));
    const all = streams[stream] + text;
    streams[stream] = all.length > MAX_TASK_LOG_BYTES ? all.slice(all.length - MAX_TASK_LOG_BYTES) : all;
  }

  private stopRunner(allocId: string, reason: TaskStopReason): void {
    const task = this.running.get(allocId);
    if (task === undefined) return;
    this.running.delete(allocId);
    task.stop(reason);
  }

  /** Appends a task event to an allocation; `dead`/`running` move its task state. */
  private taskEvent(
    allocId: string,
    type: string,
    message: string,
    opts: { dead?: boolean; failed?: boolean; running?: boolean; exitCode?: number },
    t?: Touched,
  ): void {
    const ar = this.allocRecs.get(allocId);
    if (ar === undefined) return;
    const task = ar.meta.task;
    const now = this.now;
    task.events.push({ type, timeMs: now, message, ...(opts.exitCode === undefined ? {} : { exitCode: opts.exitCode }) });
    if (task.events.length > MAX_TASK_EVENTS) task.events.splice(0, task.events.length - MAX_TASK_EVENTS);
    if (opts.running) {
      task.state = 'running';
      task.startedAtMs = now;
    }
    if (opts.dead && task.state !== 'dead') {
      task.state = 'dead';
      task.finishedAtMs = now;
      task.failed = opts.failed === true;
    }
    const a = this.scheduler.alloc(allocId);
    if (t !== undefined && a !== undefined) t.jobs.add(a.jobId);
  }

  private onRunning(allocId: string): void {
    if (!this.running.has(allocId) || this.closed) return;
    const a = this.scheduler.alloc(allocId);
    if (a === undefined || a.clientStatus !== 'pending') return;
    this.tx((t) => {
      this.scheduler.markRunning(allocId);
      this.taskEvent(allocId, 'Started', 'Task started by client', { running: true }, t);
    });
  }

  private onFinish(allocId: string, outcome: 'complete' | 'failed', message: string | undefined): void {
    if (!this.running.has(allocId) || this.closed) return;
    if (outcome !== 'complete' && outcome !== 'failed') throw new RangeError(`unknown outcome ${String(outcome)}`);
    this.running.delete(allocId);
    const a = this.scheduler.alloc(allocId);
    if (a === undefined || a.clientStatus === 'complete' || a.clientStatus === 'failed' || a.clientStatus === 'lost') return;
    this.tx((t) => {
      const exitCode = outcome === 'complete' ? 0 : 1;
      this.taskEvent(allocId, 'Terminated', message ?? `Exit Code: ${exitCode}`, { dead: true, failed: outcome === 'failed', exitCode }, t);
      if (outcome === 'failed') this.taskEvent(allocId, 'Not Restarting', 'Policy allows no restarts', {}, t);
      t.jobs.add(a.jobId);
      this.absorb(this.scheduler.finishAlloc(allocId, outcome), t);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Registers a simulated client (ready, eligible); its capacity is offered to waiting jobs at once. */
  addClient(c: ClientSpec): string {
    if (!(c.cpus > 0) || !(c.memoryGb > 0)) throw new NomadHttpError(400, `client ${c.name}: cpus and memoryGb must be positive`);
    return this.tx((t, index) => {
      const { nodeId, change } = this.scheduler.addNodeAndRetry({
        name: c.name,
        cpuMilli: Math.round(c.cpus * 1000),
        memoryMb: Math.round(c.memoryGb * 1024),
        datacenter: c.datacenter ?? DEFAULT_DATACENTER,
        nodeClass: c.nodeClass ?? DEFAULT_NODE_CLASS,
      });
      const n = ++this.nodeOrdinal;
      const rec: NodeRecord = {
        fp: '',
        meta: {
          createIndex: index,
          modifyIndex: index,
          address: `10.0.${(n >> 8) & 255}.${n & 255}`,
          drainStrategy: null,
          legacyDrain: false,
          events: [],
          statusUpdatedAtMs: this.now,
        },
      };
      this.nodeRecs.set(nodeId, rec);
      this.nodeEvent(rec, 'Cluster', 'Node registered', index);
      t.nodes.add(nodeId);
      this.absorb(change, t);
      return nodeId;
    });
  }

  /**
   * Takes in what a mirrored scheduler (`settings.scheduler`) holds that the state has no record of: its nodes
   * (addressed as `addClient` addresses them), its jobs (as a batch job of one `build` task with the job's
   * resources, as schedulerer would submit it), and through them their evaluations and allocations; then stamps
   * every change since the last call with one index. Task states follow the allocations' client status.
   */
  adopt(): number {
    this.tx((t, index) => {
      for (const n of this.scheduler.nodes()) {
        const known = this.nodeRecs.get(n.id);
        // The mirrored scheduler's drain is the simulation's (on or off, as `?enable=` is): the record follows it.
        if (known !== undefined) {
          known.meta.legacyDrain = n.drain;
          continue;
        }
        const k = ++this.nodeOrdinal;
        const rec: NodeRecord = { fp: '', meta: { createIndex: index, modifyIndex: index, address: `10.0.${(k >> 8) & 255}.${k & 255}`, drainStrategy: null, legacyDrain: n.drain, events: [], statusUpdatedAtMs: this.now } };
        this.nodeRecs.set(n.id, rec);
        this.nodeEvent(rec, 'Cluster', 'Node registered', index);
      }
      for (const j of this.scheduler.jobs()) {
        if (!this.jobRecs.has(j.id)) {
          const reg = parseJobRegistration({ Job: mirroredJob(j) });
          this.jobRecs.set(j.id, { meta: { job: reg.job, createIndex: index, modifyIndex: index, jobModifyIndex: index, summaryModifyIndex: index, submitTimeMs: this.now }, runMeta: reg.meta, fp: '', summaryFp: '', purged: false });
        }
        t.jobs.add(j.id);
      }
      t.allNodes = true;
    });
    for (const [allocId, ar] of this.allocRecs) {
      const a = this.scheduler.alloc(allocId);
      const task = ar.meta.task;
      if (a === undefined) continue;
      if (a.clientStatus === 'running' && task.state === 'pending') this.taskEvent(allocId, 'Started', 'Task started by client', { running: true });
      else if ((a.clientStatus === 'complete' || a.clientStatus === 'failed' || a.clientStatus === 'lost') && task.state !== 'dead') {
        this.taskEvent(allocId, 'Terminated', `Exit Code: ${a.clientStatus === 'complete' ? 0 : 1}`, { dead: true, failed: a.clientStatus !== 'complete', exitCode: a.clientStatus === 'complete' ? 0 : 1 });
      }
    }
    return this.idx;
  }

  /**
   * Registers a batch job from a request body (`{ Job: {...} }`) and evaluates it. Returns Nomad's
   * `JobRegisterResponse`. A job id that names a dead job registers afresh after a GC of dead jobs (the
   * scheduler registers an id once); one that names a live job is refused.
   */
  registerJob(body: unknown, pathJobId?: string): { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Index: number } {
    const reg = parseJobRegistration(body, pathJobId);
    const existing = this.scheduler.job(reg.job.ID);
    const current = this.jobRecs.get(reg.job.ID);
    if (existing !== undefined && existing.status !== 'dead' && current !== undefined && !current.purged) {
      // Nomad evaluates an unchanged job again and changes nothing (`nomad job run` twice).
      if (JSON.stringify(current.meta.job) === JSON.stringify(reg.job) && JSON.stringify(current.runMeta) === JSON.stringify(reg.meta)) {
        return this.tx((t, index) => {
          t.force = true;
          t.jobs.add(reg.job.ID);
          const evalId = this.scheduler.noopEval(reg.job.ID, 'job-register');
          return { EvalID: evalId, EvalCreateIndex: index, JobModifyIndex: current.meta.jobModifyIndex, Index: index };
        });
      }
      throw new NomadHttpError(
        400,
        `job ${reg.job.ID} is ${existing.status} and its new spec differs: the twin does not update a registered job in place (stop it first, or register a new job id)`,
      );
    }
    if (existing !== undefined) this.gc();
    return this.tx((t, index) => {
      t.force = true;
      const rec: JobRecord = {
        meta: { job: reg.job, createIndex: index, modifyIndex: index, jobModifyIndex: index, summaryModifyIndex: index, submitTimeMs: this.now },
        runMeta: reg.meta,
        fp: '',
        summaryFp: '',
        purged: false,
      };
      this.jobRecs.set(reg.job.ID, rec);
      t.jobs.add(reg.job.ID);
      this.absorb(this.scheduler.registerJob(reg.spec), t);
      const view = this.scheduler.job(reg.job.ID)!;
      if (!this.restoring && view.blockedEvalId !== null && this.staleAllocations().length > 0) this.blockedBehind++;
      const evalId = view.evalIds[0]!;
      return { EvalID: evalId, EvalCreateIndex: index, JobModifyIndex: index, Index: index };
    });
  }

  /**
   * Deregisters a job (`DELETE /v1/job/:id`): its allocations stop, its blocked evaluation is canceled; with
   * `purge` the job is gone from queries at once. An unknown job is not an error (Nomad returns an empty reply).
   */
  stopJob(jobId: string, purge: boolean): { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Index: number } {
    const rec = this.jobRecs.get(jobId);
    const view = this.scheduler.job(jobId);
    if (rec === undefined || rec.purged || view === undefined) return this.deregisterUnknown(jobId);
    return this.tx((t, index) => {
      t.force = true;
      const before = this.scheduler.job(jobId)!.evalIds.length;
      t.jobs.add(jobId);
      this.absorb(this.scheduler.stopJob(jobId), t);
      // A job already stopped (or done) gets an evaluation that changes nothing, as Nomad gives it.
      if (this.scheduler.job(jobId)!.evalIds.length === before) this.scheduler.noopEval(jobId, 'job-deregister');
      const evalIds = this.scheduler.job(jobId)!.evalIds;
      if (purge) {
        rec.purged = true;
        t.tables.add('jobs');
        t.tables.add('summaries');
      }
      rec.meta.jobModifyIndex = index;
      return { EvalID: evalIds[evalIds.length - 1]!, EvalCreateIndex: index, JobModifyIndex: index, Index: index };
    });
  }

  /**
   * `DELETE /v1/job/:id` of a job there is none of, as 0.9.3 answers it: the deregistration is applied (one
   * index, `JobModifyIndex`), then its evaluation is created (the next, `EvalCreateIndex` and `Index`), complete
   * at once; the job stays unknown (404). A `nomad job stop` of it never gets here: the CLI looks the id up first.
   */
  private deregisterUnknown(jobId: string): { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Index: number } {
    if (this.orphanEvals.size >= MAX_ORPHAN_EVALS) throw new NomadHttpError(429, `the twin keeps ${MAX_ORPHAN_EVALS} evaluations of unknown jobs (MAX_ORPHAN_EVALS): run a GC (PUT /v1/system/gc)`);
    const jobModifyIndex = this.tx((t, index) => {
      t.force = true;
      return index;
    });
    return this.tx((t, index) => {
      t.force = true;
      t.tables.add('evals');
      const id = nomadId(ID_EVAL, ORPHAN_EVAL_SERIAL_BASE + this.orphanSerial++);
      const now = this.now;
      this.orphanEvals.set(id, {
        view: { id, jobId, status: 'complete', triggeredBy: 'job-deregister', priority: DEFAULT_JOB_PRIORITY, blockedEvalId: null, previousEvalId: null, failedTgAllocs: null },
        meta: { createIndex: index, modifyIndex: index, jobModifyIndex, createTimeMs: now, modifyTimeMs: now, queued: 0, nodesAvailable: this.nodesAvailable(), failure: null },
      });
      return { EvalID: id, EvalCreateIndex: index, JobModifyIndex: jobModifyIndex, Index: index };
    });
  }

  /** Collects dead jobs with their allocations and evaluations (`PUT /v1/system/gc`). Returns how many jobs. */
  gc(): number {
    const dead = this.scheduler.jobs().filter((j) => j.status === 'dead');
    if (this.orphanEvals.size > 0) {
      this.tx((t) => {
        this.orphanEvals.clear();
        t.tables.add('evals');
      });
    }
    if (dead.length === 0) return 0;
    return this.tx((t) => {
      const views = dead.map((j) => this.scheduler.job(j.id)!);
      const n = this.scheduler.gc();
      for (const view of views) this.forgetJob(view);
      t.tables.add('jobs');
      t.tables.add('summaries');
      t.tables.add('allocs');
      t.tables.add('evals');
      return n;
    });
  }

  private forgetJob(view: JobView): void {
    this.jobRecs.delete(view.id);
    for (const id of view.evalIds) this.evalRecs.delete(id);
    for (const id of view.allocIds) {
      const ar = this.allocRecs.get(id);
      this.allocRecs.delete(id);
      this.logs.delete(id);
      this.stopRunner(id, 'wiped');
      if (ar === undefined) continue;
      const list = this.allocsByNode.get(ar.nodeId);
      if (list !== undefined) {
        const i = list.indexOf(id);
        if (i >= 0) list.splice(i, 1);
      }
    }
  }

  /**
   * Enables or disables drain, in either form. Enabling makes the node ineligible (as Nomad ≥ 0.8 does);
   * a `spec` drain ends by itself once nothing runs on the node (the node stays ineligible), a `legacy` one
   * stays on until disabled. Disabling a legacy drain, or a spec drain with `markEligible`, makes it eligible.
   */
  drain(nodeId: string, req: DrainRequest): NodeUpdateResponseJson {
    const rec = this.requireNode(nodeId);
    return this.tx((t, index) => {
      t.force = true;
      t.nodes.add(nodeId);
      const m = rec.meta;
      const now = this.now;
      if (req.enable) {
        const wasDraining = isDraining(m);
        if (req.form === 'legacy') m.legacyDrain = true;
        else m.drainStrategy = { deadlineNs: req.deadlineNs ?? 0, ignoreSystemJobs: req.ignoreSystemJobs ?? false, startedAtMs: now };
        this.nodeEvent(rec, 'Drain', wasDraining ? 'Node drain updated' : 'Node drain strategy set', index);
        this.absorb(this.scheduler.setEligibility(nodeId, false), t);
        this.absorb(this.scheduler.setDrain(nodeId, true), t);
        // A negative deadline is Nomad's force drain (0.9's `?enable=true` sends -1s): its allocations are
        // migrated now; a positive one migrates what still runs when it passes (batch jobs are left until then).
        const strategy = m.drainStrategy;
        if (req.form === 'spec' && strategy !== null && strategy.deadlineNs !== 0) {
          const atMs = strategy.deadlineNs < 0 ? DRAIN_STAGE_MS.migrate : Math.ceil(strategy.deadlineNs / 1e6);
          this.afterDrainStep(atMs, () => this.drainMigrate(nodeId, strategy));
        }
      } else {
        const wasDraining = isDraining(m);
        m.drainStrategy = null;
        m.legacyDrain = false;
        if (wasDraining) {
          this.nodeEvent(rec, 'Drain', 'Node drain disabled', index);
        }
        this.absorb(this.scheduler.setDrain(nodeId, false), t);
        if (req.form === 'legacy' || req.markEligible === true) this.absorb(this.scheduler.setEligibility(nodeId, true), t);
      }
      return { EvalCreateIndex: 0, EvalIDs: null, NodeModifyIndex: index, Index: index };
    });
  }

  /** Runs a drain step `delayMs` (model time) from now unless the state closed meanwhile. */
  private afterDrainStep(delayMs: number, step: () => void): void {
    const handle = this.settings.clock.schedule(delayMs, () => {
      this.drainTimers.delete(handle);
      if (!this.closed) step();
    });
    this.drainTimers.add(handle);
  }

  /**
   * One drain step on the node's non-terminal allocations, in one transaction, if the same drain is still on:
   * `act` changes an allocation's record and says whether it did; returns the ids it changed.
   */
  private drainStep(nodeId: string, strategy: DrainStrategyMeta, act: (a: AllocView, ar: AllocRecord) => boolean, after?: (t: Touched) => void): string[] {
    const rec = this.nodeRecs.get(nodeId);
    if (rec === undefined || rec.meta.drainStrategy !== strategy) return [];
    const changed: string[] = [];
    this.tx((t) => {
      for (const a of this.scheduler.nodeAllocs(nodeId)) {
        const ar = this.allocRecs.get(a.allocId);
        if (ar === undefined || !act(a, ar)) continue;
        t.jobs.add(a.jobId);
        changed.push(a.allocId);
      }
      if (changed.length > 0) after?.(t);
    });
    return changed;
  }

  /** The drainer's step: the node's allocations marked for migration. */
  private drainMigrate(nodeId: string, strategy: DrainStrategyMeta): void {
    const marked = this.drainStep(nodeId, strategy, (_, ar) => !ar.meta.migrate && (ar.meta.migrate = true));
    if (marked.length > 0) this.afterDrainStep(DRAIN_STAGE_MS.stop, () => this.drainStop(nodeId, strategy));
  }

  /**
   * The node-drain evaluation's step: the marked allocations stop (the scheduler frees their capacity now); each
   * keeps showing the client status it had until its client reports, one index each.
   */
  private drainStop(nodeId: string, strategy: DrainStrategyMeta): void {
    const stopping = this.drainStep(
      nodeId,
      strategy,
      (a, ar) => {
        if (!ar.meta.migrate) return false;
        ar.meta.reportedClientStatus = a.clientStatus;
        ar.meta.desiredDescription = 'alloc is being migrated';
        return true;
      },
      (t) => this.absorb(this.scheduler.stopNodeAllocs(nodeId), t),
    );
    stopping.forEach((allocId, k) => this.afterDrainStep(DRAIN_STAGE_MS.report + k * DRAIN_STAGE_MS.reportEach, () => this.clientReported(allocId)));
  }

  /** The client's report of a stopped allocation: its real client status shows. */
  private clientReported(allocId: string): void {
    const ar = this.allocRecs.get(allocId);
    const a = this.scheduler.alloc(allocId);
    if (ar === undefined || a === undefined || ar.meta.reportedClientStatus === null) return;
    this.tx((t) => {
      ar.meta.reportedClientStatus = null;
      t.jobs.add(a.jobId);
    });
  }

  /** A drain's last allocation ended: a spec drain is complete (Nomad ≥ 0.8 clears it); a legacy drain stays on. */
  private drainCompleted(nodeId: string, t: Touched): void {
    const rec = this.nodeRecs.get(nodeId);
    if (rec === undefined) return;
    const m = rec.meta;
    t.nodes.add(nodeId);
    this.nodeEvent(rec, 'Drain', 'Node drain complete', this.idx + 1);
    if (m.drainStrategy !== null && !m.legacyDrain) {
      m.drainStrategy = null;
      this.absorb(this.scheduler.setDrain(nodeId, false), t);
    }
  }

  /** Sets scheduling eligibility (Nomad ≥ 0.8). Errors are Nomad's, from its RPC layer (hence 500). */
  eligibility(nodeId: string, eligibility: unknown): NodeUpdateResponseJson {
    if (eligibility !== 'eligible' && eligibility !== 'ineligible') {
      throw new NomadHttpError(500, `invalid scheduling eligibility ${JSON.stringify(String(eligibility ?? ''))}`);
    }
    const rec = this.requireNode(nodeId);
    if (isDraining(rec.meta) && eligibility === 'eligible') {
      throw new NomadHttpError(500, "can not set node's scheduling eligibility to eligible while it is draining");
    }
    // Nomad answers a no-op with an empty reply and commits nothing.
    if (this.scheduler.node(nodeId)!.eligibility === eligibility) return { EvalCreateIndex: 0, EvalIDs: null, NodeModifyIndex: 0, Index: 0 };
    return this.tx((t, index) => {
      t.force = true;
      t.nodes.add(nodeId);
      this.nodeEvent(rec, 'Cluster', `Node marked as ${eligibility} for scheduling`, index);
      this.absorb(this.scheduler.setEligibility(nodeId, eligibility === 'eligible'), t);
      return { EvalCreateIndex: 0, EvalIDs: null, NodeModifyIndex: index, Index: index };
    });
  }

  /** Fault injection: a client stops heartbeating (`down`: its allocations are lost) or comes back (`ready`). */
  setNodeStatus(nodeId: string, status: NodeStatus): { Index: number; LostAllocs: string[] } {
    if (this.nodeRecs.get(nodeId) === undefined) throw new NomadHttpError(404, 'node not found');
    return this.tx((t, index) => {
      t.force = true;
      const rec = this.nodeRecs.get(nodeId)!;
      const before = this.scheduler.node(nodeId);
      const change = this.scheduler.setNodeStatus(nodeId, status);
      t.nodes.add(nodeId);
      if (before === undefined || before.status !== status) {
        rec.meta.statusUpdatedAtMs = this.now;
        if (before === undefined) this.nodeEvent(rec, 'Cluster', 'Node registered', index);
        else if (status === 'down') this.nodeEvent(rec, 'Cluster', 'Node heartbeat missed', index);
        else this.nodeEvent(rec, 'Cluster', 'Node reregistered by heartbeat', index);
      }
      this.absorb(change, t);
      return { Index: index, LostAllocs: change.lost.map((p) => p.allocId) };
    });
  }

  /**
   * Fault injection: the seeds' `rm -rf /opt/nomad` and restart. Jobs, allocations and evaluations are
   * forgotten, their tasks stop; ready clients re-register empty, down ones are forgotten until they report.
   * The index keeps counting up (a real server would restart at 1): clients' blocking queries stay sane.
   */
  wipe(): { Index: number; LostJobs: string[]; LostAllocs: string[] } {
    this.wipeCount++;
    this.stale.clear();
    return this.tx((t, index) => {
      const lost = this.scheduler.wipeState();
      for (const id of [...this.running.keys()]) this.stopRunner(id, 'wiped');
      this.jobRecs.clear();
      this.allocRecs.clear();
      this.evalRecs.clear();
      this.orphanEvals.clear();
      this.allocsByNode.clear();
      this.logs.clear();
      for (const rec of this.nodeRecs.values()) {
        rec.meta.drainStrategy = null;
        rec.meta.legacyDrain = false;
        rec.meta.events = [];
        this.nodeEvent(rec, 'Cluster', 'Node registered', index);
      }
      t.allNodes = true;
      for (const table of ['jobs', 'summaries', 'allocs', 'evals', 'nodes'] as const) t.tables.add(table);
      return { Index: index, LostJobs: lost.lostJobs, LostAllocs: lost.lostAllocs };
    });
  }

  /** What the data dir holds of this state (see `PersistedNomadState`). */
  persisted(): PersistedNomadState {
    const jobs: PersistedNomadState['jobs'] = [];
    for (const [id, rec] of this.jobRecs) {
      const view = this.scheduler.job(id);
      if (rec.purged || view === undefined || view.status === 'dead') continue;
      jobs.push({ job: rec.meta.job, placed: view.status === 'running' });
    }
    return { version: 1, jobs };
  }

  /**
   * The server starts on a data dir that holds `saved`: what it had in memory is forgotten (as `wipe`), then the
   * saved jobs are registered again in their order. The allocations of jobs that were placed come back with no task
   * runner (stale: the clients that ran them lost them), holding their capacity in the scheduler until the job is
   * stopped or the state wiped; jobs that waited for capacity wait again and run when placed. Returns what came back.
   */
  restore(saved: PersistedNomadState): { jobs: number; staleAllocs: number } {
    if (saved.version !== 1 || !Array.isArray(saved.jobs)) throw new Error(`the Nomad data dir's state has version ${String(saved.version)}: this server reads version 1`);
    this.wipe();
    this.restoring = true;
    try {
      for (const j of saved.jobs.filter((x) => x.placed)) this.registerJob({ Job: j.job });
    } finally {
      this.restoring = false;
    }
    for (const j of saved.jobs.filter((x) => !x.placed)) this.registerJob({ Job: j.job });
    return { jobs: saved.jobs.length, staleAllocs: this.staleAllocations().length };
  }

  /** Restored allocations no client runs that still hold capacity (pending or running in the scheduler). */
  staleAllocations(): string[] {
    return [...this.stale].filter((id) => {
      const a = this.scheduler.alloc(id);
      return a !== undefined && (a.clientStatus === 'pending' || a.clientStatus === 'running') && a.desiredStatus === 'run';
    });
  }

  /** The CPU (millicores) the stale allocations hold. */
  staleCpuMilli(): number {
    return this.staleAllocations().reduce((sum, id) => sum + (this.scheduler.job(this.scheduler.alloc(id)!.jobId)?.cpuMilli ?? 0), 0);
  }

  /** Jobs registered while stale allocations held capacity whose evaluation blocked (waited behind them). */
  get blockedBehindStale(): number {
    return this.blockedBehind;
  }

  /** How many times the state was wiped (a persister tells a wipe of memory from a change it wrote). */
  get wipes(): number {
    return this.wipeCount;
  }

  /** Stops every task runner and refuses further writes (the API is shutting down). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.drainTimers) this.settings.clock.cancel(h);
    this.drainTimers.clear();
    for (const id of [...this.running.keys()]) this.stopRunner(id, 'shutdown');
    for (const l of [...this.listeners]) l();
    this.listeners.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Allocations whose task runner is active. */
  get runningTasks(): number {
    return this.running.size;
  }

  private requireNode(nodeId: string): NodeRecord {
    const rec = this.nodeRecs.get(nodeId);
    // Nomad's RPC layer answers an unknown node with a plain error, which its HTTP layer sends as a 500.
    if (rec === undefined || this.scheduler.node(nodeId) === undefined) throw new NomadHttpError(500, 'node not found');
    return rec;
  }

  // -------------------------------------------------------------------------------------------
  // Queries (index semantics follow Nomad's: an object's ModifyIndex, or its table's index when missing)

  private liveJob(jobId: string): { view: JobView; rec: JobRecord } | undefined {
    const rec = this.jobRecs.get(jobId);
    const view = this.scheduler.job(jobId);
    if (rec === undefined || view === undefined || rec.purged) return undefined;
    return { view, rec };
  }

  /** Job stubs by ID; `prefix` keeps the IDs that start with it (`?prefix=`, as the CLI's id lookups send). */
  listJobs(prefix = ''): QueryResult<JobListStubJson[]> {
    const body: JobListStubJson[] = [];
    for (const view of this.scheduler.jobs()) {
      const rec = this.jobRecs.get(view.id);
      if (rec === undefined || rec.purged || !view.id.startsWith(prefix)) continue;
      body.push(toJobStub(view, rec.meta));
    }
    body.sort(bySortedId);
    return { index: Math.max(this.tables.jobs, this.tables.summaries), body };
  }

  job(jobId: string): QueryResult<JobJson> {
    const j = this.liveJob(jobId);
    return j === undefined ? { index: this.tables.jobs, body: undefined } : { index: j.rec.meta.modifyIndex, body: toJob(j.view, j.rec.meta) };
  }

  /** The job's versions (`/v1/job/:id/versions`): the twin keeps the current one only. */
  jobVersions(jobId: string): QueryResult<{ Versions: JobJson[]; Diffs: null; Index: number; LastContact: number; KnownLeader: boolean }> {
    const j = this.job(jobId);
    return { index: j.index, body: j.body === undefined ? undefined : { Versions: [j.body], Diffs: null, Index: j.index, LastContact: 0, KnownLeader: true } };
  }

  jobSummary(jobId: string): QueryResult<JobSummaryJson> {
    const j = this.liveJob(jobId);
    return j === undefined
      ? { index: this.tables.summaries, body: undefined }
      : { index: j.rec.meta.summaryModifyIndex, body: toJobSummary(j.view, j.rec.meta) };
  }

  jobAllocations(jobId: string): QueryResult<AllocListStubJson[]> {
    const j = this.liveJob(jobId);
    if (j === undefined) return { index: this.tables.allocs, body: [] };
    return this.allocList(j.view.allocIds);
  }

  jobEvaluations(jobId: string): QueryResult<EvaluationJson[]> {
    const j = this.liveJob(jobId);
    if (j === undefined) return { index: this.tables.evals, body: [] };
    const body: EvaluationJson[] = [];
    let index = 0;
    for (const id of j.view.evalIds) {
      const e = this.evaluationJson(id);
      if (e === undefined) continue;
      body.push(e);
      index = Math.max(index, e.ModifyIndex);
    }
    return { index: index || this.tables.evals, body };
  }

  private allocList(allocIds: readonly string[]): QueryResult<AllocListStubJson[]> {
    const body: AllocListStubJson[] = [];
    let index = 0;
    for (const id of allocIds) {
      const a = this.scheduler.alloc(id);
      const ar = this.allocRecs.get(id);
      if (a === undefined || ar === undefined) continue;
      body.push(toAllocStub(a, ar.meta, this.jobRecs.get(a.jobId)?.meta.job.Type));
      index = Math.max(index, ar.meta.modifyIndex);
    }
    return { index: index || this.tables.allocs, body };
  }

  allocations(prefix = ''): QueryResult<AllocListStubJson[]> {
    const r = this.allocList([...this.allocRecs.keys()].filter((id) => id.startsWith(prefix)));
    r.body!.sort(bySortedId);
    return { index: this.tables.allocs, body: r.body };
  }

  allocation(allocId: string): QueryResult<AllocationJson> {
    const a: AllocView | undefined = this.scheduler.alloc(allocId);
    const ar = this.allocRecs.get(allocId);
    if (a === undefined || ar === undefined) return { index: this.tables.allocs, body: undefined };
    const jr = this.jobRecs.get(a.jobId);
    const view = this.scheduler.job(a.jobId);
    // An allocation keeps its own copy of the job, as Nomad's does: a purged job's allocations still show it (the CLI reads it).
    const job = jr !== undefined && view !== undefined ? { view, meta: jr.meta } : null;
    return { index: ar.meta.modifyIndex, body: toAllocation(a, ar.meta, job) };
  }

  private evaluationJson(evalId: string): EvaluationJson | undefined {
    const orphan = this.orphanEvals.get(evalId);
    if (orphan !== undefined) return toEvaluation(orphan.view, orphan.meta, 'build');
    const e = this.scheduler.evaluation(evalId);
    const er = this.evalRecs.get(evalId);
    if (e === undefined || er === undefined) return undefined;
    const jr = this.jobRecs.get(e.jobId);
    const tg = jr === undefined ? 'build' : taskGroupOf(jr.meta.job).Name;
    return toEvaluation(e, er.meta, tg, jr?.meta.job.Type);
  }

  evaluations(prefix = ''): QueryResult<EvaluationJson[]> {
    const body: EvaluationJson[] = [];
    for (const id of [...this.evalRecs.keys(), ...this.orphanEvals.keys()]) {
      if (!id.startsWith(prefix)) continue;
      const e = this.evaluationJson(id);
      if (e !== undefined) body.push(e);
    }
    body.sort(bySortedId);
    return { index: this.tables.evals, body };
  }

  evaluation(evalId: string): QueryResult<EvaluationJson> {
    const e = this.evaluationJson(evalId);
    return e === undefined ? { index: this.tables.evals, body: undefined } : { index: e.ModifyIndex, body: e };
  }

  evaluationAllocations(evalId: string): QueryResult<AllocListStubJson[]> {
    const e = this.scheduler.evaluation(evalId);
    if (e === undefined) return { index: this.tables.allocs, body: [] };
    const view = this.scheduler.job(e.jobId);
    const ids = (view?.allocIds ?? []).filter((id) => this.scheduler.alloc(id)?.evalId === evalId);
    return this.allocList(ids);
  }

  nodes(prefix = ''): QueryResult<NodeListStubJson[]> {
    const body: NodeListStubJson[] = [];
    for (const n of this.scheduler.nodes()) {
      if (!n.id.startsWith(prefix)) continue;
      const rec = this.nodeRecs.get(n.id);
      if (rec !== undefined) body.push(toNodeStub(n, rec.meta, this.settings.version));
    }
    body.sort(bySortedId);
    return { index: this.tables.nodes, body };
  }

  node(nodeId: string): QueryResult<NodeJson> {
    const n = this.scheduler.node(nodeId);
    const rec = this.nodeRecs.get(nodeId);
    if (n === undefined || rec === undefined) return { index: this.tables.nodes, body: undefined };
    return { index: rec.meta.modifyIndex, body: toNode(n, rec.meta, this.settings.version, this.settings.clientHttpAddr ?? '') };
  }

  /** A node's allocations, in full (Nomad's `/v1/node/:id/allocations` answers `[]*Allocation`, not stubs). */
  nodeAllocations(nodeId: string): QueryResult<AllocationJson[]> {
    const body: AllocationJson[] = [];
    let index = 0;
    for (const id of this.allocsByNode.get(nodeId) ?? []) {
      const a = this.allocation(id);
      if (a.body === undefined) continue;
      body.push(a.body);
      index = Math.max(index, a.index);
    }
    return { index: index || this.tables.allocs, body };
  }

  /**
   * Nomad's prefix search (`/v1/search`): per context, at most `SEARCH_TRUNCATE_LIMIT` IDs in ID order and
   * whether more matched. UUID prefixes of odd length lose their last character, as Nomad's do; job IDs do not.
   */
  search(prefix: string, context: SearchContext | 'all'): QueryResult<{ Matches: Record<string, string[]>; Truncations: Record<string, boolean> }> {
    const contexts = context === 'all' ? SEARCH_CONTEXTS : [context];
    const matches: Record<string, string[]> = {};
    const truncations: Record<string, boolean> = {};
    let index = 1;
    for (const ctx of contexts) {
      const digits = prefix.replace(/-/g, '').length;
      const p = ctx !== 'jobs' && digits % 2 === 1 ? prefix.slice(0, -1) : prefix;
      const ids = this.idsOf(ctx).filter((id) => id.startsWith(p)).sort();
      matches[ctx] = ids.slice(0, SEARCH_TRUNCATE_LIMIT);
      truncations[ctx] = ids.length > SEARCH_TRUNCATE_LIMIT;
      index = Math.max(index, ctx === 'deployment' ? 1 : this.tables[ctx === 'allocs' ? 'allocs' : ctx === 'evals' ? 'evals' : ctx]);
    }
    return { index, body: { Matches: matches, Truncations: truncations } };
  }

  private idsOf(ctx: SearchContext): string[] {
    switch (ctx) {
      case 'jobs':
        return (this.listJobs().body ?? []).map((j) => j.ID);
      case 'nodes':
        return (this.nodes().body ?? []).map((n) => n.ID);
      case 'allocs':
        return [...this.allocRecs.keys()].filter((id) => this.scheduler.alloc(id) !== undefined);
      case 'evals':
        return [...this.evalRecs.keys()].filter((id) => this.scheduler.evaluation(id) !== undefined);
      case 'deployment':
        return [];
    }
  }

  /**
   * A task's output (`/v1/client/fs/logs`): undefined when the allocation is unknown; a known allocation
   * whose task wrote nothing has empty output. Errors are Nomad's (`unknown task name`).
   */
  taskLog(allocId: string, task: string, stream: TaskLogStream): string | undefined {
    const ar = this.allocRecs.get(allocId);
    if (ar === undefined || this.scheduler.alloc(allocId) === undefined) return undefined;
    if (!ar.meta.taskNames.includes(task)) throw new NomadHttpError(400, `unknown task name "${task}"`);
    return this.logs.get(allocId)?.get(task)?.[stream] ?? '';
  }

  /** When a node's status last changed, e.g. it registered or came back (the uptime its host stats report). */
  nodeRegisteredAtMs(nodeId: string): number | undefined {
    return this.nodeRecs.get(nodeId)?.meta.statusUpdatedAtMs;
  }

  /** Node ids in registration order (forgotten ones included), for tests and fault injection. */
  nodeIds(): string[] {
    return [...this.nodeRecs.keys()];
  }
}
