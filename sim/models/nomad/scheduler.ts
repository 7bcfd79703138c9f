/**
 * The Nomad server of a CircleCI Server 2.x installation: jobs in, placements out.
 *
 * One CircleCI job run is one Nomad batch job; a job with parallelism N is one task group of count N,
 * so N allocations. The scheduler knows no time: the caller (the pipeline model) tells it what happened
 * (a job was registered, an allocation finished, a node went down) and acts on the `Change` it returns.
 *
 *     registerJob ──► evaluation ──► GenericStack.select per task ──► placements
 *                          │                 (feasible → rank → limit → max score)
 *                          └─ tasks left over ──► blocked evaluation (BlockedEvals, priority order)
 *     capacity change (alloc finished, job stopped, node ready / added / undrained / eligible)
 *          ──► node marked dirty ──► bounded retry of blocked evaluations that the node can now help
 */
import type { Rng } from '../../engine/rng.ts';
import {
  Alloc,
  CPU_MHZ_PER_CORE,
  DEFAULT_DATACENTER,
  DEFAULT_JOB_PRIORITY,
  DEFAULT_NODE_CLASS,
  Eval,
  ID_ALLOC,
  ID_EVAL,
  ID_NODE,
  idSerial,
  Job,
  NODE_DOWN,
  NODE_INITIALIZING,
  NODE_READY,
  NodeTable,
  SerialTable,
  nomadId,
  type AllocView,
  type EvalTrigger,
  type EvalView,
  type JobSpec,
  type JobStatus,
  type JobView,
  type NodeSpec,
  type NodeStatus,
  type NodeView,
  type Placement,
  type PlacementFailure,
} from './cluster-state.ts';
import { BlockedEvals, type QueueKey } from './blocked-evals.ts';
import { FitIndex, isFeasible } from './feasible.ts';
import type { Algorithm } from './rank.ts';
import { BATCH_CANDIDATE_LIMIT, GenericStack } from './stack.ts';

export { CPU_MHZ_PER_CORE };

/** CircleCI's reservation on every Nomad client for coordination: 2 vCPU. */
export const DEFAULT_RESERVED_CPU_MILLI = 2000;
/** CircleCI's reservation on every Nomad client for coordination: 4 GB. */
export const DEFAULT_RESERVED_MEMORY_MB = 4096;
/**
 * Blocked evaluations examined per capacity change (see `NomadScheduler`). 64 keeps a change cheap
 * (examining one costs an O(1) fit check) while covering the few resource classes an installation has.
 */
export const DEFAULT_MAX_BLOCKED_RETRIES_PER_CHANGE = 64;

/** User options of the scheduler; defaults are applied once, in the constructor. */
export interface NomadSchedulerOptions {
  /** The scheduler's own stream, e.g. `root.fork('nomad')`; it forks sub-streams from it. */
  rng: Rng;
  /** CPU each client keeps for itself, in millicores; default 2000 (2 vCPU). */
  reservedCpuMilli?: number;
  /** Memory each client keeps for itself, in MB; default 4096 (4 GB). */
  reservedMemoryMb?: number;
  /** Fit score: `binpack` (Nomad's default) or `spread`. */
  algorithm?: Algorithm;
  /** Bound on blocked evaluations examined per call; default 64. */
  maxBlockedRetriesPerChange?: number;
}

/** Settled options: every default applied. */
export interface NomadSchedulerSettings {
  reservedCpuMilli: number;
  reservedMemoryMb: number;
  algorithm: Algorithm;
  maxBlockedRetriesPerChange: number;
  candidateLimit: number;
}

/** What one call changed, for the caller to act on. */
export interface Change {
  /** New allocations, in placement order: the caller starts these builds. */
  placed: readonly Placement[];
  /** Allocations lost with a node that went down: their builds are gone. */
  lost: readonly Placement[];
  /** Allocations killed by `stopJob` or `stopNodeAllocs` (a force drain). */
  stopped: readonly Placement[];
  /** Draining nodes whose last allocation ended in this call (safe to terminate, as the seed says). */
  drainComplete: readonly string[];
  /** Blocked evaluations after the call (one per job still waiting for capacity). */
  blockedEvals: number;
  /**
   * True when freed capacity has not yet been offered to every blocked evaluation because of the
   * per-call bound; call `retryBlocked()` (e.g. on the next tick) to continue.
   */
  unblockPending: boolean;
}

/** Gauges of `circle.nomad.server_agent.jobs.*`. */
export interface JobCounts {
  pending: number;
  running: number;
  /** Dead jobs whose every allocation completed successfully (a subset of `dead`). */
  complete: number;
  /** Every job in status dead, as `nomad status` shows it. */
  dead: number;
}

/** Gauges of `circle.nomad.client_agent.resources.*` for one node: CPU in MHz, memory in MB. */
export interface NodeResources {
  totalCpu: number;
  /** Allocated to non-terminal allocations. */
  usedCpu: number;
  /** total − reserved − used. */
  availableCpu: number;
  reservedCpu: number;
  totalMemory: number;
  usedMemory: number;
  availableMemory: number;
  reservedMemory: number;
}

/**
 * An allocation as callers name it: its id, or the `Placement` a `Change` handed out (which spares the
 * 36-character id for callers that keep the placement, as the fleet model does).
 */
export type AllocRef = string | Placement;

const EMPTY: readonly never[] = Object.freeze([]);

/** Collects one call's effects without allocating arrays that stay empty. */
class ChangeBuilder {
  placed: Placement[] | null = null;
  lost: Placement[] | null = null;
  stopped: Placement[] | null = null;
  drainComplete: string[] | null = null;

  reset(): this {
    this.placed = null;
    this.lost = null;
    this.stopped = null;
    this.drainComplete = null;
    return this;
  }
}

function requirePositiveInteger(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

function requireNonNegativeInteger(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
}

/**
 * The Nomad server's scheduling model: cluster state, the batch GenericStack and blocked evaluations.
 *
 * Every mutating call returns a `Change`. Capacity that appears (an allocation finished, a job stopped,
 * a node added, ready again, undrained or made eligible) marks its node dirty; blocked evaluations are
 * then re-tried in (priority desc, creation) order, bounded per call:
 * - a blocked job is only retried when the dirty node itself can take one of its tasks (an O(1) check):
 *   when its evaluation blocked, a full walk found no node with room, and since then only dirty nodes
 *   gained any, so a node that cannot take a task cannot unblock it;
 * - a node stops being offered as soon as its free capacity is below the smallest blocked request
 *   (one finished 2-CPU build frees room for one 2-CPU task, not for the whole queue);
 * - at most `maxBlockedRetriesPerChange` blocked jobs are examined per call, so one call costs
 *   O(bound × shapes + placements × candidates): a placement draws a handful of candidates from the
 *   feasible nodes, and one that cannot be made fails in O(1) (stack.ts, `FitIndex`). Work left over
 *   is reported as `unblockPending` and continued by the next call or by `retryBlocked()`.
 * Partial placement is allowed, as in Nomad: the rest of the job stays blocked.
 *
 * All ids are deterministic (counters turned into Nomad-looking UUIDs); all randomness comes from the
 * given `Rng`; every collection is iterated in insertion order. Views returned by queries are read-only.
 */
export class NomadScheduler {
  readonly settings: NomadSchedulerSettings;
  private readonly nodeTable = new NodeTable(64);
  private readonly fitIndex = new FitIndex(this.nodeTable);
  private readonly stack: GenericStack;
  private readonly blocked = new BlockedEvals();
  /** Jobs by creation sequence (`Job.seq`), and the sequence of each job id (see `IdTable` for why not one Map of jobs). */
  private readonly jobTable = new SerialTable<Job>();
  private readonly jobSeqs = new Map<string, number>();
  /** Allocations by id serial (see `idSerial`). */
  private readonly allocTable = new SerialTable<Alloc>();
  /** Evaluations by id serial. */
  private readonly evalTable = new SerialTable<Eval>();
  /** Dead jobs not yet garbage-collected, in the order they died. */
  private deadJobs: Job[] = [];
  /** Nodes whose capacity grew while evaluations were blocked, in the order it happened. */
  private readonly dirty = new Set<number>();
  /** Where the retry pass over the first dirty node stopped when it ran out of budget. */
  private resume: QueueKey | null = null;
  private readonly jobCounts: JobCounts = { pending: 0, running: 0, complete: 0, dead: 0 };
  private readonly out = new ChangeBuilder();
  private nodeCounter = 0;
  private allocCounter = 0;
  private evalCounter = 0;
  private jobSeq = 0;

  constructor(opts: NomadSchedulerOptions) {
    const settings: NomadSchedulerSettings = {
      reservedCpuMilli: opts.reservedCpuMilli ?? DEFAULT_RESERVED_CPU_MILLI,
      reservedMemoryMb: opts.reservedMemoryMb ?? DEFAULT_RESERVED_MEMORY_MB,
      algorithm: opts.algorithm ?? 'binpack',
      maxBlockedRetriesPerChange: opts.maxBlockedRetriesPerChange ?? DEFAULT_MAX_BLOCKED_RETRIES_PER_CHANGE,
      candidateLimit: BATCH_CANDIDATE_LIMIT,
    };
    requireNonNegativeInteger('reservedCpuMilli', settings.reservedCpuMilli);
    requireNonNegativeInteger('reservedMemoryMb', settings.reservedMemoryMb);
    requirePositiveInteger('maxBlockedRetriesPerChange', settings.maxBlockedRetriesPerChange);
    if (settings.algorithm !== 'binpack' && settings.algorithm !== 'spread') {
      throw new RangeError(`algorithm must be binpack or spread, got ${String(settings.algorithm)}`);
    }
    this.settings = Object.freeze(settings);
    this.stack = new GenericStack(this.nodeTable, opts.rng.fork('stack'), settings.algorithm, settings.candidateLimit);
  }

  // -------------------------------------------------------------------------------------------
  // Nodes

  /** Registers a Nomad client (status ready, eligible, not draining) and returns its node id. */
  addNode(spec: NodeSpec): string {
    requirePositiveInteger('cpuMilli', spec.cpuMilli);
    requirePositiveInteger('memoryMb', spec.memoryMb);
    const id = nomadId(ID_NODE, this.nodeCounter++);
    const i = this.nodeTable.add(
      id,
      spec,
      this.settings.reservedCpuMilli,
      this.settings.reservedMemoryMb,
      spec.datacenter ?? DEFAULT_DATACENTER,
      spec.nodeClass ?? DEFAULT_NODE_CLASS,
    );
    this.fitIndex.nodeAdded(i);
    this.stack.addNode(i);
    // A new node is new capacity: offer it to blocked evaluations on the next call that processes them.
    this.markDirty(i);
    return id;
  }

  /**
   * Adds a node and offers it to blocked evaluations at once (addNode + retryBlocked), for callers
   * that want the placements a new client triggers.
   */
  addNodeAndRetry(spec: NodeSpec): { nodeId: string; change: Change } {
    const nodeId = this.addNode(spec);
    return { nodeId, change: this.retryBlocked() };
  }

  /**
   * Sets a node's status. `down`: its allocations become `lost` (returned in `lost`), as when a
   * client stops heartbeating. `ready` from another status: new capacity. A node forgotten by
   * `wipeState` re-registers when it is set to a status again.
   */
  setNodeStatus(nodeId: string, status: NodeStatus): Change {
    const out = this.out.reset();
    const nodes = this.nodeTable;
    const i = this.nodeIndex(nodeId);
    const code = status === 'ready' ? NODE_READY : status === 'down' ? NODE_DOWN : NODE_INITIALIZING;
    if (status !== 'ready' && status !== 'down' && status !== 'initializing') {
      throw new RangeError(`unknown node status ${String(status)}`);
    }
    if (nodes.status[i] !== code || nodes.registered[i] === 0) {
      if (code === NODE_DOWN) {
        // Oldest first, so `lost` lists them in placement order.
        const onNode = [...nodes.allocs[i]!].sort((x, y) => x.serial - y.serial);
        for (const a of onNode) {
          this.terminate(a, 'lost', out);
          (out.lost ??= []).push(a);
          this.updateJobStatus(a.job);
        }
      }
      this.fitIndex.beforeChange(i);
      nodes.setRegistered(i, true);
      nodes.setStatus(i, code);
      this.fitIndex.afterChange(i);
      if (code === NODE_READY) this.markDirty(i);
    }
    return this.finish(out);
  }

  /**
   * Enables or disables drain: running allocations continue, nothing new is placed. When the node
   * has (or reaches) no allocations its id appears in `drainComplete`.
   */
  setDrain(nodeId: string, enable: boolean): Change {
    const out = this.out.reset();
    const nodes = this.nodeTable;
    const i = this.nodeIndex(nodeId);
    const was = nodes.drain[i] === 1;
    this.fitIndex.beforeChange(i);
    nodes.setDrain(i, enable);
    this.fitIndex.afterChange(i);
    if (enable && !was && nodes.allocs[i]!.length === 0) (out.drainComplete ??= []).push(nodeId);
    if (!enable && was) this.markDirty(i);
    return this.finish(out);
  }

  /**
   * Stops every allocation on a node at once (returned in `stopped`), as a drain past its deadline does
   * (Nomad 0.9's force drain, and its `?enable=true`). They are not replaced elsewhere: the twin does not
   * migrate. A draining node that empties appears in `drainComplete`.
   */
  stopNodeAllocs(nodeId: string): Change {
    const out = this.out.reset();
    const i = this.nodeIndex(nodeId);
    // Oldest first, so `stopped` lists them in placement order.
    const onNode = [...this.nodeTable.allocs[i]!].sort((x, y) => x.serial - y.serial);
    for (const a of onNode) {
      a.desiredStatus = 'stop';
      this.terminate(a, 'complete', out);
      a.job.complete--;
      a.job.killed++;
      (out.stopped ??= []).push(a);
      this.updateJobStatus(a.job);
    }
    if (onNode.length > 0) this.markDirty(i);
    return this.finish(out);
  }

  /** Marks a node scheduling-eligible or ineligible (Nomad ≥ 0.8's `node eligibility`). */
  setEligibility(nodeId: string, eligible: boolean): Change {
    const out = this.out.reset();
    const nodes = this.nodeTable;
    const i = this.nodeIndex(nodeId);
    const was = nodes.eligible[i] === 1;
    this.fitIndex.beforeChange(i);
    nodes.setEligible(i, eligible);
    this.fitIndex.afterChange(i);
    if (eligible && !was) this.markDirty(i);
    return this.finish(out);
  }

  // -------------------------------------------------------------------------------------------
  // Jobs and allocations

  /**
   * Registers a batch job and evaluates it: places what fits now; the rest waits in a blocked
   * evaluation (the job stays `pending` while nothing of it runs). Capacity freed earlier and not
   * yet offered to older blocked jobs is offered to them first.
   */
  registerJob(spec: JobSpec): Change {
    const out = this.out.reset();
    if (typeof spec.id !== 'string' || spec.id.length === 0) throw new RangeError('job id must be a non-empty string');
    if (this.jobSeqs.has(spec.id)) throw new RangeError(`job ${spec.id} is already registered`);
    requirePositiveInteger('count', spec.count);
    requirePositiveInteger('cpuMilli', spec.cpuMilli);
    requirePositiveInteger('memoryMb', spec.memoryMb);
    const priority = spec.priority ?? DEFAULT_JOB_PRIORITY;
    if (!Number.isInteger(priority) || priority < 1 || priority > 100) {
      throw new RangeError(`priority must be an integer in 1..100, got ${priority}`);
    }
    // Older blocked work gets freed capacity before a newcomer, as the eval broker's FIFO would.
    this.processUnblocks(out);

    const nodes = this.nodeTable;
    const job = new Job(
      spec.id,
      priority,
      spec.count,
      spec.cpuMilli,
      spec.memoryMb,
      spec.datacenter ?? null,
      spec.nodeClass ?? null,
      spec.datacenter === undefined ? -1 : nodes.datacenterIndex(spec.datacenter),
      spec.nodeClass === undefined ? -1 : nodes.classIndex(spec.nodeClass),
      this.jobSeq++,
    );
    job.shape = this.fitIndex.shapeFor(job);
    this.jobTable.add(job.seq, job);
    this.jobSeqs.set(job.id, job.seq);
    this.jobCounts.pending++;
    const ev = this.newEval(job, 'pending', 'job-register', null);
    this.runEval(job, ev, out);
    this.updateJobStatus(job);
    return this.finish(out);
  }

  /** The client reports an allocation started (client status pending → running). */
  markRunning(alloc: AllocRef): void {
    const a = this.allocRecord(alloc);
    if (a.clientStatus !== 'pending') throw new RangeError(`allocation ${a.allocId} is ${a.clientStatus}, not pending`);
    a.clientStatus = 'running';
    a.job.starting--;
  }

  /** An allocation ended (`complete` or `failed`): frees its capacity and retries blocked evaluations. */
  finishAlloc(alloc: AllocRef, outcome: 'complete' | 'failed'): Change {
    const out = this.out.reset();
    if (outcome !== 'complete' && outcome !== 'failed') throw new RangeError(`unknown outcome ${String(outcome)}`);
    const a = this.allocRecord(alloc);
    if (a.terminal) throw new RangeError(`allocation ${a.allocId} is already ${a.clientStatus}`);
    this.terminate(a, outcome, out);
    this.markDirty(a.nodeIdx);
    this.updateJobStatus(a.job);
    return this.finish(out);
  }

  /**
   * Deregisters a job (`nomad stop`): its allocations are stopped (returned in `stopped`), its
   * blocked evaluation is canceled, the job becomes dead. A no-op for a job already dead.
   */
  stopJob(jobId: string): Change {
    const out = this.out.reset();
    const job = this.jobRecord(jobId);
    if (job === undefined) throw new RangeError(`unknown job ${jobId}`);
    if (job.status !== 'dead') {
      this.newEval(job, 'complete', 'job-deregister', null);
      for (const a of job.allocs) {
        if (a.terminal) continue;
        a.desiredStatus = 'stop';
        this.terminate(a, 'complete', out);
        job.complete--;
        job.killed++;
        (out.stopped ??= []).push(a);
        this.markDirty(a.nodeIdx);
      }
      if (job.blockedEval !== null) {
        job.blockedEval.status = 'canceled';
        job.blockedEval = null;
        this.blocked.unblock(job);
      }
      job.stopped = true;
      this.updateJobStatus(job);
    }
    return this.finish(out);
  }

  /**
   * Records an evaluation that changes nothing, as Nomad creates one for every register and deregister:
   * re-registering an unchanged live job, or stopping a job that is already stopped. Returns its id.
   */
  noopEval(jobId: string, trigger: 'job-register' | 'job-deregister'): string {
    const job = this.jobRecord(jobId);
    if (job === undefined) throw new RangeError(`unknown job ${jobId}`);
    return this.newEval(job, 'complete', trigger, null).id;
  }

  /** Continues offering freed capacity to blocked evaluations (after a `Change` had `unblockPending`). */
  retryBlocked(): Change {
    return this.finish(this.out.reset());
  }

  /**
   * Forgets every job, allocation and evaluation, as a server that lost `/opt/nomad` does. Clients
   * re-register: ready and initializing nodes come back empty, eligible and not draining (drain and
   * eligibility are server state); down nodes are forgotten until they report a status again.
   * Returns the jobs that were not dead and the allocations that were not terminal: that work is lost.
   */
  wipeState(): { lostJobs: string[]; lostAllocs: string[] } {
    const lostJobs: string[] = [];
    const lostAllocs: string[] = [];
    for (const job of this.jobTable.values()) if (job.status !== 'dead') lostJobs.push(job.id);
    for (const a of this.allocTable.values()) {
      if (a.terminal) continue;
      lostAllocs.push(a.allocId);
      a.clientStatus = 'lost';
    }
    this.jobTable.clear();
    this.jobSeqs.clear();
    this.allocTable.clear();
    this.evalTable.clear();
    this.deadJobs = [];
    this.blocked.clear();
    this.dirty.clear();
    this.resume = null;
    this.jobCounts.pending = 0;
    this.jobCounts.running = 0;
    this.jobCounts.complete = 0;
    this.jobCounts.dead = 0;
    const nodes = this.nodeTable;
    for (let i = 0; i < nodes.size; i++) {
      nodes.resetUsage(i);
      for (const a of nodes.allocs[i]!) a.slot = -1;
      nodes.allocs[i]!.length = 0;
      nodes.setDrain(i, false);
      nodes.setEligible(i, true);
      if (nodes.status[i] === NODE_DOWN) nodes.setRegistered(i, false);
    }
    this.fitIndex.rebuild();
    return { lostJobs, lostAllocs };
  }

  /** Forgets dead jobs with their allocations and evaluations (Nomad's periodic job GC). Returns how many. */
  gc(): number {
    let n = 0;
    for (const job of this.deadJobs) {
      for (const a of job.allocs) this.allocTable.delete(a.serial);
      for (const e of job.evals) this.evalTable.delete(e.serial);
      this.jobTable.delete(job.seq);
      this.jobSeqs.delete(job.id);
      this.jobCounts.dead--;
      if (job.countedComplete) this.jobCounts.complete--;
      n++;
    }
    this.deadJobs = [];
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  /** The job's status, or undefined for an unknown (or garbage-collected) job. */
  jobStatus(jobId: string): JobStatus | undefined {
    return this.jobRecord(jobId)?.status;
  }

  /** A snapshot of one job. */
  job(jobId: string): JobView | undefined {
    return this.jobRecord(jobId)?.view();
  }

  /** Snapshots of every known job, in registration order. */
  jobs(): JobView[] {
    return [...this.jobTable.values()].map((j) => j.view());
  }

  /** One allocation (live, read-only), or undefined when unknown or garbage-collected. */
  alloc(alloc: AllocRef): AllocView | undefined {
    return this.lookupAlloc(alloc);
  }

  /** A job's allocations in placement order. */
  jobAllocs(jobId: string): AllocView[] {
    return [...(this.jobRecord(jobId)?.allocs ?? [])];
  }

  /** Non-terminal allocations on a node, in placement order. */
  nodeAllocs(nodeId: string): AllocView[] {
    const i = this.nodeTable.indexOf(nodeId);
    if (i === undefined || this.nodeTable.registered[i] === 0) return [];
    return [...this.nodeTable.allocs[i]!].sort((x, y) => x.serial - y.serial);
  }

  /** One evaluation (live, read-only). */
  evaluation(evalId: string): EvalView | undefined {
    const e = this.evalTable.get(idSerial(ID_EVAL, evalId));
    return e !== undefined && e.id === evalId ? e : undefined;
  }

  /** Ids of the jobs waiting in blocked evaluations, in retry order. */
  blockedJobs(): string[] {
    return this.blocked.jobs().map((j) => j.id);
  }

  /** Number of blocked evaluations. */
  get blockedEvalCount(): number {
    return this.blocked.size;
  }

  /** A snapshot of one node, or undefined when unknown or forgotten by a wipe. */
  node(nodeId: string): NodeView | undefined {
    const i = this.nodeTable.indexOf(nodeId);
    return i === undefined || this.nodeTable.registered[i] === 0 ? undefined : this.nodeTable.view(i);
  }

  /** Snapshots of every registered node, in registration order (down ones included, as `node-status` shows). */
  nodes(): NodeView[] {
    const out: NodeView[] = [];
    for (let i = 0; i < this.nodeTable.size; i++) if (this.nodeTable.registered[i] === 1) out.push(this.nodeTable.view(i));
    return out;
  }

  /**
   * Every registered node as `nodes()` gives it, but as views this scheduler keeps and refreshes in place at each
   * call: valid until the next call, for per-tick samplers that read them at once (no allocation per node per tick).
   */
  nodesNow(): readonly NodeView[] {
    const t = this.nodeTable;
    const out = this.nowOut;
    const changed = t.takeChanged();
    if (t.size === this.nowSize && t.registrations === this.nowRegistrations) {
      // The same nodes as last time: refresh only those that changed since.
      for (const i of changed) {
        const v = this.nowViews[i];
        if (v !== undefined && t.registered[i] === 1) t.refresh(i, v);
      }
      return out;
    }
    this.nowSize = t.size;
    this.nowRegistrations = t.registrations;
    out.length = 0;
    for (let i = 0; i < t.size; i++) {
      if (t.registered[i] !== 1) continue;
      let v = this.nowViews[i];
      // A node's id, name, datacenter and class never change for its index (indices are never reused).
      if (v === undefined) this.nowViews[i] = v = t.view(i);
      else t.refresh(i, v);
      out.push(v);
    }
    return out;
  }

  /** Changes of nodes' registration so far: the positions in `nodesNow()` shift only with them. */
  get registrations(): number {
    return this.nodeTable.registrations;
  }

  /** Registered nodes whose status is ready (what `nodes().filter(n => n.status === 'ready').length` counts). */
  readyNodeCount(): number {
    return this.nodeTable.readyCount;
  }


  private readonly nowViews: NodeView[] = [];
  private readonly nowOut: NodeView[] = [];
  private nowSize = -1;
  private nowRegistrations = -1;

  /** The `circle.nomad.server_agent.jobs.*` gauges (complete and dead grow until `gc`). */
  counts(): JobCounts {
    return { ...this.jobCounts };
  }

  /** The `circle.nomad.client_agent.resources.*` gauges of one node: CPU in MHz, memory in MB. */
  nodeResources(nodeId: string): NodeResources {
    return this.resourcesAt(this.nodeIndex(nodeId));
  }

  /**
   * `nodeResources` summed over every registered node that is not down: the fleet-wide view that the
   * per-node `circle.nomad.client_agent.resources.*` gauges add up to (a down client reports nothing).
   */
  clusterResources(): NodeResources {
    const sum: NodeResources = {
      totalCpu: 0,
      usedCpu: 0,
      availableCpu: 0,
      reservedCpu: 0,
      totalMemory: 0,
      usedMemory: 0,
      availableMemory: 0,
      reservedMemory: 0,
    };
    const nodes = this.nodeTable;
    for (let i = 0; i < nodes.size; i++) {
      if (nodes.registered[i] === 0 || nodes.status[i] === NODE_DOWN) continue;
      const r = this.resourcesAt(i);
      sum.totalCpu += r.totalCpu;
      sum.usedCpu += r.usedCpu;
      sum.availableCpu += r.availableCpu;
      sum.reservedCpu += r.reservedCpu;
      sum.totalMemory += r.totalMemory;
      sum.usedMemory += r.usedMemory;
      sum.availableMemory += r.availableMemory;
      sum.reservedMemory += r.reservedMemory;
    }
    return sum;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private resourcesAt(i: number): NodeResources {
    const nodes = this.nodeTable;
    const mhz = CPU_MHZ_PER_CORE / 1000;
    const totalCpu = nodes.totalCpu[i]! * mhz;
    const reservedCpu = Math.min(nodes.reservedCpu[i]!, nodes.totalCpu[i]!) * mhz;
    const usedCpu = nodes.usedCpu[i]! * mhz;
    const totalMemory = nodes.totalMem[i]!;
    const reservedMemory = Math.min(nodes.reservedMem[i]!, totalMemory);
    const usedMemory = nodes.usedMem[i]!;
    return {
      totalCpu,
      usedCpu,
      availableCpu: totalCpu - reservedCpu - usedCpu,
      reservedCpu,
      totalMemory,
      usedMemory,
      availableMemory: totalMemory - reservedMemory - usedMemory,
      reservedMemory,
    };
  }

  private jobRecord(jobId: string): Job | undefined {
    const seq = this.jobSeqs.get(jobId);
    return seq === undefined ? undefined : this.jobTable.get(seq);
  }

  private nodeIndex(nodeId: string): number {
    const i = this.nodeTable.indexOf(nodeId);
    if (i === undefined) throw new RangeError(`unknown node ${nodeId}`);
    return i;
  }

  private lookupAlloc(ref: AllocRef): Alloc | undefined {
    if (typeof ref === 'string') {
      const a = this.allocTable.get(idSerial(ID_ALLOC, ref));
      return a !== undefined && a.allocId === ref ? a : undefined;
    }
    // A placement is the record itself: it counts only while this scheduler still holds it.
    const a = this.allocTable.get(ref.serial);
    return a === ref ? a : undefined;
  }

  private allocRecord(ref: AllocRef): Alloc {
    const a = this.lookupAlloc(ref);
    if (a === undefined) throw new RangeError(`unknown allocation ${typeof ref === 'string' ? ref : ref.allocId}`);
    return a;
  }

  private newEval(job: Job, status: Eval['status'], trigger: EvalTrigger, previous: Eval | null): Eval {
    const ev = new Eval(this.evalCounter++, job.id, status, trigger, job.priority, previous);
    job.evals.push(ev);
    this.evalTable.add(ev.serial, ev);
    return ev;
  }

  /**
   * Runs one evaluation of `job`: selects a node per remaining task until all are placed or a
   * selection fails. On failure the evaluation completes and a blocked one takes over (Nomad's
   * `queued-allocs` follow-up), carrying the failure metrics; the remaining tasks coalesce into it.
   */
  private runEval(job: Job, ev: Eval, out: ChangeBuilder): void {
    const stack = this.stack;
    stack.setJob(job);
    let placed = 0;
    while (job.placedTasks < job.count) {
      const i = stack.select();
      if (i < 0) break;
      this.place(job, i, ev, out);
      placed++;
    }
    if (job.placedTasks === job.count) {
      ev.status = 'complete';
      if (job.blockedEval !== null) {
        job.blockedEval = null;
        this.blocked.unblock(job);
      }
      return;
    }
    const m = stack.metrics;
    const failure: PlacementFailure = {
      nodesEvaluated: m.nodesEvaluated,
      nodesFiltered: m.nodesFiltered,
      nodesExhausted: m.nodesExhausted,
      dimensionExhausted: { cpu: m.exhaustedCpu, memory: m.exhaustedMemory },
      constraint: job.nodeClass === null || m.nodesFiltered === 0 ? null : `\${node.class} = ${job.nodeClass}`,
      coalescedFailures: job.count - job.placedTasks - 1,
    };
    if (placed === 0 && job.blockedEval === ev) {
      // A retry that placed nothing leaves the same evaluation blocked rather than minting a new one.
      ev.status = 'blocked';
      ev.failedTgAllocs = failure;
      return;
    }
    ev.status = 'complete';
    const blockedEval = this.newEval(job, 'blocked', 'queued-allocs', ev);
    blockedEval.failedTgAllocs = failure;
    ev.blockedEval = blockedEval;
    job.blockedEval = blockedEval;
    if (!job.inBlockedQueue) this.blocked.block(job);
  }

  private place(job: Job, i: number, ev: Eval, out: ChangeBuilder): void {
    const nodes = this.nodeTable;
    const serial = this.allocCounter++;
    const a = new Alloc(serial, job.id, job.placedTasks++, nodes.ids[i]!, ev, job, i);
    this.fitIndex.beforeChange(i);
    nodes.allocate(i, job.cpuMilli, job.memoryMb);
    this.fitIndex.afterChange(i);
    nodes.attach(a);
    job.allocs.push(a);
    job.nonTerminal++;
    job.starting++;
    const perNode = job.perNode;
    if (perNode !== null) perNode.set(i, (perNode.get(i) ?? 0) + 1);
    this.allocTable.add(serial, a);
    // Most calls place one task: a one-element literal is sized for it (an empty array grows to 17 slots).
    if (out.placed === null) out.placed = [a];
    else out.placed.push(a);
  }

  /** Moves a non-terminal allocation to a terminal client status and releases its resources. */
  private terminate(a: Alloc, status: 'complete' | 'failed' | 'lost', out: ChangeBuilder): void {
    const job = a.job;
    const nodes = this.nodeTable;
    const i = a.nodeIdx;
    if (a.clientStatus === 'pending') job.starting--;
    a.clientStatus = status;
    if (status === 'lost') a.desiredStatus = 'stop';
    job.nonTerminal--;
    if (status === 'complete') job.complete++;
    else if (status === 'failed') job.failed++;
    else job.lost++;
    this.fitIndex.beforeChange(i);
    nodes.release(i, job.cpuMilli, job.memoryMb);
    this.fitIndex.afterChange(i);
    nodes.detach(a);
    const perNode = job.perNode;
    if (perNode !== null) {
      const c = perNode.get(i)! - 1;
      if (c === 0) perNode.delete(i);
      else perNode.set(i, c);
    }
    if (nodes.drain[i] === 1 && nodes.allocs[i]!.length === 0) (out.drainComplete ??= []).push(nodes.ids[i]!);
  }

  /** Nomad's job status rule: running with any non-terminal allocation, pending with a blocked evaluation, else dead. */
  private updateJobStatus(job: Job): void {
    const s: JobStatus = job.nonTerminal > 0 ? 'running' : job.blockedEval !== null ? 'pending' : 'dead';
    if (s === job.status) return;
    const c = this.jobCounts;
    c[job.status]--;
    c[s]++;
    job.status = s;
    if (s === 'dead') {
      this.deadJobs.push(job);
      if (!job.stopped && job.complete === job.count) {
        job.countedComplete = true;
        c.complete++;
      }
    }
  }

  private markDirty(i: number): void {
    if (this.blocked.size === 0 || !this.nodeTable.isSchedulable(i)) return;
    if (this.dirty.has(i)) {
      // The node grew again: blocked jobs already passed over may fit now, so start its pass afresh.
      if (this.resume !== null && this.dirty.values().next().value === i) this.resume = null;
      return;
    }
    this.dirty.add(i);
  }

  /** Processes pending unblock work, then seals the change. */
  private finish(out: ChangeBuilder): Change {
    this.processUnblocks(out);
    return {
      placed: out.placed ?? EMPTY,
      lost: out.lost ?? EMPTY,
      stopped: out.stopped ?? EMPTY,
      drainComplete: out.drainComplete ?? EMPTY,
      blockedEvals: this.blocked.size,
      unblockPending: this.dirty.size > 0 && this.blocked.size > 0,
    };
  }

  /** Offers dirty nodes to blocked jobs, in queue order, within the per-call budget. */
  private processUnblocks(out: ChangeBuilder): void {
    const nodes = this.nodeTable;
    const blocked = this.blocked;
    let budget = this.settings.maxBlockedRetriesPerChange;
    while (this.dirty.size > 0) {
      if (blocked.size === 0) {
        this.dirty.clear();
        this.resume = null;
        return;
      }
      if (budget === 0) return;
      const x: number = this.dirty.values().next().value!;
      if (!nodes.isSchedulable(x)) {
        this.dirty.delete(x);
        this.resume = null;
        continue;
      }
      let job = this.resume === null ? blocked.first() : blocked.seek(this.resume);
      this.resume = null;
      let done = true;
      while (job !== null) {
        if (nodes.freeCpu[x]! < blocked.smallestCpuMilli || nodes.freeMem[x]! < blocked.smallestMemoryMb) {
          break;
        }
        if (budget === 0) {
          this.resume = { priority: job.priority, seq: job.seq };
          done = false;
          break;
        }
        budget--;
        if (isFeasible(nodes, x, job)) this.retry(job, out);
        job = blocked.after(job);
      }
      if (!done) return;
      this.dirty.delete(x);
    }
  }

  /** Re-runs a blocked job's evaluation: the blocked eval completes; a new one takes over if tasks remain. */
  private retry(job: Job, out: ChangeBuilder): void {
    const ev = job.blockedEval!;
    ev.status = 'pending';
    this.runEval(job, ev, out);
    this.updateJobStatus(job);
  }
}
