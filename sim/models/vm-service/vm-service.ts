import type { World } from '../world.ts';
import type { Rng } from '../../engine/rng.ts';
import { SampleSet } from '../../metrics/percentiles.ts';
import { NEEDS } from '../services/dependencies.ts';
import { TIMINGS } from '../timings.ts';
import { METRICS } from '../../metrics/metric-names.ts';
import { REASONS } from '../../domain/fates.ts';
import { TimeIntegral } from '../autoscaling/cost.ts';
import { sampleDurationMs } from '../workload/durations.ts';

const DAY_MS = 24 * 3_600_000;

/** Share of instance terminations that fail and leave a stale instance behind for vm-gc to reap. */
export const STALE_INSTANCE_SHARE = 0.02;

export type VmKind = 'machine' | 'remote_docker';

/**
 * vm-service with vm-scaler: EC2 instances for `machine` and remote Docker jobs. A job takes a preallocated
 * instance if one is waiting, else one is launched on demand and boots for 1–3 minutes (the seeds' figure).
 * Instances are never reused ("Machine executor VMs never get reused"); vm-scaler tops the pool back up.
 * Some terminations fail and leave stale instances running; vm-gc reaps them periodically. While vm-gc is
 * down they pile up: "Old vm-service instances might not be destroyed until this service is restarted" (cost).
 *
 * Docker Layer Caching works only on an on-demand instance (its layer volume is attached at launch): a DLC job
 * that gets a preallocated instance runs without its cache (the seeds: "For docker layer caching to work, you
 * cannot use preallocated instances"; "either ensure any preallocated instances are in use, or set both ... to
 * 0"). Once a day, at `daily_cycle_at`, a cron job cycles the preallocated instances (the seeds: "a cron job is
 * scheduled to cycle through these instances once per day"): the idle ones are terminated and vm-scaler boots
 * replacements, so for a few minutes jobs get on-demand instances.
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
  /** Instances whose termination failed and that still run (cost), and the most at once. */
  stale = 0;
  peakStale = 0;
  /** Instance-hours spent on stale instances (integrated every vm-gc interval). */
  staleInstanceMs = 0;
  private lastStaleAtMs = 0;
  /** Jobs using Docker Layer Caching, and those that got a preallocated instance (no layer cache). */
  dlcJobs = 0;
  dlcWithoutCache = 0;
  /** Idle preallocated instances replaced by the daily cycle. */
  preallocatedCycled = 0;
  private nextCycleMs: number;
  readonly waits = new SampleSet();
  /** Instances up (pooled, booting, assigned, stale) over time: instance-milliseconds, for the cost. */
  readonly instanceMs = new TimeIntegral();

  constructor(private readonly world: World) {
    this.rng = world.rng.fork('vm-service');
    const v = world.scenario.topology.vmService;
    this.target = { machine: v.preallocatedMachine, remote_docker: v.preallocatedRemoteDocker };
    // The run starts in steady state: the preallocated instances are already up.
    this.pool = { ...this.target };
    // The run starts with a fresh pool: the first cycle is the first `daily_cycle_at` after time 0.
    this.nextCycleMs = v.dailyCycleAtMs > 0 ? v.dailyCycleAtMs : DAY_MS;
    this.countInstances();
  }

  /** Records the number of instances up from now on (after every change to it). */
  private countInstances(): void {
    const up = this.running + this.stale + this.pool.machine + this.pool.remote_docker + this.booting.machine + this.booting.remote_docker;
    this.instanceMs.set(this.world.sim.nowMs, up);
  }

  /** Asks for an instance; `ready` is called once it can run the job, `failed` if vm-service cannot serve. */
  acquire<A>(kind: VmKind, arg: A, ready: (arg: A) => void, failed: (arg: A, reason: string) => void, dockerLayerCaching = false): void {
    const { services, sim, telegraf } = this.world;
    const down = services.firstDown(NEEDS.vm);
    if (down !== undefined) {
      failed(arg, REASONS.noVmInstance(down, kind));
      return;
    }
    let waitMs: number;
    if (dockerLayerCaching) this.dlcJobs++;
    if (this.pool[kind] > 0) {
      this.pool[kind]--;
      this.preallocatedUsed++;
      if (dockerLayerCaching) this.dlcWithoutCache++;
      waitMs = TIMINGS.preallocatedAssignMs;
    } else {
      this.launched++;
      telegraf.count(METRICS.vmCreated);
      waitMs = this.bootTimeMs();
    }
    this.running++;
    this.countInstances();
    telegraf.count(METRICS.vmAssigned);
    this.waits.add(waitMs);
    sim.schedule(waitMs, ready, arg);
  }

  /** The job is done: its instance is terminated (never reused). */
  release(): void {
    this.running--;
    this.world.telegraf.count(METRICS.vmDeleted);
    if (this.rng.chance(STALE_INSTANCE_SHARE)) {
      this.accrueStale();
      this.stale++;
      if (this.stale > this.peakStale) this.peakStale = this.stale;
    } else this.terminated++;
    this.countInstances();
  }

  /** Preallocated instances missing from the target pool, neither pooled nor booting (vm-scaler replenishes them). */
  get poolShortfall(): number {
    let short = 0;
    for (const k of ['machine', 'remote_docker'] as const) short += Math.max(0, this.target[k] - this.pool[k] - this.booting[k]);
    return short;
  }

  /** vm-gc's periodic sweep: stale instances are terminated (when vm-gc and vm-service are up). */
  readonly collectGarbage = (): void => {
    this.accrueStale();
    if (this.stale === 0 || !this.world.services.isUp('vm-gc') || !this.world.services.isUp('vm-service')) return;
    this.terminated += this.stale;
    this.stale = 0;
    this.countInstances();
  };

  private accrueStale(): void {
    const now = this.world.sim.nowMs;
    this.staleInstanceMs += this.stale * (now - this.lastStaleAtMs);
    this.lastStaleAtMs = now;
  }

  /** The interval of vm-gc's sweep. */
  static readonly gcIntervalMs = 10 * 60_000;

  /** vm-scaler's periodic top-up of the preallocated pools. */
  readonly scale = (): void => {
    if (!this.world.services.isUp('vm-scaler') || !this.world.services.isUp('vm-service')) return;
    if (this.world.sim.nowMs >= this.nextCycleMs) this.cycle();
    for (const kind of ['machine', 'remote_docker'] as const) {
      const deficit = this.target[kind] - this.pool[kind] - this.booting[kind];
      for (let i = 0; i < deficit; i++) {
        this.launched++;
        this.booting[kind]++;
        this.world.telegraf.count(METRICS.vmCreated);
        this.world.sim.schedule(this.bootTimeMs(), this.booted, kind);
      }
    }
    this.countInstances();
  };

  /** The daily cycle: idle preallocated instances are terminated; the top-up below boots their replacements. */
  private cycle(): void {
    while (this.nextCycleMs <= this.world.sim.nowMs) this.nextCycleMs += DAY_MS;
    for (const kind of ['machine', 'remote_docker'] as const) {
      this.preallocatedCycled += this.pool[kind];
      this.terminated += this.pool[kind];
      this.pool[kind] = 0;
    }
    this.countInstances();
  }

  private readonly booted = (kind: VmKind): void => {
    this.booting[kind]--;
    this.pool[kind]++;
    this.countInstances();
  };

  private bootTimeMs(): number {
    const spec = this.world.scenario.topology.vmService.bootTime;
    if (spec !== undefined) return Math.max(0, Math.round(sampleDurationMs(spec, this.rng)));
    const v = this.world.profile.vm_service;
    return v.boot_min_ms + Math.round(this.rng.nextFloat() * (v.boot_max_ms - v.boot_min_ms));
  }

  /** The interval of vm-scaler's loop. */
  static readonly scaleIntervalMs = TIMINGS.vmScalerIntervalMs;
}
