import type { FaultAction } from '../scenario/schema.ts';
import { undoOf, type UndoAction } from './catalogue.ts';

/**
 * The fault port: what a runtime offers to carry out the catalogue's actions. The simulation's adapter
 * (`sim-adapter.ts`) changes the model's state; the live adapter (`harness/live/replay/live-adapter.ts`) acts on
 * real processes, worker threads, the Nomad API and the TCP proxy. Scheduling (when, and `for:`) is the caller's.
 */
export interface FaultPort<R> {
  /** Carries out one operation of the catalogue (an action, or the undo of one) on its target. */
  apply(order: FaultOrder): R;
}

/** One operation on one target: `count` Nomad clients for `nomad_client`, 1 otherwise. */
export interface FaultOrder {
  readonly action: FaultAction | UndoAction;
  /** Canonical container name, `nomad_client` or `services_machine`. */
  readonly target: string;
  readonly count: number;
}

/** The order that undoes `fault` at the end of its `for:` (the catalogue's `undoneBy`). Throws for an action `for` cannot undo. */
export function undoOrder(fault: { action: FaultAction; target: string; count: number }): FaultOrder {
  const undo = undoOf(fault.action);
  if (undo === undefined) throw new Error(`\`for\` cannot undo ${fault.action} (validation should have refused it)`);
  return { action: undo, target: fault.target, count: fault.count };
}
