/**
 * The Auto Scaling Group of Nomad clients (AWS Auto Scaling, as CircleCI Server 2.x's Terraform sets it up), run on
 * the same model as the twin's Auto Scaling endpoint (`group-model.ts`) through a port onto the Nomad fleet
 * (`fleet-port.ts`): the fleet's clients are attached to one group; scheduled actions are the model's (cron, UTC;
 * virtual time 0 is `SIM_EPOCH_MS`, a Monday); this file adds what AWS does outside the group, the CloudWatch
 * alarms of step and target-tracking policies, which set the desired capacity; launches boot for a drawn time;
 * scale-in (termination policy NewestInstance) goes through a termination lifecycle hook that drains the client and
 * completes once its allocations are done (the seeds' "drain the node before terminating it"), so scale-in never
 * kills a running build.
 *
 * Evaluated once a virtual minute (CloudWatch's finest standard resolution). Alarm metrics:
 * - `pending_jobs`: Nomad jobs pending (`circle.nomad.server_agent.jobs.pending`), not sampled while the server is down;
 * - `available_clients`: clients (ready, eligible, not draining) with room for one more task of the default resource class;
 * - `queue_time_ms`: the mean queue time of the builds whose first task started in the period (no data without any).
 * Target-tracking policies (`target-tracking.ts`) sample, once a minute:
 * - `cpu_utilisation`: percent of the usable CPU of in-service clients (ready, eligible, not draining) reserved by tasks;
 * - `backlog_per_client`: (pending jobs + running tasks) per in-service client.
 * Both are undefined (no data) with no client in service.
 */
import type { World } from '../world.ts';
import type { NomadFleet } from '../fleet/nomad-fleet.ts';
import type { Rng } from '../../engine/rng.ts';
import type { SettledAutoscaling, SettledStepPolicy, SettledTargetTrackingPolicy } from '../../scenario/settled.ts';
import { AutoScalingModel, DEFAULT_AUTOSCALING_TIMINGS } from './group-model.ts';
import { DRAIN_HOOK_SPEC, DrainHook } from './drain-hook.ts';
import { inServiceNodes } from './in-service.ts';
import { evaluateAlarm, newAlarmCount, type AlarmCount, type AlarmSpec } from './alarm.ts';
import { FleetPort, SIM_ZONE, simContext } from './fleet-port.ts';
import { newAlarms, noteScaleIn, trackTargets, type TargetTrackingAlarms } from './target-tracking.ts';

export const ASG_TICK_MS = 60_000;

interface StepState {
  policy: SettledStepPolicy;
  alarm: AlarmSpec;
  count: AlarmCount;
  /** Queue time summed, and builds started, at the previous period (for `queue_time_ms`). */
  queueSumMs: number;
  started: number;
}

/** The Nomad clients' group as the simulation names it (the drills' `--auto-scaling-group-name nomad-clients`). */
export const NOMAD_CLIENTS_ASG = 'nomad-clients';
const GROUP = NOMAD_CLIENTS_ASG;

export class AutoScalingGroup {
  /** Step and target-tracking policies that changed the desired capacity, and scheduled actions run. */
  actions = 0;
  peakInstances = 0;
  /** Instances terminated outside the group (`terminate_instance`) that it replaced. */
  replaced = 0;
  private readonly model: AutoScalingModel;
  private readonly port: FleetPort;
  private readonly steps: StepState[];
  /** Instances in the termination lifecycle hook: their clients drain until their allocations are done. */
  private readonly drainHook: DrainHook;
  private readonly tracking: { policy: SettledTargetTrackingPolicy; alarms: TargetTrackingAlarms }[];
  private readonly warmupMs: number;

  constructor(
    private readonly world: World,
    private readonly fleet: NomadFleet,
    spec: SettledAutoscaling,
  ) {
    const rng: Rng = world.rng.fork('autoscaling');
    this.port = new FleetPort(world, fleet, spec.bootTime, rng);
    this.model = new AutoScalingModel(simContext(world, this.onEvent), this.port, DEFAULT_AUTOSCALING_TIMINGS);
    this.drainHook = new DrainHook(this.model, GROUP, {
      nodeIdOf: (id) => this.port.nodeIdOf(id),
      drain: (node) => this.fleet.setDrain(node, true),
      allocsOn: (node) => this.fleet.allocsOn(node),
    });
    const initial = this.port.adoptRunning(fleet.instanceIds());
    this.model.createLaunchConfiguration({ name: 'nomad-client', imageId: 'ami-nomad-client', instanceType: 'nomad-client' });
    this.model.createAutoScalingGroup({
      name: GROUP,
      minSize: 0,
      maxSize: Math.max(spec.max, initial.length),
      desiredCapacity: 0,
      availabilityZones: [SIM_ZONE],
      launchConfigurationName: 'nomad-client',
      terminationPolicies: ['NewestInstance'],
      // The longest heartbeat AWS allows; the group records a heartbeat every minute while a client drains.
      lifecycleHooks: [DRAIN_HOOK_SPEC],
    });
    this.model.attachInstances(GROUP, initial);
    this.model.updateAutoScalingGroup({ name: GROUP, minSize: spec.min, maxSize: spec.max, desiredCapacity: clamp(spec.desired, spec.min, spec.max) });
    spec.scheduled.forEach((a, i) =>
      this.model.putScheduledUpdateGroupAction({
        groupName: GROUP,
        name: `scheduled-${i + 1}`,
        recurrence: a.cron,
        ...(a.desired === undefined ? {} : { desiredCapacity: a.desired }),
        ...(a.min === undefined ? {} : { minSize: a.min }),
        ...(a.max === undefined ? {} : { maxSize: a.max }),
      }),
    );
    this.steps = spec.steps.map((policy) => ({
      policy,
      alarm: { threshold: policy.threshold, comparison: policy.op === 'below' ? 'LessThanThreshold' : 'GreaterThanThreshold', evaluationPeriods: policy.evaluationPeriods, datapointsToAlarm: policy.datapointsToAlarm, treatMissingData: policy.treatMissingData, cooldownMs: policy.cooldownMs },
      // The fleet starts in its steady state: the alarm's metric was within its threshold before the run.
      count: newAlarmCount(policy.evaluationPeriods),
      queueSumMs: 0,
      started: 0,
    }));
    this.tracking = spec.targetTracking.map((policy) => ({ policy, alarms: newAlarms() }));
    this.warmupMs = Math.max(0, ...spec.targetTracking.map((p) => p.warmupMs));
    fleet.onTerminatedOutside = (nodeIds) => {
      this.replaced += this.port.terminatedOutside(nodeIds);
    };
  }

  private get group() {
    return this.model.requireGroup(GROUP);
  }
  get min(): number {
    return this.group.minSize;
  }
  get max(): number {
    return this.group.maxSize;
  }
  get desired(): number {
    return this.group.desiredCapacity;
  }
  /** Instances the group holds (any lifecycle state); an instance gone from EC2 has left it. */
  get members(): number {
    return this.group.instances.size;
  }
  get launched(): number {
    return this.port.launched;
  }
  get terminated(): number {
    return this.port.terminated;
  }

  /** The model's events: a scheduled action ran; an instance waits on the drain hook (its client starts draining). */
  private readonly onEvent = (kind: string, resourceId: string, detail: string): void => {
    if (kind === 'asg-capacity' && detail.startsWith('scheduled action')) this.actions++;
    const started = this.drainHook.onEvent(kind, resourceId, detail);
    if (started === undefined) return;
    const node = started.nodeId;
    this.world.trace?.(`${this.world.sim.nowMs} autoscaling scale-in: draining ${node ?? resourceId} (${node === undefined ? 0 : this.fleet.allocsOn(node)} allocations)`);
  };

  /** One evaluation: the alarms of step and target-tracking policies, then the drain hooks. */
  readonly tick = (): void => {
    const now = this.world.sim.nowMs;
    for (const s of this.steps) this.evaluate(s, now);
    if (this.tracking.length > 0) this.track(now);
    this.drainHook.check();
    const up = this.fleet.instanceCount + this.fleet.booting;
    if (up > this.peakInstances) this.peakInstances = up;
  };

  /** The group's record as `aws autoscaling describe-auto-scaling-groups` shows it (read-only use: the drill shell). */
  describe(): Readonly<ReturnType<AutoScalingModel['requireGroup']>> {
    return this.group;
  }

  /**
   * A person's `aws autoscaling update-auto-scaling-group` / `set-desired-capacity` (the drill shell), through the
   * model: it launches or scales in to the new desired capacity; throws AutoScalingError as AWS refuses.
   */
  update(input: { minSize?: number; maxSize?: number; desiredCapacity?: number }, explicitDesired = false): void {
    if (explicitDesired && input.desiredCapacity !== undefined) this.model.setDesiredCapacity(GROUP, input.desiredCapacity, false);
    else this.model.updateAutoScalingGroup({ name: GROUP, ...input });
  }

  private setDesired(desired: number): void {
    const g = this.group;
    this.model.setDesiredCapacity(GROUP, clamp(desired, g.minSize, g.maxSize), false);
  }

  private evaluate(s: StepState, now: number): void {
    const p = s.policy;
    if (now % p.periodMs !== 0) return;
    // No data (undefined): the alarm keeps its state.
    if (!evaluateAlarm(s.count, s.alarm, this.metric(p.metric, s), now)) return;
    this.setDesired(this.desired + p.add);
    this.actions++;
    this.world.trace?.(`${now} autoscaling ${p.metric} ${p.op} ${p.threshold} for ${s.count.breached} periods: desired ${this.desired}`);
  }

  /** Target-tracking policies: each updates its alarms; the group follows their combined proposal. */
  private track(now: number): void {
    const inService = this.inServiceClients();
    const policies = this.tracking.map((t) => ({
      spec: { target: t.policy.target, warmupMs: t.policy.warmupMs, scaleInCooldownMs: t.policy.scaleInCooldownMs, disableScaleIn: t.policy.disableScaleIn },
      alarms: t.alarms,
      value: this.trackedMetric(t.policy.metric, inService),
    }));
    const next = trackTargets(policies, {
      nowMs: now,
      inService: inService.length,
      desired: this.desired,
      warming: now < this.port.lastReadyAtMs + this.warmupMs, // boot plus the longest warm-up of the policies
    });
    if (next.kind === 'hold') return;
    const before = this.desired;
    this.setDesired(next.desired);
    if (this.desired === before) return;
    if (next.kind === 'in') noteScaleIn(this.tracking, now);
    this.actions++;
    this.world.trace?.(`${now} autoscaling target tracking scale-${next.kind}: desired ${before} -> ${this.desired} (${inService.length} in service)`);
  }

  /** Clients that report metrics: ready, eligible, not draining, not terminated. */
  private inServiceClients() {
    return inServiceNodes(this.fleet.scheduler.nodes());
  }

  private trackedMetric(name: SettledTargetTrackingPolicy['metric'], inService: ReturnType<AutoScalingGroup['inServiceClients']>): number | undefined {
    if (inService.length === 0) return undefined;
    if (name === 'backlog_per_client') {
      if (!this.world.services.isUp('nomad_server')) return undefined;
      return (this.fleet.scheduler.counts().pending + this.fleet.runningTasks) / inService.length;
    }
    let used = 0;
    let usable = 0;
    for (const v of inService) {
      used += v.usedCpuMilli;
      usable += v.totalCpuMilli - Math.min(v.reservedCpuMilli, v.totalCpuMilli);
    }
    return usable === 0 ? undefined : (100 * used) / usable;
  }

  private metric(name: SettledStepPolicy['metric'], s: StepState): number | undefined {
    if (name === 'queue_time_ms') {
      const sum = this.fleet.queueTimeSumMs - s.queueSumMs;
      const n = this.fleet.queueTimes.size - s.started;
      s.queueSumMs = this.fleet.queueTimeSumMs;
      s.started = this.fleet.queueTimes.size;
      return n === 0 ? undefined : sum / n;
    }
    if (name === 'pending_jobs') return this.world.services.isUp('nomad_server') ? this.fleet.scheduler.counts().pending : undefined;
    const rc = this.world.scenario.topology.resourceClasses[`docker:${this.world.scenario.topology.defaultResourceClass}`];
    return this.fleet.clientsWithRoomFor(rc?.cpuMilli ?? 0, rc?.memoryMb ?? 0);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
