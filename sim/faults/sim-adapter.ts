import type { World } from '../models/world.ts';
import type { NomadFleet } from '../models/fleet/nomad-fleet.ts';
import type { OutputProcessor } from '../models/services/output-processor.ts';
import type { ServicesDisk } from '../models/services/disk.ts';
import type { Broker } from '../models/services/broker.ts';
import type { WorkflowsConductor } from '../models/services/workflows-conductor.ts';
import type { FaultAction } from '../scenario/schema.ts';
import { targetKind, type TargetKind, type UndoAction } from './catalogue.ts';
import type { FaultOrder, FaultPort } from './port.ts';

/** The parts of the model a fault acts on. */
export interface FaultableModel {
  world: World;
  fleet: NomadFleet;
  output: OutputProcessor;
  disk: ServicesDisk;
  broker: Broker;
  conductor: WorkflowsConductor;
}

type Mechanic = (m: FaultableModel, order: FaultOrder) => void;

const setState =
  (state: 'running' | 'stopped' | 'paused', cause: 'kill' | 'stop' | 'start' | 'unpause' | 'pause'): Mechanic =>
  ({ world }, o) =>
    world.services.set(o.target, state, world.sim.nowMs, cause);

/** The first `count` clients that are up (faults take them), or the first `count` of all (recoveries take them). */
const upClients = (m: FaultableModel, o: FaultOrder) => m.fleet.liveNodeIds().slice(0, o.count);
const firstClients = (m: FaultableModel, o: FaultOrder) => m.fleet.nodeIds.slice(0, o.count);

/**
 * A Nomad client's agent stops (kill or stop): its tasks keep running, but it stops heartbeating and reporting.
 * The server's decision past the heartbeat timeout is the fleet's (client liveness).
 */
const agentDown: Mechanic = (m, o) => {
  for (const id of upClients(m, o)) m.fleet.agentDown(id);
};
const agentBack: Mechanic = (m, o) => m.fleet.restore(firstClients(m, o));
const partition: Mechanic = (m) => m.fleet.setPartitioned(true);
const heal: Mechanic = (m) => m.fleet.setPartitioned(false);

/** Deletes a store's data, as `rm -rf` of its data directory would (the store keeps running, empty). */
export const SIM_WIPES: Readonly<Record<string, (m: FaultableModel) => void>> = {
  nomad_server: (m) => m.fleet.wipeServerState(),
  mongo: (m) => m.output.wipeMongo(),
  postgres: (m) => m.conductor.wipeRecords(),
  // Redis keeps only the live output of running steps: a restart with nothing.
  redis: ({ world }) => {
    world.services.set('redis', 'stopped', world.sim.nowMs, 'kill');
    world.services.set('redis', 'running', world.sim.nowMs, 'start');
  },
  rabbitmq: (m) => m.broker.wipe(),
};

/**
 * The Services machine instance is terminated: every container dies at once, and its root volume (deleted with
 * the instance) takes every store's data with it. Nothing comes back without a restore from backup (the
 * disaster-recovery runbooks).
 */
const terminateServicesMachine: Mechanic = ({ world, broker, output, conductor, fleet }) => {
  const { services, sim } = world;
  for (const name of services.names()) if (services.state(name) !== 'stopped') services.set(name, 'stopped', sim.nowMs, 'machine');
  broker.wipe();
  output.wipeMongo();
  conductor.wipeRecords();
  fleet.wipeServerState();
};

/**
 * `replicatedctl app stop` on the Services machine: every container that is up stops gracefully (work in hand is
 * handed back; nothing stored is lost). `app start` starts every stopped container again; one that failed at
 * startup stays failed.
 */
const stopApp: Mechanic = ({ world }) => {
  for (const name of world.services.names()) if (world.services.state(name) === 'running' || world.services.state(name) === 'paused') world.services.set(name, 'stopped', world.sim.nowMs, 'stop');
};
const startApp: Mechanic = ({ world }) => {
  for (const name of world.services.names()) if (world.services.state(name) === 'stopped') world.services.set(name, 'running', world.sim.nowMs, 'start');
};

/**
 * The simulation's mechanics of each catalogue operation, by target kind: the catalogue's sim column carried out
 * (`catalogue.test.ts` checks that the two name the same pairs). Container faults change the container's state
 * (a kill loses in-memory state, a stop hands work back, a pause hangs it) and each stage reacts to its own state
 * and its dependencies'; fleet faults act on the Nomad clients; `wipe_state` deletes a store's data.
 */
export const SIM_MECHANICS: Readonly<Record<FaultAction | UndoAction, Partial<Record<TargetKind, Mechanic>>>> = {
  kill: { container: setState('stopped', 'kill'), nomad_client: agentDown },
  stop: { container: setState('stopped', 'stop'), nomad_client: agentDown, services_machine: stopApp },
  start: { container: setState('running', 'start'), nomad_client: agentBack, services_machine: startApp },
  restart: {
    container: (m, o) => {
      setState('stopped', 'stop')(m, o);
      setState('running', 'start')(m, o);
    },
    nomad_client: agentBack,
  },
  pause: { container: setState('paused', 'pause') },
  unpause: { container: setState('running', 'unpause') },
  // Applied by the twin when the Services machine boots (the container never comes up): nothing to do at a time.
  fail_at_startup: { container: () => undefined },
  wipe_state: {
    container: (m, o) => {
      const wipe = SIM_WIPES[o.target];
      if (wipe === undefined) throw new Error(`wipe_state of ${o.target} is not modelled`);
      wipe(m);
    },
  },
  disk_fill: { services_machine: ({ disk }) => disk.fill(disk.freeMb + 1) },
  free_disk: { services_machine: ({ disk }) => disk.clearFill() },
  partition: { nomad_client: partition, services_machine: partition },
  heal: { nomad_client: heal, services_machine: heal },
  terminate_instance: {
    nomad_client: (m, o) => {
      const ids = upClients(m, o);
      for (const id of ids) m.fleet.terminate(id);
      m.fleet.replaceTerminated(ids);
    },
    services_machine: terminateServicesMachine,
  },
  drain: { nomad_client: (m, o) => upClients(m, o).forEach((id) => m.fleet.setDrain(id, true)) },
  undrain: { nomad_client: (m, o) => firstClients(m, o).forEach((id) => m.fleet.setDrain(id, false)) },
  snapshot: {},
  restore: {},
};

/** The fault port on the simulation: each operation dispatched to the model's mechanics for its target kind. */
export class SimFaultAdapter implements FaultPort<void> {
  constructor(private readonly model: FaultableModel) {}

  apply(order: FaultOrder): void {
    const mechanic = SIM_MECHANICS[order.action][targetKind(order.target)];
    if (mechanic === undefined) throw new Error(`the simulation has no mechanics for ${order.action} on ${order.target} (validation should have refused it)`);
    mechanic(this.model, order);
  }
}
