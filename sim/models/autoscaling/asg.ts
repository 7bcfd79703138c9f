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
 */
import type { World } from '../world.ts';
import type { NomadFleet } from '../fleet/nomad-fleet.ts';
import type { Rng } from '../../engine/rng.ts';
import type { SettledAutoscaling, SettledStepPolicy } from '../../scenario/settled.ts';
import { sampleDurationMs } from '../workload/durations.ts';
import { cronMatches, parseCron, type Cron } from './cron.ts';

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
