/**
 * The Auto Scaling Group of Nomad clients (AWS Auto Scaling, as CircleCI Server 2.x's Terraform sets it up):
 * min/max/desired capacity; scheduled actions (cron on minute, hour, day of week; virtual time 0 is Monday
 * 00:00); step policies on CloudWatch-style alarms; launches that boot for a drawn time; and scale-in through
 * a termination lifecycle hook that drains the client, waits until its allocations are done, then terminates it
 * (the seeds' "drain the node before terminating it"), so scale-in never kills a running build.
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
import { sampleDurationMs } from '../workload/durations.ts';
import { cronMatches, parseCron, type Cron } from './cron.ts';
import { combineProposals, evaluateTargetTracking, newAlarms, type TargetTrackingAlarms } from './target-tracking.ts';

export const ASG_TICK_MS = 60_000;

interface StepState {
  policy: SettledStepPolicy;
  /** Consecutive periods the alarm's condition held. */
  breached: number;
  cooldownUntilMs: number;
  /** Queue time summed, and builds started, at the previous period (for `queue_time_ms`). */
  queueSumMs: number;
  started: number;
}

export class AutoScalingGroup {
  min: number;
  max: number;
  desired: number;
  launched = 0;
  terminated = 0;
  /** Scheduled actions and step policies that changed the desired capacity. */
  actions = 0;
  peakInstances = 0;
  private readonly rng: Rng;
  private readonly crons: { cron: Cron; desired?: number; min?: number; max?: number }[];
  private readonly steps: StepState[];
  /** Clients in the termination lifecycle hook: draining until their allocations are done. */
  private readonly terminating = new Set<string>();
  private readonly tracking: { policy: SettledTargetTrackingPolicy; alarms: TargetTrackingAlarms }[];
  /** When the last instance launched finishes its warm-up (boot plus the longest warm-up of the policies). */
  private warmUntilMs = Number.NEGATIVE_INFINITY;
  private readonly warmupMs: number;

  constructor(
    private readonly world: World,
    private readonly fleet: NomadFleet,
    private readonly spec: SettledAutoscaling,
  ) {
    this.rng = world.rng.fork('autoscaling');
    this.min = spec.min;
    this.max = spec.max;
    this.desired = clamp(spec.desired, spec.min, spec.max);
    this.crons = spec.scheduled.map((s) => ({ cron: parseCron(s.cron), ...(s.desired === undefined ? {} : { desired: s.desired }), ...(s.min === undefined ? {} : { min: s.min }), ...(s.max === undefined ? {} : { max: s.max }) }));
    this.steps = spec.steps.map((policy) => ({ policy, breached: 0, cooldownUntilMs: 0, queueSumMs: 0, started: 0 }));
    this.tracking = spec.targetTracking.map((policy) => ({ policy, alarms: newAlarms() }));
    this.warmupMs = Math.max(0, ...spec.targetTracking.map((p) => p.warmupMs));
  }

  /** Instances counted against the desired capacity: launched, not terminated, not being scaled in. */
  get capacity(): number {
    return this.fleet.instanceIds().length - this.terminating.size + this.fleet.booting;
  }

  /** One evaluation: scheduled actions, alarms, then launches or scale-ins towards the desired capacity. */
  readonly tick = (): void => {
    const now = this.world.sim.nowMs;
    for (const c of this.crons) {
      if (!cronMatches(c.cron, now)) continue;
      if (c.min !== undefined) this.min = c.min;
      if (c.max !== undefined) this.max = c.max;
      if (c.desired !== undefined) this.desired = c.desired;
      this.actions++;
    }
    for (const s of this.steps) this.evaluate(s, now);
    if (this.tracking.length > 0) this.track(now);
    this.desired = clamp(this.desired, this.min, this.max);
    this.reconcile();
    this.finishTerminations();
    const up = this.fleet.instanceIds().length + this.fleet.booting;
    if (up > this.peakInstances) this.peakInstances = up;
  };

  private evaluate(s: StepState, now: number): void {
    const p = s.policy;
    if (now % p.periodMs !== 0) return;
    const value = this.metric(p.metric, s);
    if (value === undefined) return; // insufficient data: the alarm keeps its state
    const breached = p.op === 'below' ? value < p.threshold : value > p.threshold;
    s.breached = breached ? s.breached + 1 : 0;
    if (s.breached < p.evaluationPeriods || now < s.cooldownUntilMs) return;
    this.desired = clamp(this.desired + p.add, this.min, this.max);
    s.cooldownUntilMs = now + p.cooldownMs;
    this.actions++;
    this.world.trace?.(`${now} autoscaling ${p.metric} ${p.op} ${p.threshold} for ${s.breached} periods: desired ${this.desired}`);
  }

  /** Target-tracking policies: each updates its alarms; the group follows their combined proposal. */
  private track(now: number): void {
    const inService = this.inServiceClients();
    const proposals = this.tracking.map((t) =>
      evaluateTargetTracking({ target: t.policy.target, warmupMs: t.policy.warmupMs, scaleInCooldownMs: t.policy.scaleInCooldownMs, disableScaleIn: t.policy.disableScaleIn }, t.alarms, {
        nowMs: now,
        value: this.trackedMetric(t.policy.metric, inService),
        inService: inService.length,
        desired: this.desired,
        warming: now < this.warmUntilMs,
      }),
    );
    const next = combineProposals(this.desired, proposals);
    if (next.kind === 'hold') return;
    const before = this.desired;
    this.desired = clamp(next.desired, this.min, this.max);
    if (this.desired === before) return;
    if (next.kind === 'in') for (const t of this.tracking) t.alarms.lastScaleInMs = now;
    this.actions++;
    this.world.trace?.(`${now} autoscaling target tracking scale-${next.kind}: desired ${before} -> ${this.desired} (${inService.length} in service)`);
  }

  /** Clients that report metrics: ready, eligible, not draining, not terminated. */
  private inServiceClients() {
    return this.fleet.scheduler.nodes().filter((v) => v.status === 'ready' && !v.drain && v.eligibility === 'eligible' && !this.terminating.has(v.id));
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

  private reconcile(): void {
    const gap = this.desired - this.capacity;
    for (let i = 0; i < gap; i++) {
      const bootMs = Math.max(0, Math.round(sampleDurationMs(this.spec.bootTime, this.rng)));
      this.fleet.launch(bootMs);
      this.warmUntilMs = Math.max(this.warmUntilMs, this.world.sim.nowMs + bootMs + this.warmupMs);
      this.world.trace?.(`${this.world.sim.nowMs} autoscaling launch: desired ${this.desired}, boots in ${bootMs} ms`);
      this.launched++;
    }
    if (gap >= 0) return;
    // Scale in the clients with the fewest allocations, newest first (they run the least).
    const candidates = this.fleet
      .instanceIds()
      .filter((id) => !this.terminating.has(id))
      .map((id, order) => ({ id, order, allocs: this.fleet.allocsOn(id) }))
      .sort((a, b) => a.allocs - b.allocs || b.order - a.order)
      .slice(0, -gap);
    for (const c of candidates) {
      this.terminating.add(c.id);
      this.fleet.setDrain(c.id, true);
      this.world.trace?.(`${this.world.sim.nowMs} autoscaling scale-in: draining ${c.id} (${c.allocs} allocations)`);
    }
  }

  /** The lifecycle hook completes for drained clients with no allocations left: they are terminated. */
  private finishTerminations(): void {
    for (const id of [...this.terminating]) {
      if (this.fleet.allocsOn(id) > 0) continue;
      this.terminating.delete(id);
      this.fleet.terminate(id);
      this.terminated++;
      this.world.trace?.(`${this.world.sim.nowMs} autoscaling terminated ${id}`);
    }
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
