/**
 * CloudWatch metric alarms (`PutMetricAlarm`) whose actions are step or simple scaling policies of the Auto Scaling
 * model, evaluated on a metric store (`metric-store.ts`) once a minute of model time, on the minute: an alarm whose
 * period ends reads its statistic over that period and runs `evaluateAlarm` (`alarm.ts`, the evaluation the
 * simulation's step policies run too); when it fires, each policy it names runs as `ExecutePolicy` does (a step
 * policy picks its step by the metric value minus the threshold), and the alarm may fire again only after the
 * first policy's `Cooldown`, else the group's default cooldown. The twin's CloudWatch endpoint serves these.
 *
 * State as DescribeAlarms shows it: INSUFFICIENT_DATA until a period with data, ALARM once `DatapointsToAlarm` of the
 * last `EvaluationPeriods` datapoints breach, else OK; missing datapoints count as `TreatMissingData` says (`alarm.ts`).
 */
import { AutoScalingError, type AutoScalingContext, type AutoScalingModel, type ScalingPolicy } from './group-model.ts';
import { datapointsToAlarm, evaluateAlarm, newAlarmCount, type AlarmCount, type AlarmState, type ComparisonOperator, type TreatMissingData } from './alarm.ts';
import type { MetricId, MetricStore, Statistic } from './metric-store.ts';

export const ALARM_TICK_MS = 60_000;

export type AlarmStateValue = AlarmState;

export interface MetricAlarmInput {
  readonly alarmName: string;
  readonly description: string | undefined;
  readonly actionsEnabled: boolean;
  /** Scaling policy ARNs (step or simple policies). */
  readonly alarmActions: readonly string[];
  readonly metric: MetricId;
  readonly statistic: Statistic;
  readonly periodS: number;
  readonly evaluationPeriods: number;
  /** M of N (default: EvaluationPeriods). */
  readonly datapointsToAlarm: number | undefined;
  readonly treatMissingData: TreatMissingData;
  readonly threshold: number;
  readonly comparison: ComparisonOperator;
}

export interface MetricAlarm extends MetricAlarmInput {
  readonly alarmArn: string;
  readonly count: AlarmCount;
  state: AlarmStateValue;
  stateReason: string;
  stateUpdatedMs: number;
  configurationUpdatedMs: number;
}

export class MetricAlarmError extends Error {
  constructor(
    readonly code: 'InvalidParameterValue' | 'ResourceNotFound',
    message: string,
  ) {
    super(message);
  }
}

export class MetricAlarms {
  /** Evaluations run (one a minute), and the policy runs the alarms made. */
  evaluations = 0;
  executions = 0;
  readonly alarms = new Map<string, MetricAlarm>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly ctx: Pick<AutoScalingContext, 'now' | 'after' | 'region' | 'accountId'>,
    private readonly model: AutoScalingModel,
    private readonly metrics: Pick<MetricStore, 'statistic'>,
  ) {}

  /** Evaluates at every whole minute of model time from now on. */
  start(): this {
    const now = this.ctx.now();
    this.schedule((Math.floor(now / ALARM_TICK_MS) + 1) * ALARM_TICK_MS - now);
    return this;
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private schedule(delayMs: number): void {
    this.cancel = this.ctx.after(delayMs, () => {
      this.tick();
      this.schedule(ALARM_TICK_MS);
    });
  }

  /** Creates or replaces an alarm (a replaced alarm starts over, in INSUFFICIENT_DATA, as AWS's does). */
  put(input: MetricAlarmInput): MetricAlarm {
    if (input.periodS < 60 || input.periodS % 60 !== 0) {
      throw new MetricAlarmError('InvalidParameterValue', `The value ${input.periodS} for parameter Period is invalid. The twin evaluates alarms once a minute: give a multiple of 60 seconds.`);
    }
    if (!Number.isInteger(input.evaluationPeriods) || input.evaluationPeriods < 1) {
      throw new MetricAlarmError('InvalidParameterValue', `The value ${input.evaluationPeriods} for parameter EvaluationPeriods is invalid. It is a whole number of at least 1.`);
    }
    const m = input.datapointsToAlarm;
    if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > input.evaluationPeriods)) {
      throw new MetricAlarmError('InvalidParameterValue', `The value ${m} for parameter DatapointsToAlarm is invalid. It is a whole number from 1 to EvaluationPeriods (${input.evaluationPeriods}).`);
    }
    for (const arn of input.alarmActions) {
      const policy = this.policy(arn);
      if (policy === undefined) {
        throw new MetricAlarmError('InvalidParameterValue', `Invalid arn ${arn} in AlarmActions: no scaling policy has it (use the PolicyARN that PutScalingPolicy returned).`);
      }
      if (policy.policyType === 'TargetTrackingScaling') {
        throw new MetricAlarmError('InvalidParameterValue', `The policy ${policy.policyName} in AlarmActions is a TargetTrackingScaling policy, whose alarms Auto Scaling manages: name a StepScaling or SimpleScaling policy.`);
      }
    }
    const now = this.ctx.now();
    const alarm: MetricAlarm = {
      ...input,
      alarmArn: `arn:aws:cloudwatch:${this.ctx.region}:${this.ctx.accountId}:alarm:${input.alarmName}`,
      count: newAlarmCount(),
      state: 'INSUFFICIENT_DATA',
      stateReason: 'Unchecked: Initial alarm creation',
      stateUpdatedMs: now,
      configurationUpdatedMs: now,
    };
    this.alarms.set(input.alarmName, alarm);
    return alarm;
  }

  /** Deletes alarms by name; an unknown name is refused and nothing is deleted. */
  delete(names: readonly string[]): void {
    const unknown = names.filter((n) => !this.alarms.has(n));
    if (unknown.length > 0) throw new MetricAlarmError('ResourceNotFound', `${unknown.length === 1 ? 'Alarm' : 'Alarms'} ${unknown.join(', ')} not found.`);
    for (const n of names) this.alarms.delete(n);
  }

  private policy(arn: string): ScalingPolicy | undefined {
    for (const g of this.model.groups.values()) for (const p of g.policies.values()) if (p.policyArn === arn) return p;
    return undefined;
  }

  /** One evaluation: every alarm whose period ends now. */
  tick(): void {
    const now = this.ctx.now();
    this.evaluations++;
    for (const alarm of this.alarms.values()) {
      const periodMs = alarm.periodS * 1000;
      if (now % periodMs !== 0) continue;
      const value = this.metrics.statistic(alarm.metric, now - periodMs, now, alarm.statistic);
      const first = alarm.alarmActions.map((arn) => this.policy(arn)).find((p) => p !== undefined);
      const group = first === undefined ? undefined : this.model.groups.get(first.groupName);
      const cooldownMs = ((first?.cooldownS ?? group?.defaultCooldownS) ?? 0) * 1000;
      const fire = evaluateAlarm(alarm.count, { ...alarm, cooldownMs }, value, now);
      this.setState(alarm, value, now);
      if (!fire || !alarm.actionsEnabled) continue;
      // No datapoint this period (TreatMissingData breaching): the step is picked as for a value at the threshold.
      for (const arn of alarm.alarmActions) this.run(alarm, arn, value ?? alarm.threshold);
    }
  }

  private setState(alarm: MetricAlarm, value: number | undefined, now: number): void {
    const next = alarm.count.state;
    if (next === alarm.state && value === undefined) return; // a missing datapoint that changed nothing keeps the reason
    const last = value === undefined ? `the last period had no data (TreatMissingData ${alarm.treatMissingData})` : `the last ${value} ${alarm.comparison} ${alarm.threshold}`;
    const reason = `Threshold Crossed: ${alarm.count.breached} of the last ${alarm.evaluationPeriods} datapoint(s) breaching (${datapointsToAlarm(alarm)} needed); ${last}.`;
    if (next !== alarm.state) alarm.stateUpdatedMs = now;
    alarm.state = next;
    alarm.stateReason = reason;
  }

  private run(alarm: MetricAlarm, arn: string, value: number): void {
    const policy = this.policy(arn);
    if (policy === undefined || !policy.enabled) return; // deleted or disabled since: AWS skips the action
    try {
      this.model.executePolicy({ groupName: policy.groupName, policyName: policy.policyName, honorCooldown: false, metricValue: value, breachThreshold: alarm.threshold, alarmName: alarm.alarmName });
      this.executions++;
    } catch (e) {
      // No step holds the value: the action fails and the alarm stays in ALARM, as AWS's does.
      if (!(e instanceof AutoScalingError)) throw e;
      alarm.stateReason += ` The action on ${policy.policyName} failed: ${e.message}`;
    }
  }
}
