import type { World } from '../world.ts';
import type { Rng } from '../../engine/rng.ts';
import { SampleSet } from '../../metrics/percentiles.ts';
import { TIMINGS } from '../timings.ts';

export type VmKind = 'machine' | 'remote_docker';

/**
 * vm-service with vm-scaler: EC2 instances for `machine` and remote Docker jobs. A job takes a preallocated
 * instance if one is waiting, else one is launched on demand and boots for 1–3 minutes (the seeds' figure).
 * Instances are never reused ("Machine executor VMs never get reused"); vm-scaler tops the pool back up.
 */
export class VmService {
  private readonly rng: Rng;
  private readonly pool: Record<VmKind, number>;
  private readonly booting: Record<VmKind, number> = { machine: 0, remote_docker: 0 };
  private readonly target: Record<VmKind, number>;
  launched = 0;
  terminated = 0;
  preallocatedUsed = 0;
  running = 0;
  readonly waits = new SampleSet();

  constructor(private readonly world: World) {
    this.rng = world.rng.fork('vm-service');
    const v = world.scenario.topology.vmService;
    this.target = { machine: v.preallocatedMachine, remote_docker: v.preallocatedRemoteDocker };
    // The run starts in steady state: the preallocated instances are already up.
    this.pool = { ...this.target };
  }

  /** Asks for an instance; `ready` is called once it can run the job, `failed` if vm-service cannot serve. */
  acquire<A>(kind: VmKind, arg: A, ready: (arg: A) => void, failed: (arg: A, reason: string) => void): void {
    const { services, sim, telegraf } = this.world;
    if (!services.isUp('vm-service')) {
      failed(arg, `vm-service down: no ${kind === 'machine' ? 'machine' : 'remote Docker'} instance`);
      return;
    }
    let waitMs: number;
    if (this.pool[kind] > 0) {
      this.pool[kind]--;
      this.preallocatedUsed++;
      waitMs = TIMINGS.preallocatedAssignMs;
    } else {
      this.launched++;
      telegraf.count('circle.vm-service.vms.post.status');
      waitMs = this.bootTimeMs();
    }
    this.running++;
    telegraf.count('circle.vm-service.vm.assigned-vm');
    this.waits.add(waitMs);
    sim.schedule(waitMs, ready, arg);
  }

  /** The job is done: its instance is terminated (never reused). */
  release(): void {
    this.running--;
    this.terminated++;
    this.world.telegraf.count('circle.vm-service.vms.delete.status');
  }

  /** vm-scaler's periodic top-up of the preallocated pools. */
  readonly scale = (): void => {
    if (!this.world.services.isUp('vm-scaler') || !this.world.services.isUp('vm-service')) return;
    for (const kind of ['machine', 'remote_docker'] as const) {
      const deficit = this.target[kind] - this.pool[kind] - this.booting[kind];
      for (let i = 0; i < deficit; i++) {
        this.launched++;
        this.booting[kind]++;
        this.world.telegraf.count('circle.vm-service.vms.post.status');
        this.world.sim.schedule(this.bootTimeMs(), this.booted, kind);
      }
    }
  };

  private readonly booted = (kind: VmKind): void => {
    this.booting[kind]--;
    this.pool[kind]++;
  };

  private bootTimeMs(): number {
    const v = this.world.profile.vm_service;
    return v.boot_min_ms + Math.round(this.rng.nextFloat() * (v.boot_max_ms - v.boot_min_ms));
  }

  /** The interval of vm-scaler's loop. */
  static readonly scaleIntervalMs = TIMINGS.vmScalerIntervalMs;
}
