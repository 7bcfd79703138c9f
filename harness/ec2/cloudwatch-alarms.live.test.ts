/**
 * Contract tests of the twin's CloudWatch metric alarms (`PutMetricAlarm`, `DescribeAlarms`, `DeleteAlarms`) that
 * run step and simple scaling policies, spoken to by the real `@aws-sdk/client-cloudwatch` /
 * `@aws-sdk/client-auto-scaling` (AWS JSON 1.0 and Query) and the AWS CLI. A manual clock moves model time; the
 * alarms are evaluated once a minute by `sim/models/autoscaling/metric-alarms.ts` with `alarm.ts`, the evaluation
 * the simulation's step policies run.
 *
 *   npx vitest run --project live harness/ec2/cloudwatch-alarms.live.test.ts
 */
import { DeleteAlarmsCommand, DescribeAlarmsCommand, PutMetricAlarmCommand, PutMetricDataCommand, type PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, DescribeAutoScalingGroupsCommand, DescribePoliciesCommand, DescribeScalingActivitiesCommand, PutScalingPolicyCommand } from '@aws-sdk/client-auto-scaling';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsCli, cliScratch, closeTwin, GROUP, MINUTE, NAMESPACE, openTwin, probeAwsCli, REGION, type Twin } from './cloudwatch-live-twin.ts';

const DIMENSIONS = [{ Name: 'AutoScalingGroupName', Value: GROUP }];

/** A group of 2 (max 10, default cooldown 300 s) with a step policy: +2 for a breach under 10 above the threshold, +4 beyond. */
async function groupWithStepPolicy(t: Twin): Promise<string> {
  await t.asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'nomad-lc', ImageId: [...t.api.state.ec2.images.values()][0]!.imageId, InstanceType: 'm5.xlarge' }));
  await t.asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, LaunchConfigurationName: 'nomad-lc', MinSize: 1, MaxSize: 10, DesiredCapacity: 2, AvailabilityZones: [`${REGION}a`] }));
  const out = await t.asg.send(
    new PutScalingPolicyCommand({
      AutoScalingGroupName: GROUP,
      PolicyName: 'pending-step',
      PolicyType: 'StepScaling',
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 2 },
        { MetricIntervalLowerBound: 10, ScalingAdjustment: 4 },
      ],
    }),
  );
  return out.PolicyARN!;
}

function alarmInput(policyArn: string): PutMetricAlarmCommandInput {
  return {
    AlarmName: 'pending-jobs-high',
    MetricName: 'PendingJobs',
    Namespace: NAMESPACE,
    Dimensions: DIMENSIONS,
    Statistic: 'Average',
    Period: 60,
    EvaluationPeriods: 3,
    Threshold: 5,
    ComparisonOperator: 'GreaterThanThreshold',
    AlarmActions: [policyArn],
  };
}

async function desired(t: Twin): Promise<number | undefined> {
  return (await t.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }))).AutoScalingGroups?.[0]?.DesiredCapacity;
}

/** Puts `value` in the current minute, then moves to the next (where the alarm evaluates it); returns the desired capacity. */
async function minuteAt(t: Twin, value: number): Promise<number | undefined> {
  await t.cw.send(new PutMetricDataCommand({ Namespace: NAMESPACE, MetricData: [{ MetricName: 'PendingJobs', Dimensions: DIMENSIONS, Value: value }] }));
  t.clock.advance(MINUTE);
  return desired(t);
}

async function failure(p: Promise<unknown>): Promise<Error | undefined> {
  return p.then(
    () => undefined,
    (e: Error) => e,
  );
}

describe('CloudWatch metric alarms running step policies (@aws-sdk/client-cloudwatch, JSON 1.0)', () => {
  let t: Twin;
  beforeEach(async () => {
    t = await openTwin();
  });
  afterEach(async () => closeTwin(t));

  it('scales by the step after EvaluationPeriods minutes above the threshold, then waits out the cooldown', async () => {
    const arn = await groupWithStepPolicy(t);
    await t.cw.send(new PutMetricAlarmCommand(alarmInput(arn)));
    expect((await t.cw.send(new DescribeAlarmsCommand({ AlarmNames: ['pending-jobs-high'] }))).MetricAlarms?.[0]?.StateValue).toBe('INSUFFICIENT_DATA');
    // A quiet minute first: with fewer real datapoints than EvaluationPeriods, TreatMissingData missing judges the ones
    // there are (AWS's table: `- - X - -` is ALARM), so a first breaching minute alone would alarm.
    // 8 pending jobs: 3 above the threshold of 5, the first step (+2).
    expect([await minuteAt(t, 0), await minuteAt(t, 8), await minuteAt(t, 8)]).toEqual([2, 2, 2]);
    expect((await t.cw.send(new DescribeAlarmsCommand({ AlarmNames: ['pending-jobs-high'] }))).MetricAlarms?.[0]?.StateValue).toBe('OK');
    expect(await minuteAt(t, 8)).toBe(4);
    const alarm = (await t.cw.send(new DescribeAlarmsCommand({ StateValue: 'ALARM' }))).MetricAlarms ?? [];
    expect(alarm.map((a) => a.AlarmName)).toEqual(['pending-jobs-high']);
    expect(alarm[0]).toMatchObject({ AlarmActions: [arn], Threshold: 5, EvaluationPeriods: 3, Period: 60, ComparisonOperator: 'GreaterThanThreshold', MetricName: 'PendingJobs', Namespace: NAMESPACE });
    const activities = (await t.asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: GROUP }))).Activities ?? [];
    expect(activities[0]?.Cause).toMatch(/a monitor alarm pending-jobs-high in state ALARM triggered policy pending-step changing the desired capacity from 2 to 4\./);
    // Still in ALARM: the group's default cooldown (300 s) holds it for four more minutes; 20 pending is the second step (+4).
    expect([await minuteAt(t, 20), await minuteAt(t, 20), await minuteAt(t, 20), await minuteAt(t, 20)]).toEqual([4, 4, 4, 4]);
    expect(await minuteAt(t, 20)).toBe(8);
  });

  it('does not scale at or below the threshold, nor on breaches that are not consecutive; DeleteAlarms stops it', async () => {
    const arn = await groupWithStepPolicy(t);
    await t.cw.send(new PutMetricAlarmCommand(alarmInput(arn)));
    for (const v of [5, 5, 5, 5, 9, 9, 1, 9, 9, 1]) expect(await minuteAt(t, v)).toBe(2);
    expect((await t.cw.send(new DescribeAlarmsCommand({ AlarmNames: ['pending-jobs-high'] }))).MetricAlarms?.[0]?.StateValue).toBe('OK');
    t.clock.advance(2 * MINUTE); // no data: the range (EvaluationPeriods + 2 minutes) still holds 3 real datapoints
    expect((await t.cw.send(new DescribeAlarmsCommand({ StateValue: 'OK' }))).MetricAlarms?.map((a) => a.AlarmName)).toEqual(['pending-jobs-high']);
    t.clock.advance(3 * MINUTE); // a range without data: INSUFFICIENT_DATA (TreatMissingData missing)
    expect((await t.cw.send(new DescribeAlarmsCommand({ StateValue: 'INSUFFICIENT_DATA' }))).MetricAlarms?.map((a) => a.AlarmName)).toEqual(['pending-jobs-high']);
    await t.cw.send(new DeleteAlarmsCommand({ AlarmNames: ['pending-jobs-high'] }));
    for (let m = 0; m < 4; m++) expect(await minuteAt(t, 50)).toBe(2);
    expect((await t.cw.send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual([]);
    expect((await failure(t.cw.send(new DeleteAlarmsCommand({ AlarmNames: ['pending-jobs-high'] }))))?.name).toBe('ResourceNotFound');
  });

  it('scales in by a negative step when the metric stays below a LessThanThreshold alarm', async () => {
    await groupWithStepPolicy(t);
    await t.asg.send(new PutScalingPolicyCommand({ AutoScalingGroupName: GROUP, PolicyName: 'idle-in', PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }] }));
    const arn = (await t.asg.send(new DescribePoliciesCommand({ AutoScalingGroupName: GROUP, PolicyNames: ['idle-in'] }))).ScalingPolicies![0]!.PolicyARN!;
    await t.cw.send(new PutMetricAlarmCommand({ ...alarmInput(arn), AlarmName: 'pending-jobs-low', Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 2 }));
    expect([await minuteAt(t, 3), await minuteAt(t, 0), await minuteAt(t, 0)]).toEqual([2, 2, 1]);
  });

  it('answers PutMetricAlarm and DescribeAlarms over the Query protocol', async () => {
    const arn = await groupWithStepPolicy(t);
    const post = (body: string) =>
      fetch(t.api.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=test' }, body });
    const put = await post(
      `Action=PutMetricAlarm&Version=2010-08-01&AlarmName=q&Namespace=${encodeURIComponent(NAMESPACE)}&MetricName=PendingJobs&Statistic=Sum&Period=120&EvaluationPeriods=1&Threshold=3` +
        `&ComparisonOperator=GreaterThanThreshold&Dimensions.member.1.Name=AutoScalingGroupName&Dimensions.member.1.Value=${GROUP}&AlarmActions.member.1=${encodeURIComponent(arn)}`,
    );
    expect(put.status).toBe(200);
    const described = await (await post('Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=q')).text();
    expect(described).toContain(`<AlarmActions><member>${arn}</member></AlarmActions><StateValue>INSUFFICIENT_DATA</StateValue>`);
    expect(described).toContain('<Period>120</Period><EvaluationPeriods>1</EvaluationPeriods>');
  });

  it('refuses what it does not model, and actions that are not scaling policies', async () => {
    const arn = await groupWithStepPolicy(t);
    const ok = await failure(t.cw.send(new PutMetricAlarmCommand({ ...alarmInput(arn), OKActions: [arn] })));
    expect(ok?.name).toBe('InvalidParameterValueException');
    expect(ok?.message).toMatch(/does not support OKActions/);
    const period = await failure(t.cw.send(new PutMetricAlarmCommand({ ...alarmInput(arn), Period: 30 })));
    expect(period?.message).toMatch(/Period is invalid.*multiple of 60/);
    const unknown = await failure(t.cw.send(new PutMetricAlarmCommand({ ...alarmInput(`${arn}x`) })));
    expect(unknown?.message).toMatch(/no scaling policy has it/);
    const m0fn = await failure(t.cw.send(new PutMetricAlarmCommand({ ...alarmInput(arn), DatapointsToAlarm: 4 })));
    expect(m0fn?.message).toMatch(/DatapointsToAlarm is invalid\. It is a whole number from 1 to EvaluationPeriods \(3\)/);
    expect((await t.cw.send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The AWS CLI: `aws cloudwatch put-metric-alarm` on a custom metric, `put-metric-data` above it, the group grows.

const scratch = cliScratch('twin-cw-alarm-cli-');
const cli = probeAwsCli();

describe.skipIf(cli.missing)(`the AWS CLI (${cli.version})`, () => {
  it('aws cloudwatch put-metric-alarm runs a simple policy after three minutes above; describe-alarms shows ALARM; delete-alarms removes it', async () => {
    const t = await openTwin();
    try {
      await groupWithStepPolicy(t);
      const simple = await t.asg.send(new PutScalingPolicyCommand({ AutoScalingGroupName: GROUP, PolicyName: 'add-one', PolicyType: 'SimpleScaling', AdjustmentType: 'ChangeInCapacity', ScalingAdjustment: 1, Cooldown: 60 }));
      const { run, aws } = awsCli(scratch, t.api.url);
      await aws('cloudwatch', 'put-metric-alarm', '--alarm-name', 'queue-high', '--namespace', NAMESPACE, '--metric-name', 'QueueTime', '--dimensions', `Name=AutoScalingGroupName,Value=${GROUP}`,
        '--statistic', 'Maximum', '--period', '60', '--evaluation-periods', '3', '--threshold', '30', '--comparison-operator', 'GreaterThanOrEqualToThreshold', '--alarm-actions', simple.PolicyARN!, '--datapoints-to-alarm', '3', '--treat-missing-data', 'missing');
      const put = (v: string) => aws('cloudwatch', 'put-metric-data', '--namespace', NAMESPACE, '--metric-name', 'QueueTime', '--dimensions', `AutoScalingGroupName=${GROUP}`, '--value', v);
      for (const v of ['10', '30', '45']) {
        await put(v);
        t.clock.advance(MINUTE);
      }
      expect(await desired(t)).toBe(2);
      await put('31');
      t.clock.advance(MINUTE);
      expect(await desired(t)).toBe(3);
      // The policy's own Cooldown (60 s): the next minute in ALARM runs it again.
      await put('31');
      t.clock.advance(MINUTE);
      expect(await desired(t)).toBe(4);
      const alarms = (await aws('cloudwatch', 'describe-alarms', '--alarm-names', 'queue-high')) as { MetricAlarms: { StateValue: string; Statistic: string; Threshold: number }[] };
      expect(alarms.MetricAlarms).toEqual([expect.objectContaining({ StateValue: 'ALARM', Statistic: 'Maximum', Threshold: 30, DatapointsToAlarm: 3, TreatMissingData: 'missing' })]);
      await aws('cloudwatch', 'delete-alarms', '--alarm-names', 'queue-high');
      expect(((await aws('cloudwatch', 'describe-alarms')) as { MetricAlarms: unknown[] }).MetricAlarms).toEqual([]);
      const bad = await run(['cloudwatch', 'put-metric-alarm', '--alarm-name', 'x', '--namespace', NAMESPACE, '--metric-name', 'Q', '--statistic', 'Average', '--period', '60', '--evaluation-periods', '1', '--threshold', '1', '--comparison-operator', 'GreaterThanThreshold', '--treat-missing-data', 'zero']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/InvalidParameterValue.*TreatMissingData/s);
    } finally {
      await closeTwin(t);
    }
  });
});
