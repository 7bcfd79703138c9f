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
  return (
    nodes.status[i] === 1 &&
    nodes.eligible[i] === 1 &&
    nodes.drain[i] === 0 &&
    nodes.registered[i] === 1 &&
    (ask.dcIdx < 0 || nodes.dcIdx[i] === ask.dcIdx)
  );
}

/** True when the node's free capacity (usable after the reservation, minus what is allocated) holds the task. */
export function fits(nodes: NodeTable, i: number, ask: Ask): boolean {
  return (
    nodes.usedCpu[i]! + ask.cpuMilli <= nodes.usableCpu[i]! && nodes.usedMem[i]! + ask.memoryMb <= nodes.usableMem[i]!
  );
}

/** Runs every check on one node and says which one, if any, rejected it. */
export function checkNode(nodes: NodeTable, i: number, ask: Ask): CheckResult {
  if (!inBaseSet(nodes, i, ask)) return NOT_IN_BASE_SET;
  if (ask.classIdx >= 0 && nodes.classIdx[i] !== ask.classIdx) return FILTERED;
  if (nodes.usedCpu[i]! + ask.cpuMilli > nodes.usableCpu[i]!) return EXHAUSTED_CPU;
  if (nodes.usedMem[i]! + ask.memoryMb > nodes.usableMem[i]!) return EXHAUSTED_MEMORY;
  return FEASIBLE;
}

/** True when the task may be placed on the node now. */
export function isFeasible(nodes: NodeTable, i: number, ask: Ask): boolean {
  return checkNode(nodes, i, ask) === FEASIBLE;
}
