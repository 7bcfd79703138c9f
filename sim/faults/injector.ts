import type { World } from '../models/world.ts';
import type { NomadFleet } from '../models/fleet/nomad-fleet.ts';
import type { SettledFault } from '../scenario/settled.ts';
import type { FaultAction } from '../scenario/schema.ts';

/** Fault actions the simulation models today; the others are rejected up front rather than half-applied. */
export const SIM_FAULT_ACTIONS: ReadonlySet<FaultAction> = new Set<FaultAction>(['kill', 'stop', 'start', 'restart', 'pause', 'unpause', 'drain']);

/** A fault as it was applied, for the report. */
export interface AppliedFault {
  fault: SettledFault;
  atMs: number;
}

/**
 * Applies a scenario's faults at their times, and undoes those with `for:`. Container faults change the
 * container's state; each stage reacts to its own state and to its dependencies' (see the stages).
 */
export class FaultInjector {
  readonly applied: AppliedFault[] = [];

  constructor(
    private readonly world: World,
    private readonly fleet: NomadFleet,
  ) {}

  schedule(faults: readonly SettledFault[]): void {
    for (const f of faults) {
      if (!SIM_FAULT_ACTIONS.has(f.action)) throw new Error(`fault action ${f.action} is not modelled in sim mode (validation should have refused it)`);
      this.world.sim.scheduleAt(f.atMs, this.apply, f, -10);
    }
  }

  private readonly apply = (f: SettledFault): void => {
    const { sim, services } = this.world;
    this.applied.push({ fault: f, atMs: sim.nowMs });
    this.world.trace?.(`${sim.nowMs} fault ${f.action} ${f.target}${f.forMs === undefined ? '' : ` for ${f.forMs} ms`}`);
    if (f.target === 'nomad_client') {
      this.fleetFault(f, true);
    } else {
      const now = sim.nowMs;
      switch (f.action) {
        case 'kill':
        case 'stop':
          services.set(f.target, 'stopped', now);
          break;
        case 'start':
          services.set(f.target, 'running', now);
          break;
        case 'restart':
          services.set(f.target, 'stopped', now);
          services.set(f.target, 'running', now);
          break;
        case 'pause':
          services.set(f.target, 'paused', now);
          break;
        case 'unpause':
          services.set(f.target, 'running', now);
          break;
        default:
          throw new Error(`unhandled fault ${f.action}`);
      }
    }
    if (f.forMs !== undefined) sim.schedule(f.forMs, this.undo, f, -10);
  };

  private readonly undo = (f: SettledFault): void => {
    if (f.target === 'nomad_client') return this.fleetFault(f, false);
    this.world.services.set(f.target, 'running', this.world.sim.nowMs);
  };

  private fleetFault(f: SettledFault, enable: boolean): void {
    if (f.action !== 'drain') throw new Error(`unhandled fleet fault ${f.action}`);
    const ids = this.fleet.nodeIds.slice(0, f.count);
    for (const id of ids) this.fleet.setDrain(id, enable);
  }
}
