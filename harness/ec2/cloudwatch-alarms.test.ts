/**
 * The endpoint's metric alarms on `Ec2State` without a server (the unit suite's cover of `metric-alarms.ts`; the
 * wire contract is `cloudwatch-alarms.live.test.ts`): evaluation once a minute, Period > 60, actions disabled.
 */
import { describe, expect, it } from 'vitest';
import { runCloudWatchAction } from './cloudwatch-actions.ts';
import { ManualClock } from './clock.ts';
import { Ec2State } from './state.ts';

const MINUTE = 60_000;
const DIMS = [{ Name: 'G', Value: 'nomad' }];

function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
  const state = new Ec2State({ clock, seed: 3 });
  state.autoscaling.createLaunchConfiguration({ name: 'lc', imageId: state.ec2.baseImageId, instanceType: 'm4.large' });
  state.autoscaling.createAutoScalingGroup({ name: 'nomad', minSize: 0, maxSize: 9, desiredCapacity: 1, launchConfigurationName: 'lc', availabilityZones: ['us-east-1a'] });
  const policy = state.autoscaling.putScalingPolicy({ groupName: 'nomad', policyName: 'add', adjustmentType: 'ChangeInCapacity', scalingAdjustment: 1, cooldownS: 0 });
  const cw = (action: string, input: Record<string, unknown>) => runCloudWatchAction(action, input, state);
  /** One minute with a datum of `value` (undefined: none); the desired capacity after the minute's evaluation. */
  const minute = (value: number | undefined) => {
    if (value !== undefined) cw('PutMetricData', { Namespace: 'T', MetricData: [{ MetricName: 'M', Dimensions: DIMS, Value: value }] });
    clock.advance(MINUTE);
    state.sync();
    return state.autoscaling.requireGroup('nomad').desiredCapacity;
  };
  const alarm = (extra: Record<string, unknown>) =>
    cw('PutMetricAlarm', { AlarmName: 'a', Namespace: 'T', MetricName: 'M', Dimensions: DIMS, Statistic: 'Maximum', Period: 60, EvaluationPeriods: 1, Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [policy.policyArn], ...extra });
  return { state, cw, minute, alarm };
}

describe('metric alarms on the endpoint state', () => {
  it('an alarm of Period 120 evaluates every other minute, over both minutes', () => {
    const { minute, alarm } = setup();
    alarm({ Period: 120 });
    // 09:01 is not a period's end; 09:02 reads 09:00-09:02 (max 9): fires; 09:04 reads 09:02-09:04 (max 6): fires.
    expect([minute(9), minute(1), minute(1), minute(6)]).toEqual([1, 2, 2, 3]);
  });

  it('ActionsEnabled false: the state goes to ALARM, the policy does not run', () => {
    const { cw, minute, alarm } = setup();
    alarm({ ActionsEnabled: false });
    expect([minute(9), minute(9)]).toEqual([1, 1]);
    const described = cw('DescribeAlarms', {}) as { MetricAlarms: { StateValue: string; ActionsEnabled: boolean }[] };
    expect(described.MetricAlarms).toEqual([expect.objectContaining({ StateValue: 'ALARM', ActionsEnabled: false })]);
  });

  it('DatapointsToAlarm 2 of EvaluationPeriods 3: two breaching minutes among three scale out; DescribeAlarms echoes both settings', () => {
    const { cw, minute, alarm } = setup();
    alarm({ EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    // 0 (OK), 9 (1 of 2 real), 0 (1 of 3), 9 (2 of 3: ALARM, the policy runs).
    expect([minute(0), minute(9), minute(0), minute(9)]).toEqual([1, 1, 1, 2]);
    const described = cw('DescribeAlarms', {}) as { MetricAlarms: Record<string, unknown>[] };
    expect(described.MetricAlarms[0]).toMatchObject({ StateValue: 'ALARM', EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'missing' });
  });

  it('TreatMissingData breaching: minutes without data alarm once the good datum leaves the range; notBreaching: never', () => {
    const gap = (t: ReturnType<typeof setup>) => [t.minute(0), ...[1, 2, 3, 4].map(() => t.minute(undefined))];
    const breaching = setup();
    breaching.alarm({ EvaluationPeriods: 2, TreatMissingData: 'breaching' });
    // The range is EvaluationPeriods + 2 minutes: the real 0 counts (1 of 2 filled breaching) until the fifth minute.
    expect(gap(breaching)).toEqual([1, 1, 1, 1, 2]);
    const notBreaching = setup();
    notBreaching.alarm({ EvaluationPeriods: 2, TreatMissingData: 'notBreaching' });
    expect(gap(notBreaching)).toEqual([1, 1, 1, 1, 1]);
    const described = notBreaching.cw('DescribeAlarms', {}) as { MetricAlarms: Record<string, unknown>[] };
    expect(described.MetricAlarms[0]).toMatchObject({ StateValue: 'OK', TreatMissingData: 'notBreaching', DatapointsToAlarm: 2 });
  });

  it('refuses a DatapointsToAlarm above EvaluationPeriods and an unknown TreatMissingData, naming the parameter', () => {
    const { alarm } = setup();
    expect(() => alarm({ EvaluationPeriods: 2, DatapointsToAlarm: 3 })).toThrow(/DatapointsToAlarm is invalid\. It is a whole number from 1 to EvaluationPeriods \(2\)/);
    expect(() => alarm({ TreatMissingData: 'zero' })).toThrow(/TreatMissingData is invalid\. Valid values: missing, notBreaching, breaching, ignore/);
  });
});
