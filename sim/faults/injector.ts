import type { World } from '../models/world.ts';
import type { NomadFleet } from '../models/fleet/nomad-fleet.ts';
import type { OutputProcessor } from '../models/services/output-processor.ts';
import type { ServicesDisk } from '../models/services/disk.ts';
import type { Broker } from '../models/services/broker.ts';
import type { WorkflowsConductor } from '../models/services/workflows-conductor.ts';
import type { SettledFault } from '../scenario/settled.ts';
import { simSupport } from './catalogue.ts';
import { undoOrder } from './port.ts';
import { SimFaultAdapter } from './sim-adapter.ts';

export { SIM_FAULT_ACTIONS } from './catalogue.ts';

/** Why the simulation cannot apply this fault (a message for the scenario error), or undefined if it can (the catalogue's sim column). */
export const faultSupport = simSupport;

/** A fault as it was applied, for the report. */
export interface AppliedFault {
  fault: SettledFault;
  atMs: number;
}

/**
 * Applies a scenario's faults at their times through the simulation's fault port (`sim-adapter.ts`) and undoes
 * those with `for:` (the catalogue's `undoneBy`).
 */
export class FaultInjector {
  readonly applied: AppliedFault[] = [];
  private readonly port: SimFaultAdapter;

  constructor(
    private readonly world: World,
    fleet: NomadFleet,
    output: OutputProcessor,
    disk: ServicesDisk,
    broker: Broker,
    conductor: WorkflowsConductor,
  ) {
    this.port = new SimFaultAdapter({ world, fleet, output, disk, broker, conductor });
  }

  /** Startup failures (applied by the twin before the run) are recorded; the rest are scheduled. */
  schedule(faults: readonly SettledFault[]): void {
    for (const f of faults) {
      const unsupported = simSupport(f.action, f.target, f.atMs);
      if (unsupported !== undefined) throw new Error(`${unsupported} (validation should have refused it)`);
      if (f.action === 'fail_at_startup') this.applied.push({ fault: f, atMs: 0 });
      else this.world.sim.scheduleAt(f.atMs, this.apply, f, -10);
    }
  }

  private readonly apply = (f: SettledFault): void => {
    const { sim } = this.world;
    const now = sim.nowMs;
    this.applied.push({ fault: f, atMs: now });
    this.world.trace?.(`${now} fault ${f.action} ${f.target}${f.forMs === undefined ? '' : ` for ${f.forMs} ms`}`);
    this.port.apply(f);
    if (f.forMs !== undefined) sim.schedule(f.forMs, this.undo, f, -10);
  };

  private readonly undo = (f: SettledFault): void => this.port.apply(undoOrder(f));
}
