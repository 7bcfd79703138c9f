/**
 * Scale-in of Nomad clients through a termination lifecycle hook (the seeds' "drain the node before terminating
 * it"): an instance the group terminates waits in `Terminating:Wait`; its client is set draining; at each check the
 * hook completes (CONTINUE: the instance terminates) once the client has no allocations left, else records a
 * heartbeat so the hook's timeout does not cut a running build. The one rule the simulation's group (`asg.ts`, on
 * the simulated fleet) and the twin's Auto Scaling endpoint (`harness/ec2/nomad-clients.ts`, on the twin's Nomad
 * API) follow; each gives the port onto its Nomad.
 */
import { TERMINATING, type AutoScalingModel, type PutLifecycleHookInput } from './group-model.ts';

export const DRAIN_HOOK = 'nomad-drain';

/** The hook as the group holds it: the longest heartbeat AWS allows; a heartbeat is recorded at every check. */
export const DRAIN_HOOK_SPEC: PutLifecycleHookInput = { hookName: DRAIN_HOOK, transition: TERMINATING, heartbeatTimeoutS: 7200, defaultResult: 'CONTINUE' };

/** The Nomad side: which node an instance is, drain it, how many allocations still run on it. */
export interface DrainPort {
  nodeIdOf(instanceId: string): string | undefined;
  drain(nodeId: string): void;
  allocsOn(nodeId: string): number;
}

export class DrainHook {
  /** Instances in the hook whose clients drain. */
  readonly draining = new Set<string>();

  constructor(
    private readonly model: Pick<AutoScalingModel, 'recordLifecycleActionHeartbeat' | 'completeLifecycleAction'>,
    private readonly groupName: string,
    private readonly port: DrainPort,
  ) {}

  /** A model event; when an instance starts waiting on the hook, its client starts draining: answers its node id. */
  onEvent(kind: string, instanceId: string, detail: string): { instanceId: string; nodeId: string | undefined } | undefined {
    if (kind !== 'asg-lifecycle' || !detail.startsWith('Terminating:Wait') || !detail.includes(DRAIN_HOOK)) return undefined;
    this.draining.add(instanceId);
    const nodeId = this.port.nodeIdOf(instanceId);
    if (nodeId !== undefined) this.port.drain(nodeId);
    return { instanceId, nodeId };
  }

  /** One check: the hook completes for clients with no allocations left; the others record a heartbeat. */
  check(): void {
    for (const id of [...this.draining]) {
      const node = this.port.nodeIdOf(id);
      const busy = node === undefined ? 0 : this.port.allocsOn(node);
      const lifecycle = { groupName: this.groupName, hookName: DRAIN_HOOK, instanceId: id };
      if (busy > 0) {
        this.model.recordLifecycleActionHeartbeat(lifecycle);
        continue;
      }
      this.draining.delete(id);
      this.model.completeLifecycleAction({ ...lifecycle, result: 'CONTINUE' });
    }
  }
}
