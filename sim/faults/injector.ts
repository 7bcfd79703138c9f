import type { World } from '../models/world.ts';
import type { NomadFleet } from '../models/fleet/nomad-fleet.ts';
import type { OutputProcessor } from '../models/services/output-processor.ts';
import type { ServicesDisk } from '../models/services/disk.ts';
import type { Broker } from '../models/services/broker.ts';
import type { WorkflowsConductor } from '../models/services/workflows-conductor.ts';
import type { SettledFault } from '../scenario/settled.ts';
import type { FaultAction } from '../scenario/schema.ts';

/** Fault actions the simulation models (for the targets `faultSupport` accepts). */
export const SIM_FAULT_ACTIONS: ReadonlySet<FaultAction> = new Set<FaultAction>([
  'kill',
  'stop',
  'start',
  'restart',
  'pause',
  'unpause',
  'drain',
  'wipe_state',
  'terminate_instance',
  'partition',
  'heal',
  'disk_fill',
  'fail_at_startup',
]);

/** Containers whose state `wipe_state` can delete in the simulation. */
const WIPEABLE = new Set(['nomad_server', 'mongo', 'postgres', 'redis', 'rabbitmq']);

/** Why the simulation cannot apply this fault (a message for the scenario error), or undefined if it can. */
export function faultSupport(action: FaultAction, target: string, atMs: number): string | undefined {
  if (!SIM_FAULT_ACTIONS.has(action)) return `fault action \`${action}\` is not modelled by the simulation yet`;

  if (action === 'wipe_state' && !WIPEABLE.has(target)) return `wiping the state of \`${target}\` is not modelled yet (modelled: ${[...WIPEABLE].join(', ')})`;
  if (action === 'disk_fill' && target !== 'services_machine') return '`disk_fill` fills the Services machine disk: target `services_machine`';
  if (action === 'fail_at_startup' && atMs !== 0) return '`fail_at_startup` applies when the Services machine boots, at 0s';
  if (action === 'fail_at_startup' && (target === 'nomad_client' || target === 'services_machine')) return '`fail_at_startup` names a container';
  if (target === 'services_machine' && !['partition', 'heal', 'disk_fill', 'terminate_instance'].includes(action)) {
    return `\`${action}\` of the whole Services machine is not modelled by \`twin run\` yet (modelled: partition, heal, disk_fill, terminate_instance)`;
  }
  return undefined;
}

/** A fault as it was applied, for the report. */
export interface AppliedFault {
  fault: SettledFault;
  atMs: number;
}

/**
 * Applies a scenario's faults at their times and undoes those with `for:`. Container faults change the
 * container's state (a kill loses in-memory state, a stop hands work back, a pause hangs it); each stage reacts
 * to its own state and its dependencies'. Fleet faults act on the Nomad clients; `wipe_state` deletes a store's
 * data; `disk_fill` fills the Services machine's disk.
 */
export class FaultInjector {
  readonly applied: AppliedFault[] = [];

  constructor(
    private readonly world: World,
    private readonly fleet: NomadFleet,
    private readonly output: OutputProcessor,
    private readonly disk: ServicesDisk,
    private readonly broker: Broker,
    private readonly conductor: WorkflowsConductor,
  ) {}

  /** Startup failures (applied by the twin before the run) are recorded; the rest are scheduled. */
  schedule(faults: readonly SettledFault[]): void {
    for (const f of faults) {
      const unsupported = faultSupport(f.action, f.target, f.atMs);
      if (unsupported !== undefined) throw new Error(`${unsupported} (validation should have refused it)`);
      if (f.action === 'fail_at_startup') this.applied.push({ fault: f, atMs: 0 });
      else this.world.sim.scheduleAt(f.atMs, this.apply, f, -10);
    }
  }

  private readonly apply = (f: SettledFault): void => {
    const { sim, services } = this.world;
    const now = sim.nowMs;
    this.applied.push({ fault: f, atMs: now });
    this.world.trace?.(`${now} fault ${f.action} ${f.target}${f.forMs === undefined ? '' : ` for ${f.forMs} ms`}`);
    if (f.target === 'nomad_client') this.fleetFault(f, true);
    else if (f.target === 'services_machine') this.machineFault(f, true);
    else {
      switch (f.action) {
        case 'kill':
          services.set(f.target, 'stopped', now, 'kill');
          break;
        case 'stop':
          services.set(f.target, 'stopped', now, 'stop');
          break;
        case 'start':
        case 'unpause':
          services.set(f.target, 'running', now, f.action === 'start' ? 'start' : 'unpause');
          break;
        case 'restart':
          services.set(f.target, 'stopped', now, 'stop');
          services.set(f.target, 'running', now, 'start');
          break;
        case 'pause':
          services.set(f.target, 'paused', now, 'pause');
          break;
        case 'wipe_state':
          this.wipe(f.target);
          break;
        default:
          throw new Error(`unhandled container fault ${f.action}`);
      }
    }
    if (f.forMs !== undefined) sim.schedule(f.forMs, this.undo, f, -10);
  };

  private readonly undo = (f: SettledFault): void => {
    const { services, sim } = this.world;
    if (f.target === 'nomad_client') return this.fleetFault(f, false);
    if (f.target === 'services_machine') return this.machineFault(f, false);
    services.set(f.target, 'running', sim.nowMs, f.action === 'pause' ? 'unpause' : 'start');
  };

  /** Deletes a store's data, as `rm -rf` of its data directory would (the store keeps running, empty). */
  private wipe(target: string): void {
    switch (target) {
      case 'nomad_server':
        this.fleet.wipeServerState();
        break;
      case 'mongo':
        this.output.wipeMongo();
        break;
      case 'postgres':
        this.conductor.wipeRecords();
        break;
      case 'redis':
        // Redis keeps only the live output of running steps: a restart with nothing.
        this.world.services.set('redis', 'stopped', this.world.sim.nowMs, 'kill');
        this.world.services.set('redis', 'running', this.world.sim.nowMs, 'start');
        break;
      case 'rabbitmq':
        this.broker.wipe();
        break;
      default:
        throw new Error(`wipe_state of ${target} is not modelled`);
    }
  }

  /**
   * The Services machine instance is terminated: every container dies at once, and its root volume (deleted
   * with the instance) takes every store's data with it. Nothing comes back without a restore from backup
   * (the disaster-recovery runbooks).
   */
  private terminateServicesMachine(): void {
    const { services, sim } = this.world;
    for (const name of services.names()) if (services.state(name) !== 'stopped') services.set(name, 'stopped', sim.nowMs, 'machine');
    this.broker.wipe();
    this.output.wipeMongo();
    this.conductor.wipeRecords();
    this.fleet.wipeServerState();
  }

  private fleetFault(f: SettledFault, apply: boolean): void {
    const ids = apply ? this.fleet.liveNodeIds().slice(0, f.count) : this.fleet.nodeIds.slice(0, f.count);
    switch (f.action) {
      case 'drain':
        for (const id of ids) this.fleet.setDrain(id, apply);
        break;
      case 'kill':
      case 'stop':
        // The Nomad agent stops: its tasks keep running, but it stops heartbeating and reporting.
        if (apply) for (const id of ids) this.fleet.agentDown(id);
        else this.fleet.restore(ids);
        break;
      case 'terminate_instance':
        for (const id of ids) this.fleet.terminate(id);
        this.fleet.replaceAfterBoot(ids.length);
        break;
      case 'start':
      case 'restart':
        this.fleet.restore(this.fleet.nodeIds.slice(0, f.count));
        break;
      case 'partition':
        this.fleet.setPartitioned(apply);
        break;
      case 'heal':
        this.fleet.setPartitioned(false);
        break;
      default:
        throw new Error(`unhandled fleet fault ${f.action}`);
    }
  }

  private machineFault(f: SettledFault, apply: boolean): void {
    switch (f.action) {
      case 'partition':
        this.fleet.setPartitioned(apply);
        break;
      case 'heal':
        this.fleet.setPartitioned(false);
        break;
      case 'disk_fill':
        if (apply) this.disk.fill(this.disk.freeMb + 1);
        else this.disk.clearFill();
        break;
      case 'terminate_instance':
        this.terminateServicesMachine();
        break;
      default:
        throw new Error(`unhandled Services machine fault ${f.action}`);
    }
  }
}
