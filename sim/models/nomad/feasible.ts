/**
 * Feasibility: may this task go on this node at all? (Nomad `scheduler/feasible.go`.)
 *
 * Nomad splits this in two places, and so do we, because it decides what the placement-failure
 * metrics count:
 * - the base node set (`readyNodesInDCs`): status `ready`, not draining, scheduling-eligible and in
 *   one of the job's datacenters. Nodes outside it are never "evaluated";
 * - the checkers on each visited node: constraints (here the `${node.class}` constraint a resource
 *   class may carry) filter a node; then the bin-packing iterator drops a node whose free resources
 *   cannot hold the task (AllocsFit: "exhausted", CPU checked before memory).
 *
 * All checks are O(1) reads of the node table: no per-evaluation copy of the node list, unlike Nomad
 * which rebuilds the base set for every evaluation.
 */
import type { NodeTable } from './cluster-state.ts';

/** The part of a job the checks need: per-task resources and interned constraints (-1 = any). */
export interface Ask {
  cpuMilli: number;
  memoryMb: number;
  dcIdx: number;
  classIdx: number;
}

/** Outcomes of `checkNode`, in the order Nomad applies the checks. */
export const FEASIBLE = 0;
/** Not in the base set: not ready, draining, ineligible, forgotten, or another datacenter. */
export const NOT_IN_BASE_SET = 1;
/** A constraint (the node class) excluded the node: Nomad's `ConstraintFiltered`. */
export const FILTERED = 2;
/** Too little free CPU: Nomad's `DimensionExhausted["cpu"]`. */
export const EXHAUSTED_CPU = 3;
/** Too little free memory: Nomad's `DimensionExhausted["memory"]`. */
export const EXHAUSTED_MEMORY = 4;

export type CheckResult = 0 | 1 | 2 | 3 | 4;

/** True when the node is in the job's base set: ready, eligible, not draining, registered, right DC. */
export function inBaseSet(nodes: NodeTable, i: number, ask: Ask): boolean {
  return nodes.open[i] === 1 && (ask.dcIdx < 0 || nodes.dcIdx[i] === ask.dcIdx);
}

/** True when the node's free capacity (usable after the reservation, minus what is allocated) holds the task. */
export function fits(nodes: NodeTable, i: number, ask: Ask): boolean {
  return ask.cpuMilli <= nodes.freeCpu[i]! && ask.memoryMb <= nodes.freeMem[i]!;
}

/** Runs every check on one node and says which one, if any, rejected it. */
export function checkNode(nodes: NodeTable, i: number, ask: Ask): CheckResult {
  if (!inBaseSet(nodes, i, ask)) return NOT_IN_BASE_SET;
  if (ask.classIdx >= 0 && nodes.classIdx[i] !== ask.classIdx) return FILTERED;
  if (ask.cpuMilli > nodes.freeCpu[i]!) return EXHAUSTED_CPU;
  if (ask.memoryMb > nodes.freeMem[i]!) return EXHAUSTED_MEMORY;
  return FEASIBLE;
}

/** True when the task may be placed on the node now. */
export function isFeasible(nodes: NodeTable, i: number, ask: Ask): boolean {
  return checkNode(nodes, i, ask) === FEASIBLE;
}

/** How far a node gets through the checks for an ask: 0 not in base set … 4 feasible. */
function level(nodes: NodeTable, i: number, ask: Ask): number {
  if (!inBaseSet(nodes, i, ask)) return 0;
  if (ask.classIdx >= 0 && nodes.classIdx[i] !== ask.classIdx) return 1;
  if (ask.cpuMilli > nodes.freeCpu[i]!) return 2;
  if (ask.memoryMb > nodes.freeMem[i]!) return 3;
  return 4;
}

/**
 * For one request shape (per-task CPU, memory, datacenter, class): how many nodes pass each check now,
 * and which nodes are feasible. From the counts the placement-failure metrics follow without walking
 * the nodes: evaluated = `base`, filtered = base − baseClass, exhausted = baseClass − fit, of which
 * cpu = baseClass − cpuFit and memory = cpuFit − fit.
 */
export interface ShapeCounts {
  readonly ask: Readonly<Ask>;
  /** Nodes in the base set (ready, eligible, not draining, in the datacenter). */
  readonly base: number;
  /** … that also pass the class constraint. */
  readonly baseClass: number;
  /** … that also have the CPU. */
  readonly cpuFit: number;
  /** … that also have the memory: the feasible nodes. */
  readonly fit: number;
  /** The feasible node indices, in no particular order; `members[0 .. fit)` are valid. */
  readonly members: Int32Array;
  /** True when node `i` is feasible for the shape. */
  has(i: number): boolean;
}

class Shape implements ShapeCounts {
  base = 0;
  baseClass = 0;
  cpuFit = 0;
  fit = 0;
  members: Int32Array;
  /** Position of each node in `members`, or -1. */
  private pos: Int32Array;

  constructor(
    readonly ask: Readonly<Ask>,
    nodeCapacity: number,
  ) {
    this.members = new Int32Array(Math.max(16, nodeCapacity));
    this.pos = new Int32Array(Math.max(16, nodeCapacity)).fill(-1);
  }

  has(i: number): boolean {
    return i < this.pos.length && this.pos[i]! >= 0;
  }

  /** Adds (d = 1) or removes (d = -1) node `i` at check level `lvl`. */
  count(i: number, lvl: number, d: number): void {
    if (lvl >= 1) this.base += d;
    if (lvl >= 2) this.baseClass += d;
    if (lvl >= 3) this.cpuFit += d;
    if (lvl >= 4) {
      if (d > 0) this.addMember(i);
      else this.removeMember(i);
    }
  }

  reset(): void {
    for (let k = 0; k < this.fit; k++) this.pos[this.members[k]!] = -1;
    this.base = this.baseClass = this.cpuFit = this.fit = 0;
  }

  private addMember(i: number): void {
    if (i >= this.pos.length) {
      const p = new Int32Array(Math.max(i + 1, this.pos.length * 2)).fill(-1);
      p.set(this.pos);
      this.pos = p;
    }
    if (this.fit === this.members.length) {
      const m = new Int32Array(this.members.length * 2);
      m.set(this.members);
      this.members = m;
    }
    this.pos[i] = this.fit;
    this.members[this.fit++] = i;
  }

  private removeMember(i: number): void {
    const at = this.pos[i]!;
    const last = this.members[--this.fit]!;
    this.members[at] = last;
    this.pos[last] = at;
    this.pos[i] = -1;
  }
}

/** Shapes indexed at most; an installation has a handful of resource classes. Others fall back to walking. */
export const MAX_INDEXED_SHAPES = 64;

/**
 * Per request shape, the nodes passing each check, kept current on every node change.
 *
 * It lets a placement draw its candidates from the feasible nodes directly (stack.ts) instead of
 * walking past full ones, and fail at once with Nomad's metrics when there is none. Keeping it current
 * costs O(shapes) per node change: callers wrap every change of a node's capacity, status, drain or
 * eligibility in `beforeChange` / `afterChange`.
 */
export class FitIndex {
  readonly shapes: ShapeCounts[] = [];
  private readonly all: Shape[] = [];
  private readonly before: Int8Array;
  private pending = -1;

  constructor(
    private readonly nodes: NodeTable,
    private readonly maxShapes = MAX_INDEXED_SHAPES,
  ) {
    this.before = new Int8Array(maxShapes);
  }

  /** The counts for an ask's shape, indexing it (one pass over the nodes) the first time; null when full. */
  shapeFor(ask: Ask): ShapeCounts | null {
    // A scan of at most `maxShapes` entries (a handful in practice) costs less than building a string key per job.
    for (const sh of this.all) {
      const a = sh.ask;
      if (a.cpuMilli === ask.cpuMilli && a.memoryMb === ask.memoryMb && a.dcIdx === ask.dcIdx && a.classIdx === ask.classIdx) return sh;
    }
    if (this.all.length >= this.maxShapes) return null;
    const sh = new Shape({ cpuMilli: ask.cpuMilli, memoryMb: ask.memoryMb, dcIdx: ask.dcIdx, classIdx: ask.classIdx }, this.nodes.size);
    for (let i = 0; i < this.nodes.size; i++) sh.count(i, level(this.nodes, i, sh.ask), 1);
    this.all.push(sh);
    this.shapes.push(sh);
    return sh;
  }

  /** Records node `i`'s standing before it changes. */
  beforeChange(i: number): void {
    if (this.pending !== -1) throw new Error(`FitIndex: change of node ${this.pending} still open`);
    this.pending = i;
    const shapes = this.all;
    for (let k = 0; k < shapes.length; k++) this.before[k] = level(this.nodes, i, shapes[k]!.ask);
  }

  /** Applies node `i`'s new standing. */
  afterChange(i: number): void {
    if (this.pending !== i) throw new Error(`FitIndex: afterChange(${i}) without beforeChange`);
    this.pending = -1;
    const shapes = this.all;
    for (let k = 0; k < shapes.length; k++) {
      const sh = shapes[k]!;
      const was = this.before[k]!;
      const now = level(this.nodes, i, sh.ask);
      if (was !== now) {
        sh.count(i, was, -1);
        sh.count(i, now, 1);
      }
    }
  }

  /** Counts a node that did not exist before. */
  nodeAdded(i: number): void {
    for (const sh of this.all) sh.count(i, level(this.nodes, i, sh.ask), 1);
  }

  /** Recounts everything (after a wipe changed every node at once). */
  rebuild(): void {
    for (const sh of this.all) {
      sh.reset();
      for (let i = 0; i < this.nodes.size; i++) sh.count(i, level(this.nodes, i, sh.ask), 1);
    }
  }
}
