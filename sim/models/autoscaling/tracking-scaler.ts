/**
 * Target tracking on the Auto Scaling model's own policies (`PutScalingPolicy … TargetTrackingScaling`), fed by a
 * CloudWatch metric store (`metric-store.ts`): once a minute, on the minute, every enabled target-tracking
 * policy reads its metric over the minute just ended (the predefined `ASGAverage*` metrics from `AWS/EC2` with
 * the group's `AutoScalingGroupName` dimension, or its `CustomizedMetricSpecification`) and the group follows
 * `trackTargets` (`target-tracking.ts`), the evaluation the simulation's groups run too. The twin's Auto Scaling
 * endpoint runs it; the simulation's `asg.ts` samples its own gauges instead of a store.
 *
 * As AWS does: a policy's instance warm-up is its `EstimatedInstanceWarmup`, else the group's default cooldown;
 * scale-out ignores cooldowns, scale-in waits for the group's default cooldown after the last scale-in and for
 * no instance to be launching or warming up.
 */
import type { AutoScalingContext, AutoScalingModel, ScalingPolicy } from './group-model.ts';
import { PREDEFINED_METRICS } from './group-model.ts';
import type { MetricId, MetricStore, Statistic } from './metric-store.ts';
import { newAlarms, noteScaleIn, trackTargets, TT_SCALE_OUT_DATAPOINTS, type TargetTrackingAlarms, type TrackedPolicy } from './target-tracking.ts';

export const TRACKING_PERIOD_MS = 60_000;

/** The metric a target-tracking policy follows, and the statistic it takes of it. */
export function trackedMetricOf(policy: ScalingPolicy): { id: MetricId; statistic: Statistic } | undefined {
  const tt = policy.targetTracking;
  if (tt === undefined) return undefined;
  if (tt.customizedMetric !== undefined) {
    const c = tt.customizedMetric;
    return { id: { namespace: c.namespace, metricName: c.metricName, dimensions: c.dimensions }, statistic: c.statistic };
  }
  const type = tt.predefinedMetricType;
  if (type === undefined || !Object.hasOwn(PREDEFINED_METRICS, type)) return undefined;
  const m = PREDEFINED_METRICS[type as keyof typeof PREDEFINED_METRICS];
  return { id: { namespace: m.namespace, metricName: m.metricName, dimensions: [{ name: 'AutoScalingGroupName', value: policy.groupName }] }, statistic: 'Average' };
}

export class TargetTrackingScaler {
  /** Evaluations run, and the desired-capacity changes they made. */
  evaluations = 0;
  changes = 0;
  /** Each policy's alarms, by policy ARN (a policy put again keeps its ARN and its alarms). */
  private readonly alarms = new Map<string, TargetTrackingAlarms>();
  /** Policies whose last evaluated minute had a datapoint. */
  private readonly withData = new Set<string>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly ctx: Pick<AutoScalingContext, 'now' | 'after'>,
    private readonly model: AutoScalingModel,
    private readonly metrics: Pick<MetricStore, 'statistic'>,
  ) {}

  /** Evaluates at every whole minute of model time from now on. */
  start(): this {
    const now = this.ctx.now();
    const next = (Math.floor(now / TRACKING_PERIOD_MS) + 1) * TRACKING_PERIOD_MS;
    this.schedule(next - now);
    return this;
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /**
   * A policy's alarms as DescribeAlarms shows them: undefined until a minute with data (INSUFFICIENT_DATA), else
   * the datapoints above and below the target in a row.
   */
  alarmState(policyArn: string): TargetTrackingAlarms | undefined {
    return this.withData.has(policyArn) ? this.alarms.get(policyArn) : undefined;
  }

  private schedule(delayMs: number): void {
    this.cancel = this.ctx.after(delayMs, () => {
      this.tick();
      this.schedule(TRACKING_PERIOD_MS);
    });
  }

  /** One evaluation of every group with enabled target-tracking policies. */
  tick(): void {
    const now = this.ctx.now();
    this.evaluations++;
    for (const g of this.model.groups.values()) {
      const policies = [...g.policies.values()].filter((p) => p.enabled && p.policyType === 'TargetTrackingScaling' && p.targetTracking !== undefined);
      if (policies.length === 0) continue;
      const members = [...g.instances.values()];
      const inService = members.filter((m) => m.lifecycleState === 'InService').length;
      const launching = members.some((m) => m.lifecycleState.startsWith('Pending'));
      const tracked: (TrackedPolicy & { policy: ScalingPolicy })[] = policies.map((policy) => {
        let alarms = this.alarms.get(policy.policyArn);
        if (alarms === undefined) this.alarms.set(policy.policyArn, (alarms = newAlarms()));
        const metric = trackedMetricOf(policy);
        const warmupMs = (policy.estimatedInstanceWarmupS ?? g.defaultCooldownS) * 1000;
        const value = metric === undefined ? undefined : this.metrics.statistic(metric.id, now - TRACKING_PERIOD_MS, now, metric.statistic);
        if (value === undefined) this.withData.delete(policy.policyArn);
        else this.withData.add(policy.policyArn);
        return {
          policy,
          alarms,
          spec: { target: policy.targetTracking!.targetValue, warmupMs, scaleInCooldownMs: g.defaultCooldownS * 1000, disableScaleIn: policy.targetTracking!.disableScaleIn },
          value,
        };
      });
      const warmupMs = Math.max(...tracked.map((t) => t.spec.warmupMs));
      const warming = launching || members.some((m) => m.lifecycleState === 'InService' && now < (m.inServiceAtMs ?? Number.NEGATIVE_INFINITY) + warmupMs);
      const next = trackTargets(tracked, { nowMs: now, inService, desired: g.desiredCapacity, warming });
      if (next.kind === 'hold') continue;
      // The policy whose alarm fired: the first in ALARM high for a scale-out; for a scale-in all agreed.
      const by = ((next.kind === 'out' ? tracked.find((t) => t.alarms.above >= TT_SCALE_OUT_DATAPOINTS) : undefined) ?? tracked[0]!).policy;
      const alarm = by.alarms[next.kind === 'out' ? 0 : 1]?.alarmName ?? by.policyName;
      const before = g.desiredCapacity;
      const after = this.model.applyTargetTracking(g.name, by.policyName, alarm, next.desired);
      if (after === before) continue;
      this.changes++;
      if (next.kind === 'in') noteScaleIn(tracked, now);
    }
  }
}
