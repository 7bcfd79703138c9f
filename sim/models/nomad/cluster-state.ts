import type { ShapeCounts } from './feasible.ts';
import { fmix32 } from '../../util/hash.ts';
import { IdTable } from '../../util/id-table.ts';

/**
 * The state a Nomad server holds: nodes, jobs, allocations and evaluations.
 *
 * Node capacity lives in typed arrays indexed by a dense node index (the scheduler's hot loop reads
 * only numbers); everything a human looks at (ids, names, job and allocation records) lives in plain
 * objects. Nothing here decides anything: `feasible.ts`, `rank.ts` and `stack.ts` read this state,
 * `scheduler.ts` changes it.
 */

/** `nomad node-status` Status column. Nomad also has `disconnected`; CircleCI Server 2.x never showed it. */
export type NodeStatus = 'initializing' | 'ready' | 'down';
/** Nomad ≥ 0.8's SchedulingEligibility; older servers only had the Drain flag. */
export type Eligibility = 'eligible' | 'ineligible';
/** `nomad status` Status column (Nomad's `structs.JobStatus*`). */
export type JobStatus = 'pending' | 'running' | 'dead';
/** Allocation client status (Nomad's `AllocClientStatus*`); `complete`, `failed` and `lost` are terminal. */
export type ClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost';
/** Allocation desired status: the server's wish (`run`) or a stop it asked for (`stop`). */
export type DesiredStatus = 'run' | 'stop';
/** Evaluation status (Nomad spells the cancelled state `canceled`). */
export type EvalStatus = 'pending' | 'blocked' | 'complete' | 'canceled';
/** What created an evaluation, with Nomad's `EvalTrigger*` names. */
export type EvalTrigger = 'job-register' | 'job-deregister' | 'queued-allocs';

/** Node status codes stored in the node table. */
export const NODE_INITIALIZING = 0;
export const NODE_READY = 1;
export const NODE_DOWN = 2;
const NODE_STATUS_NAMES: readonly NodeStatus[] = ['initializing', 'ready', 'down'];

/** Nomad's batch-job default priority (the seed's `nomad status` shows 50 for every CircleCI job). */
export const DEFAULT_JOB_PRIORITY = 50;
/** The seed: "DC in the output ... will always print us-east-1". */
export const DEFAULT_DATACENTER = 'us-east-1';
/** The node class of the seed's `nomad node-status -allocs` example. */
export const DEFAULT_NODE_CLASS = 'linux-64bit';
/** CircleCI's Nomad jobs have one task group; the seed's job ids carry the word `build`. */
export const TASK_GROUP_NAME = 'build';
/**
 * MHz per core for the `circle.nomad.client_agent.resources.*.cpu` gauges, which the seed says are in
 * MHz. Nomad fingerprints CPU as cores × clock speed; 2500 MHz is the clock of the m5 instances a
 * Server 2.x Nomad fleet typically ran on. The scheduler itself counts millicores; this is only a
 * display conversion.
 */
export const CPU_MHZ_PER_CORE = 2500;

// ---------------------------------------------------------------------------------------------
// Identifiers

// murmur3's finaliser is a bijection on uint32, so distinct serials give distinct ids.

/** The multiplicative inverse of an odd number modulo 2^32 (Newton's iteration). */
function inverseMod32(c: number): number {
  let x = c;
  for (let k = 0; k < 5; k++) x = Math.imul(x, 2 - Math.imul(c, x));
  return x >>> 0;
}

const INV_C1 = inverseMod32(0x85ebca6b);
const INV_C2 = inverseMod32(0xc2b2ae35);

/** The inverse of `fmix32`. */
function unfmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, INV_C2);
  h ^= (h >>> 13) ^ (h >>> 26);
  h = Math.imul(h, INV_C1);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Which kind of object an id names; each kind has its own serial counter and salt. */
export const ID_NODE = 0;
export const ID_ALLOC = 1;
export const ID_EVAL = 2;
export type IdKind = 0 | 1 | 2;
const ID_SALTS = [0x6e6f6465, 0x616c6c6f, 0x6576616c] as const;

const HEX_CODES: readonly number[] = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Scratch buffer of an id's character codes, dashes pre-filled (the model is single-threaded). */
const idCodes: number[] = new Array<number>(36).fill(45);

function writeHex(pos: number, x: number, digits: number): void {
  for (let k = digits - 1; k >= 0; k--) {
    idCodes[pos + k] = HEX_CODES[x & 15]!;
    x >>>= 4;
  }
}

/**
 * A deterministic Nomad-looking UUID (8-4-4-4-12 hex) for the `serial`-th object of a kind.
 *
 * The first 8 hex digits are a bijection of the serial, so the 8-character short ids that the CLI
 * prints never collide within a kind for the first 2^32 objects, and `idSerial` can read the serial
 * back (the tables are keyed by serial, which is cheaper than hashing 36-character strings). The
 * string is built flat from character codes: concatenating pieces would leave a rope that every map
 * lookup has to flatten.
 */
export function nomadId(kind: IdKind, serial: number): string {
  const a = fmix32((serial ^ ID_SALTS[kind]) >>> 0);
  const b = fmix32(a ^ 0x9e3779b9);
  const c = fmix32((b + 0x7f4a7c15) >>> 0);
  const d = fmix32(c ^ 0x94d049bb);
  writeHex(0, a, 8);
  writeHex(9, b >>> 16, 4);
  writeHex(14, b & 0xffff, 4);
  writeHex(19, c >>> 16, 4);
  writeHex(24, c & 0xffff, 4);
  writeHex(28, d, 8);
  return String.fromCharCode.apply(null, idCodes);
}

/** The serial an id of this kind was made from, or -1 when the string cannot be one (not verified further). */
export function idSerial(kind: IdKind, id: string): number {
  if (id.length !== 36) return -1;
  let a = 0;
  for (let k = 0; k < 8; k++) {
    const ch = id.charCodeAt(k);
    const v = ch >= 48 && ch <= 57 ? ch - 48 : ch >= 97 && ch <= 102 ? ch - 87 : -1;
    if (v < 0) return -1;
    a = a * 16 + v;
  }
  return (unfmix32(a) ^ ID_SALTS[kind]) >>> 0;
}

/** The first 8 characters of an id, as Nomad's CLI prints it without `-verbose`. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * Records keyed by their id serial (see `IdTable`): lookup is two array reads, and a chunk is dropped once
 * every record in it has been removed, without the cost of hash-map deletions on every GC. Serials are
 * added in increasing order, so a dropped chunk never comes back.
 */
export class SerialTable<T> extends IdTable<T> {
  /** Stores a record under the next serial; serials must be added in increasing order. */
  add(serial: number, value: T): void {
    if (serial < this.top) throw new Error(`serial ${serial} added out of order (next is ${this.top})`);
    this.set(serial, value);
  }
}

// ---------------------------------------------------------------------------------------------
// Nodes

/** What `addNode` needs: a Nomad client's name, its total capacity and where it is. */
export interface NodeSpec {
  name: string;
  /** Total CPU of the machine in millicores (a 4-vCPU machine: 4000). */
  cpuMilli: number;
  /** Total memory of the machine in MB. */
  memoryMb: number;
  datacenter?: string;
  nodeClass?: string;
}

/** A read-only snapshot of one node, for queries, gauges and the status texts. */
export interface NodeView {
  id: string;
  name: string;
  datacenter: string;
  nodeClass: string;
  status: NodeStatus;
  drain: boolean;
  eligibility: Eligibility;
  totalCpuMilli: number;
  totalMemoryMb: number;
  reservedCpuMilli: number;
  reservedMemoryMb: number;
  /** CPU allocated to non-terminal allocations. */
  usedCpuMilli: number;
  usedMemoryMb: number;
  /** Non-terminal allocations on the node (the seed's "Running Allocs"). */
  runningAllocs: number;
}

/**
 * The node table: dense indices, capacity in typed arrays, growable by doubling.
 *
 * A node index is never reused, so an index held by the scheduler's stack stays valid for the whole run.
 */
export class NodeTable {
  size = 0;
  private capacity: number;

  readonly ids: string[] = [];
  readonly names: string[] = [];
  readonly datacenters: string[] = [];
  readonly classes: string[] = [];
  /** Non-terminal allocations per node; each alloc knows its slot, so removal is a swap with the last. */
  readonly allocs: Alloc[][] = [];
  private readonly byId = new Map<string, number>();

  dcIdx: Int32Array;
  classIdx: Int32Array;
  totalCpu: Float64Array;
  totalMem: Float64Array;
  reservedCpu: Float64Array;
  reservedMem: Float64Array;
  /** total − reserved, floored at zero: what the scheduler may hand out. */
  usableCpu: Float64Array;
  usableMem: Float64Array;
  usedCpu: Float64Array;
  usedMem: Float64Array;
  /** usable − used, kept alongside so the walk reads one number per dimension. */
  freeCpu: Float64Array;
  freeMem: Float64Array;
  /** 1 when ready, eligible, not draining and registered: in every job's base set but for the datacenter. */
  open: Uint8Array;
  status: Uint8Array;
  drain: Uint8Array;
  eligible: Uint8Array;
  /** 0 once a wipe of the server's state has forgotten a down node (it has not re-registered). */
  registered: Uint8Array;
  /** Changes of `registered` so far (a per-tick sampler's positions shift with them). */
  registrations = 0;
  /** Registered nodes whose status is ready, kept as statuses and registrations change. */
  readyCount = 0;
  /** Nodes changed since the last `takeChanged()`, each once (`changedFlag`), for views refreshed in place. */
  private changed: number[] = [];
  private changedFlag: Uint8Array;

  private readonly dcNames = new Map<string, number>();
  private readonly classNames = new Map<string, number>();

  constructor(initialCapacity = 16) {
    this.capacity = Math.max(1, initialCapacity);
    const c = this.capacity;
    this.dcIdx = new Int32Array(c);
    this.classIdx = new Int32Array(c);
    this.totalCpu = new Float64Array(c);
    this.totalMem = new Float64Array(c);
    this.reservedCpu = new Float64Array(c);
    this.reservedMem = new Float64Array(c);
    this.usableCpu = new Float64Array(c);
    this.usableMem = new Float64Array(c);
    this.usedCpu = new Float64Array(c);
    this.usedMem = new Float64Array(c);
    this.freeCpu = new Float64Array(c);
    this.freeMem = new Float64Array(c);
    this.open = new Uint8Array(c);
    this.status = new Uint8Array(c);
    this.drain = new Uint8Array(c);
    this.eligible = new Uint8Array(c);
    this.registered = new Uint8Array(c);
    this.changedFlag = new Uint8Array(c);
  }

  private touch(i: number): void {
    if (this.changedFlag[i] === 1) return;
    this.changedFlag[i] = 1;
    this.changed.push(i);
  }

  /** The nodes changed since the last call (status, drain, eligibility, registration, usage, allocations), once each. */
  takeChanged(): readonly number[] {
    const out = this.changed;
    this.changed = [];
    for (const i of out) this.changedFlag[i] = 0;
    return out;
  }

  /** Interns a datacenter name into a small integer (a name no node has still gets one). */
  datacenterIndex(name: string): number {
    let i = this.dcNames.get(name);
    if (i === undefined) {
      i = this.dcNames.size;
      this.dcNames.set(name, i);
    }
    return i;
  }

  /** Interns a node class name into a small integer. */
  classIndex(name: string): number {
    let i = this.classNames.get(name);
    if (i === undefined) {
      i = this.classNames.size;
      this.classNames.set(name, i);
    }
    return i;
  }

  indexOf(nodeId: string): number | undefined {
    return this.byId.get(nodeId);
  }

  /** Adds a ready, eligible, non-draining node and returns its index. */
  add(
    id: string,
    spec: NodeSpec,
    reservedCpuMilli: number,
    reservedMemoryMb: number,
    datacenter: string,
    nodeClass: string,
  ): number {
    if (this.size === this.capacity) this.grow();
    const i = this.size++;
    this.ids.push(id);
    this.names.push(spec.name);
    this.datacenters.push(datacenter);
    this.classes.push(nodeClass);
    this.allocs.push([]);
    this.byId.set(id, i);
    this.dcIdx[i] = this.datacenterIndex(datacenter);
    this.classIdx[i] = this.classIndex(nodeClass);
    this.totalCpu[i] = spec.cpuMilli;
    this.totalMem[i] = spec.memoryMb;
    this.reservedCpu[i] = reservedCpuMilli;
    this.reservedMem[i] = reservedMemoryMb;
    this.usableCpu[i] = Math.max(0, spec.cpuMilli - reservedCpuMilli);
    this.usableMem[i] = Math.max(0, spec.memoryMb - reservedMemoryMb);
    this.usedCpu[i] = 0;
    this.usedMem[i] = 0;
    this.freeCpu[i] = this.usableCpu[i]!;
    this.freeMem[i] = this.usableMem[i]!;
    this.status[i] = NODE_READY;
    this.drain[i] = 0;
    this.eligible[i] = 1;
    this.registered[i] = 1;
    this.open[i] = 1;
    this.readyCount++;
    this.touch(i);
    return i;
  }

  /** Books resources for a new allocation on node `i`. */
  allocate(i: number, cpuMilli: number, memoryMb: number): void {
    this.touch(i);
    this.usedCpu[i]! += cpuMilli;
    this.usedMem[i]! += memoryMb;
    this.freeCpu[i]! -= cpuMilli;
    this.freeMem[i]! -= memoryMb;
  }

  /** Returns an allocation's resources to node `i`. */
  release(i: number, cpuMilli: number, memoryMb: number): void {
    this.touch(i);
    this.usedCpu[i]! -= cpuMilli;
    this.usedMem[i]! -= memoryMb;
    this.freeCpu[i]! += cpuMilli;
    this.freeMem[i]! += memoryMb;
  }

  /** Forgets every allocation's resources on node `i`. */
  resetUsage(i: number): void {
    this.touch(i);
    this.usedCpu[i] = 0;
    this.usedMem[i] = 0;
    this.freeCpu[i] = this.usableCpu[i]!;
    this.freeMem[i] = this.usableMem[i]!;
  }

  private readyRegistered(i: number): number {
    return this.status[i] === NODE_READY && this.registered[i] === 1 ? 1 : 0;
  }

  setStatus(i: number, code: number): void {
    this.readyCount -= this.readyRegistered(i);
    this.status[i] = code;
    this.readyCount += this.readyRegistered(i);
    this.refreshOpen(i);
  }

  setDrain(i: number, drain: boolean): void {
    this.drain[i] = drain ? 1 : 0;
    this.refreshOpen(i);
  }

  setEligible(i: number, eligible: boolean): void {
    this.eligible[i] = eligible ? 1 : 0;
    this.refreshOpen(i);
  }

  setRegistered(i: number, registered: boolean): void {
    if (this.registered[i] !== (registered ? 1 : 0)) this.registrations++;
    this.readyCount -= this.readyRegistered(i);
    this.registered[i] = registered ? 1 : 0;
    this.readyCount += this.readyRegistered(i);
    this.refreshOpen(i);
  }

  private refreshOpen(i: number): void {
    this.touch(i);
    this.open[i] =
      this.status[i] === NODE_READY && this.eligible[i] === 1 && this.drain[i] === 0 && this.registered[i] === 1 ? 1 : 0;
  }

  /** Records a new non-terminal allocation on its node. */
  attach(a: Alloc): void {
    this.touch(a.nodeIdx);
    const list = this.allocs[a.nodeIdx]!;
    a.slot = list.length;
    list.push(a);
  }

  /** Removes an allocation from its node's list in O(1). */
  detach(a: Alloc): void {
    this.touch(a.nodeIdx);
    const list = this.allocs[a.nodeIdx]!;
    const last = list.pop()!;
    if (last !== a) {
      list[a.slot] = last;
      last.slot = a.slot;
    }
    a.slot = -1;
  }

  /** True when the scheduler may place on the node at all (Nomad's `readyNodesInDCs` minus the DC test). */
  isSchedulable(i: number): boolean {
    return this.open[i] === 1;
  }

  statusName(i: number): NodeStatus {
    return NODE_STATUS_NAMES[this.status[i]!]!;
  }

  /** Writes node `i`'s current values into `v` (a view kept by the caller and refreshed in place). */
  refresh(i: number, v: NodeView): void {
    v.status = this.statusName(i);
    v.drain = this.drain[i] === 1;
    v.eligibility = this.eligible[i] === 1 ? 'eligible' : 'ineligible';
    v.totalCpuMilli = this.totalCpu[i]!;
    v.totalMemoryMb = this.totalMem[i]!;
    v.reservedCpuMilli = this.reservedCpu[i]!;
    v.reservedMemoryMb = this.reservedMem[i]!;
    v.usedCpuMilli = this.usedCpu[i]!;
    v.usedMemoryMb = this.usedMem[i]!;
    v.runningAllocs = this.allocs[i]!.length;
  }

  view(i: number): NodeView {
    return {
      id: this.ids[i]!,
      name: this.names[i]!,
      datacenter: this.datacenters[i]!,
      nodeClass: this.classes[i]!,
      status: this.statusName(i),
      drain: this.drain[i] === 1,
      eligibility: this.eligible[i] === 1 ? 'eligible' : 'ineligible',
      totalCpuMilli: this.totalCpu[i]!,
      totalMemoryMb: this.totalMem[i]!,
      reservedCpuMilli: this.reservedCpu[i]!,
      reservedMemoryMb: this.reservedMem[i]!,
      usedCpuMilli: this.usedCpu[i]!,
      usedMemoryMb: this.usedMem[i]!,
      runningAllocs: this.allocs[i]!.length,
    };
  }

  private grow(): void {
    const c = this.capacity * 2;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(c);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(c);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(c);
      b.set(a);
      return b;
    };
    this.dcIdx = i32(this.dcIdx);
    this.classIdx = i32(this.classIdx);
    this.totalCpu = f64(this.totalCpu);
    this.totalMem = f64(this.totalMem);
    this.reservedCpu = f64(this.reservedCpu);
    this.reservedMem = f64(this.reservedMem);
    this.usableCpu = f64(this.usableCpu);
    this.usableMem = f64(this.usableMem);
    this.usedCpu = f64(this.usedCpu);
    this.usedMem = f64(this.usedMem);
    this.freeCpu = f64(this.freeCpu);
    this.freeMem = f64(this.freeMem);
    this.open = u8(this.open);
    this.status = u8(this.status);
    this.drain = u8(this.drain);
    this.eligible = u8(this.eligible);
    this.registered = u8(this.registered);
    this.changedFlag = u8(this.changedFlag);
    this.capacity = c;
  }
}

// ---------------------------------------------------------------------------------------------
// Jobs, allocations, evaluations

/** What `registerJob` needs: one CircleCI job run as one Nomad batch job of `count` identical tasks. */
export interface JobSpec {
  /** The Nomad job id (CircleCI's look like `5a4ea06b7d560d000116830f-0-build-GERey-realitycheck-1`). */
  id: string;
  /** Task group count: the CircleCI job's parallelism. */
  count: number;
  /** CPU per task in millicores (resource class cpu 2.0 → 2000). */
  cpuMilli: number;
  /** Memory per task in MB. */
  memoryMb: number;
  /** Nomad priority, 1..100; default 50. */
  priority?: number;
  /** Restricts placement to one datacenter; any when absent. */
  datacenter?: string;
  /** A `${node.class} = …` constraint; any class when absent. */
  nodeClass?: string;
}

/** Where one task of a job was placed. */
export interface Placement {
  /**
   * The allocation's serial: 0, 1, 2, … in placement order, the number its id is made from. A dense key for
   * a caller's own per-allocation state (`IdTable`), cheaper than the 36-character id.
   */
  readonly serial: number;
  readonly allocId: string;
  readonly jobId: string;
  /** 0-based task index within the job (CircleCI's parallel container index). */
  readonly taskIndex: number;
  readonly nodeId: string;
}

/** An allocation as queries see it: a placement plus its statuses. Live and read-only. */
export interface AllocView extends Placement {
  readonly evalId: string;
  readonly desiredStatus: DesiredStatus;
  readonly clientStatus: ClientStatus;
}

/**
 * One allocation record. The scheduler hands it out typed as `Placement` / `AllocView`. Its id string is
 * made on first use: most allocations of a long run are never looked at by id.
 */
export class Alloc implements AllocView {
  desiredStatus: DesiredStatus = 'run';
  clientStatus: ClientStatus = 'pending';
  /** Internal: position in the node's allocation list while non-terminal, else -1. */
  slot = -1;
  private idText: string | null = null;

  constructor(
    /** The serial the id is made from, the key of the allocation table. */
    readonly serial: number,
    readonly jobId: string,
    readonly taskIndex: number,
    readonly nodeId: string,
    /** Internal: the evaluation that placed it. */
    readonly evaluation: Eval,
    /** Internal: the owning job record. */
    readonly job: Job,
    /** Internal: the node's index in the node table. */
    readonly nodeIdx: number,
  ) {}

  get allocId(): string {
    return (this.idText ??= nomadId(ID_ALLOC, this.serial));
  }

  get evalId(): string {
    return this.evaluation.id;
  }

  get terminal(): boolean {
    return isTerminalClientStatus(this.clientStatus);
  }

  /** The view's fields only: the record links to its job, which links back. */
  toJSON(): AllocView {
    return {
      serial: this.serial,
      allocId: this.allocId,
      jobId: this.jobId,
      taskIndex: this.taskIndex,
      nodeId: this.nodeId,
      evalId: this.evalId,
      desiredStatus: this.desiredStatus,
      clientStatus: this.clientStatus,
    };
  }
}

export function isTerminalClientStatus(s: ClientStatus): boolean {
  return s === 'complete' || s === 'failed' || s === 'lost';
}

/** Why the last placement attempt for a job failed, as Nomad's AllocMetric records it. */
export interface PlacementFailure {
  /** Nodes that were ready, eligible, not draining and in the job's datacenter. */
  nodesEvaluated: number;
  /** Of those, nodes a constraint (the node class) excluded. */
  nodesFiltered: number;
  /** Nodes that passed the constraints but had too little free CPU or memory. */
  nodesExhausted: number;
  /** Nodes exhausted per dimension (`cpu` is checked first, as in Nomad's AllocsFit). */
  dimensionExhausted: { cpu: number; memory: number };
  /** The constraint text Nomad prints, when a class constraint filtered nodes. */
  constraint: string | null;
  /** Allocations that failed in the same way and were coalesced into this one. */
  coalescedFailures: number;
}

/** An evaluation as queries see it. */
export interface EvalView {
  readonly id: string;
  readonly jobId: string;
  readonly status: EvalStatus;
  readonly triggeredBy: EvalTrigger;
  readonly priority: number;
  /** The blocked evaluation this one created when it could not place everything. */
  readonly blockedEvalId: string | null;
  /** The evaluation whose failure created this (blocked) one. */
  readonly previousEvalId: string | null;
  /** Set on a blocked evaluation: why its last attempt failed. */
  readonly failedTgAllocs: PlacementFailure | null;
}

/** One evaluation record; its id string is made on first use (most are never looked at). */
export class Eval implements EvalView {
  blockedEval: Eval | null = null;
  failedTgAllocs: PlacementFailure | null = null;
  private idText: string | null = null;

  constructor(
    /** Internal: the serial the id is made from, the key of the evaluation table. */
    readonly serial: number,
    readonly jobId: string,
    public status: EvalStatus,
    readonly triggeredBy: EvalTrigger,
    readonly priority: number,
    /** Internal: the evaluation whose failure created this one. */
    readonly previousEval: Eval | null,
  ) {}

  get id(): string {
    return (this.idText ??= nomadId(ID_EVAL, this.serial));
  }

  get blockedEvalId(): string | null {
    return this.blockedEval === null ? null : this.blockedEval.id;
  }

  get previousEvalId(): string | null {
    return this.previousEval === null ? null : this.previousEval.id;
  }

  /** The view's fields only (the record links to other evaluations). */
  toJSON(): EvalView {
    return {
      id: this.id,
      jobId: this.jobId,
      status: this.status,
      triggeredBy: this.triggeredBy,
      priority: this.priority,
      blockedEvalId: this.blockedEvalId,
      previousEvalId: this.previousEvalId,
      failedTgAllocs: this.failedTgAllocs,
    };
  }
}

/** Per-task-group allocation counts, the `Summary` table of `nomad status <job>`. */
export interface JobSummary {
  /** Tasks not yet placed (waiting in a blocked evaluation). */
  queued: number;
  /** Placed, client has not reported running yet. */
  starting: number;
  running: number;
  failed: number;
  complete: number;
  lost: number;
}

/** A read-only snapshot of one job. */
export interface JobView {
  id: string;
  type: 'batch';
  priority: number;
  status: JobStatus;
  count: number;
  cpuMilli: number;
  memoryMb: number;
  datacenter: string | null;
  nodeClass: string | null;
  /** True after `stopJob` (Nomad's `Stop` flag). */
  stopped: boolean;
  summary: JobSummary;
  /** Allocation ids in placement order. */
  allocIds: readonly string[];
  /** Evaluation ids in creation order. */
  evalIds: readonly string[];
  blockedEvalId: string | null;
}

/** One job record. Internal: the scheduler keeps every counter here up to date incrementally. */
export class Job {
  status: JobStatus = 'pending';
  stopped = false;
  readonly allocs: Alloc[] = [];
  readonly evals: Eval[] = [];
  /** Tasks [0, placedTasks) have an allocation; task indices are handed out in order. */
  placedTasks = 0;
  /** Allocations in client status pending or running. */
  nonTerminal = 0;
  starting = 0;
  complete = 0;
  failed = 0;
  lost = 0;
  /** Allocations stopped by `stopJob` (client status complete, desired stop). */
  killed = 0;
  blockedEval: Eval | null = null;
  /** True while the job sits in the blocked-evaluation queue (possibly as a lazily deleted entry). */
  inBlockedQueue = false;
  /** Whether the job was counted as `complete` when it died (for the jobs.complete gauge). */
  countedComplete = false;
  /**
   * Non-terminal allocations of this job per node index, for the job anti-affinity score; only kept
   * for jobs with count > 1 (a single-task job can never collide with itself).
   */
  readonly perNode: Map<number, number> | null;
  /** Live feasibility counts for this job's request shape (set at registration; null when not indexed). */
  shape: ShapeCounts | null = null;

  constructor(
    readonly id: string,
    readonly priority: number,
    readonly count: number,
    readonly cpuMilli: number,
    readonly memoryMb: number,
    readonly datacenter: string | null,
    readonly nodeClass: string | null,
    /** Interned datacenter index, or -1 for any. */
    readonly dcIdx: number,
    /** Interned node class index, or -1 for any. */
    readonly classIdx: number,
    /** Creation order, the tie-breaker after priority in the blocked queue. */
    readonly seq: number,
  ) {
    this.perNode = count > 1 ? new Map() : null;
  }

  /** Tasks still to place (0 once stopped). */
  get queued(): number {
    return this.stopped ? 0 : this.count - this.placedTasks;
  }

  view(): JobView {
    return {
      id: this.id,
      type: 'batch',
      priority: this.priority,
      status: this.status,
      count: this.count,
      cpuMilli: this.cpuMilli,
      memoryMb: this.memoryMb,
      datacenter: this.datacenter,
      nodeClass: this.nodeClass,
      stopped: this.stopped,
      summary: {
        queued: this.queued,
        starting: this.starting,
        running: this.nonTerminal - this.starting,
        failed: this.failed,
        complete: this.complete + this.killed,
        lost: this.lost,
      },
      allocIds: this.allocs.map((a) => a.allocId),
      evalIds: this.evals.map((e) => e.id),
      blockedEvalId: this.blockedEval?.id ?? null,
    };
  }
}
