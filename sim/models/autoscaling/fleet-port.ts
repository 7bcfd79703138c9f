/**
 * The simulation's side of the Auto Scaling model: its context (virtual time from `SIM_EPOCH_MS`, callbacks on the
 * simulation's event queue, counter ids) and its EC2 port onto the Nomad fleet, where an instance is a Nomad client
 * that registers once booted and a termination kills the client.
 */
import type { World } from '../world.ts';
import type { NomadFleet } from '../fleet/nomad-fleet.ts';
import type { Rng } from '../../engine/rng.ts';
import type { DurationSpec } from '../workload/types.ts';
import { sampleDurationMs } from '../workload/durations.ts';
import { SIM_EPOCH_MS } from './calendar.ts';
import type { AutoScalingContext, Ec2Port, InstanceStateName } from './group-model.ts';

export const SIM_ZONE = 'sim-1a';

/** The model's context in virtual time; `emit` goes to `onEvent` (and the run's trace). */
export function simContext(world: World, onEvent: (kind: 'asg-lifecycle' | 'asg-capacity', resourceId: string, detail: string) => void): AutoScalingContext {
  let nextId = 0;
  return {
    accountId: '000000000000',
    region: 'sim-1',
    ids: { uuid: (label = 'uuid') => `${label}-${(nextId++).toString(16).padStart(12, '0')}` },
    now: () => SIM_EPOCH_MS + world.sim.nowMs,
    sync: () => {},
    after: (delayMs, fn) => {
      const handle = world.sim.schedule(Math.max(0, delayMs), fn);
      return () => void world.sim.cancel(handle);
    },
    emit: (kind, resourceId, detail) => {
      world.trace?.(`${world.sim.nowMs} autoscaling ${kind} ${resourceId}: ${detail}`);
      onEvent(kind, resourceId, detail);
    },
  };
}

/** Nomad clients as EC2 instances: `i-<n>` launched by the group, or the fleet's initial clients by node id. */
export class FleetPort implements Ec2Port {
  readonly subnet = { subnetId: 'subnet-sim', availabilityZone: SIM_ZONE };
  readonly availabilityZones = [SIM_ZONE];
  launched = 0;
  terminated = 0;
  /** When the latest-booting instance launched so far is ready (virtual ms). */
  lastReadyAtMs = Number.NEGATIVE_INFINITY;
  private readonly state = new Map<string, InstanceStateName>();
  private readonly nodeOf = new Map<string, string>();
  private readonly instanceOf = new Map<string, string>();
  private listener: (instanceId: string, state: InstanceStateName) => void = () => {};
  private next = 1;

  constructor(
    private readonly world: World,
    private readonly fleet: NomadFleet,
    private readonly bootTime: DurationSpec,
    private readonly rng: Rng,
  ) {}

  /** The fleet's clients at the start, running, as instances named by their node ids. */
  adoptRunning(nodeIds: readonly string[]): string[] {
    for (const id of nodeIds) {
      this.state.set(id, 'running');
      this.nodeOf.set(id, id);
      this.instanceOf.set(id, id);
    }
    return [...nodeIds];
  }

  nodeIdOf(instanceId: string): string | undefined {
    return this.nodeOf.get(instanceId);
  }

  hasImage(): boolean {
    return true;
  }
  findLaunchTemplate(): undefined {
    return undefined;
  }
  launchTemplate(): undefined {
    return undefined;
  }

  runInstance(): { instanceId: string; instanceType: string } {
    const instanceId = `i-${(this.next++).toString(16).padStart(17, '0')}`;
    const bootMs = Math.max(0, Math.round(sampleDurationMs(this.bootTime, this.rng)));
    this.state.set(instanceId, 'pending');
    this.launched++;
    this.lastReadyAtMs = Math.max(this.lastReadyAtMs, this.world.sim.nowMs + bootMs);
    this.world.trace?.(`${this.world.sim.nowMs} autoscaling launch ${instanceId}, boots in ${bootMs} ms`);
    this.fleet.launch(bootMs, (nodeId) => {
      this.nodeOf.set(instanceId, nodeId);
      this.instanceOf.set(nodeId, instanceId);
      // Terminated while it booted: the client dies as soon as it registers.
      if (this.state.get(instanceId) === 'terminated') this.fleet.terminate(nodeId);
      else this.setState(instanceId, 'running');
    });
    return { instanceId, instanceType: 'nomad-client' };
  }

  instanceState(instanceId: string): InstanceStateName | undefined {
    return this.state.get(instanceId);
  }

  terminateInstances(instanceIds: readonly string[]): void {
    for (const id of instanceIds) {
      const node = this.nodeOf.get(id);
      if (node !== undefined) this.fleet.terminate(node);
      this.terminated++;
      this.world.trace?.(`${this.world.sim.nowMs} autoscaling terminated ${id}${node === undefined ? ' (still booting)' : ` (${node})`}`);
      this.setState(id, 'terminated');
    }
  }

  /**
   * Clients terminated behind the group's back (a `terminate_instance` fault): EC2 reports each instance shutting
   * down, then terminated, and the model replaces it as AWS does after its health check. Returns how many were the group's.
   */
  terminatedOutside(nodeIds: readonly string[]): number {
    let ours = 0;
    for (const node of nodeIds) {
      const id = this.instanceOf.get(node);
      const state = id === undefined ? undefined : this.state.get(id);
      if (id === undefined || state === 'terminated' || state === 'shutting-down') continue;
      ours++;
      this.world.trace?.(`${this.world.sim.nowMs} autoscaling ${id} (${node}) terminated outside the group`);
      this.setState(id, 'shutting-down');
      this.setState(id, 'terminated');
    }
    return ours;
  }

  onInstanceState(listener: (instanceId: string, state: InstanceStateName) => void): void {
    this.listener = listener;
  }

  private setState(id: string, state: InstanceStateName): void {
    this.state.set(id, state);
    this.listener(id, state);
  }
}
