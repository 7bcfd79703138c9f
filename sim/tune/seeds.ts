import { deriveSeed } from '../engine/rng.ts';
import type { CellParams } from './sweep.ts';

/**
 * The key of a cell's parameters, independent of the order of the flags: its keys sorted, values as JSON.
 * Seeds derive from it, not from the cell's number, so adding a value to a sweep changes no other cell's runs.
 */
export function cellKey(params: CellParams): string {
  return JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
}

/**
 * The root seed of one replication of one cell: from the sweep's seed, the cell's parameters and the
 * replication number, each step through `deriveSeed` (so replications are independent streams, and the same
 * sweep seed, cell and replication always give the same run, whichever worker or machine runs it).
 */
export function replicationSeed(sweepSeed: number, params: CellParams, replication: number): number {
  return deriveSeed(deriveSeed(sweepSeed, `tune:cell:${cellKey(params)}`), `tune:replication:${replication}`);
}
