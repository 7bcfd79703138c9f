/**
 * Contract tests of the twin's CloudWatch endpoint and the target tracking it feeds, spoken to by the real
 * `@aws-sdk/client-cloudwatch` / `@aws-sdk/client-auto-scaling` (AWS JSON 1.0 and Query) and the AWS CLI (botocore,
 * JSON 1.0). A manual clock moves model time: metrics put above a policy's target make the group scale out after
 * three one-minute datapoints, as AWS's target tracking does.
 *
 *   npx vitest run --project live harness/ec2/cloudwatch.live.test.ts
 */
import { DescribeAlarmsCommand, GetMetricStatisticsCommand, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
  DescribePoliciesCommand,
  DescribeScalingActivitiesCommand,
  PutScalingPolicyCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsCli, cliScratch, closeTwin, GROUP, MINUTE, NAMESPACE, openTwin, probeAwsCli, REGION, START, type Twin } from './cloudwatch-live-twin.ts';

const METRIC = { MetricName: 'BacklogPerClient', Namespace: NAMESPACE, Dimensions: [{ Name: 'AutoScalingGroupName', Value: GROUP }], Statistic: 'Average' as const };

/** A group of 2 (max 10) with a target-tracking policy on a backlog of 4 builds per client. */
async function groupWithPolicy(t: Twin, warmupS = 60): Promise<string> {
  await t.asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'nomad-lc', ImageId: await ubuntu(t), InstanceType: 'm5.xlarge' }));
  await t.asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, LaunchConfigurationName: 'nomad-lc', MinSize: 1, MaxSize: 10, DesiredCapacity: 2, AvailabilityZones: [`${REGION}a`] }));
  const out = await t.asg.send(
    new PutScalingPolicyCommand({
      AutoScalingGroupName: GROUP,
      PolicyName: 'backlog-4',
      PolicyType: 'TargetTrackingScaling',
      EstimatedInstanceWarmup: warmupS,
      TargetTrackingConfiguration: { TargetValue: 4, CustomizedMetricSpecification: METRIC },
    }),
  );
  return out.PolicyARN!;
}

async function ubuntu(t: Twin): Promise<string> {
  return [...t.api.state.ec2.images.values()][0]!.imageId;
}

async function describeGroup(t: Twin): Promise<AutoScalingGroup> {
  const g = (await t.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [GROUP] }))).AutoScalingGroups?.[0];
  if (g === undefined) throw new Error(`no group ${GROUP}`);
  return g;
}

describe('CloudWatch and target tracking (@aws-sdk/client-cloudwatch, JSON 1.0)', () => {
  let t: Twin;
  beforeEach(async () => {
    t = await openTwin();
  });
  afterEach(async () => closeTwin(t));

  it('scales the group out when the tracked metric stays above the target for three minutes', async () => {
    const arn = await groupWithPolicy(t);
    t.clock.advance(MINUTE); // the two instances boot and go InService
    expect((await describeGroup(t)).Instances?.filter((i) => i.LifecycleState === 'InService')).toHaveLength(2);
    // A backlog of 10 per client on 2 clients: 20 builds, which 5 clients would hold at the target of 4.
    for (let m = 0; m < 3; m++) {
      await t.cw.send(new PutMetricDataCommand({ Namespace: NAMESPACE, MetricData: [{ MetricName: 'BacklogPerClient', Dimensions: METRIC.Dimensions, Value: 10, Unit: 'Count' }] }));
      expect((await describeGroup(t)).DesiredCapacity).toBe(2);
      t.clock.advance(MINUTE);
    }
    const g = await describeGroup(t);
    expect(g.DesiredCapacity).toBe(5);
    expect(g.Instances).toHaveLength(5);
    const activities = (await t.asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: GROUP }))).Activities ?? [];
    expect(activities[0]?.Cause).toMatch(/a monitor alarm TargetTracking-circleci-nomad-clients-AlarmHigh-[0-9a-f-]+ in state ALARM triggered policy backlog-4 changing the desired capacity from 2 to 5\./);
    const policy = (await t.asg.send(new DescribePoliciesCommand({ AutoScalingGroupName: GROUP }))).ScalingPolicies?.[0];
    expect(policy?.TargetTrackingConfiguration).toMatchObject({ TargetValue: 4, CustomizedMetricSpecification: METRIC });
    expect(policy?.Alarms?.map((a) => a.AlarmName)).toEqual([expect.stringMatching(/-AlarmHigh-/), expect.stringMatching(/-AlarmLow-/)]);
    const alarms = (await t.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `TargetTracking-${GROUP}-AlarmHigh` }))).MetricAlarms ?? [];
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ StateValue: 'ALARM', MetricName: 'BacklogPerClient', Namespace: NAMESPACE, Threshold: 4, AlarmActions: [arn], ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('holds with no data, and scales in after fifteen minutes below the target once warm-up and cooldown have passed', async () => {
    await groupWithPolicy(t);
    t.clock.advance(10 * MINUTE); // no datapoints: INSUFFICIENT_DATA, nothing changes
    expect((await describeGroup(t)).DesiredCapacity).toBe(2);
    const low = await t.cw.send(new DescribeAlarmsCommand({ StateValue: 'OK' }));
    expect(low.MetricAlarms?.map((a) => a.AlarmName)).toEqual([]);
    for (let m = 0; m < 15; m++) {
      await t.cw.send(new PutMetricDataCommand({ Namespace: NAMESPACE, MetricData: [{ MetricName: 'BacklogPerClient', Dimensions: METRIC.Dimensions, Values: [1, 1, 1], Counts: [1, 1, 1] }] }));
      expect((await describeGroup(t)).DesiredCapacity).toBe(2);
      t.clock.advance(MINUTE);
    }
    // ceil(2 × 1 / 4) = 1, the group's minimum.
    expect((await describeGroup(t)).DesiredCapacity).toBe(1);
  });

  it('answers GetMetricStatistics and ListMetrics over what was put, and refuses what CloudWatch refuses', async () => {
    const dims = [{ Name: 'AutoScalingGroupName', Value: GROUP }];
    await t.cw.send(
      new PutMetricDataCommand({
        Namespace: NAMESPACE,
        MetricData: [
          { MetricName: 'PendingJobs', Dimensions: dims, Value: 3, Timestamp: new Date(START - 90_000) },
          { MetricName: 'PendingJobs', Dimensions: dims, Value: 7, Timestamp: new Date(START - 30_000) },
          { MetricName: 'PendingJobs', Dimensions: dims, StatisticValues: { SampleCount: 2, Sum: 10, Minimum: 1, Maximum: 9 }, Timestamp: new Date(START - 20_000) },
          { MetricName: 'Idle', Value: 1 },
        ],
      }),
    );
    const stats = await t.cw.send(
      new GetMetricStatisticsCommand({ Namespace: NAMESPACE, MetricName: 'PendingJobs', Dimensions: dims, StartTime: new Date(START - 120_000), EndTime: new Date(START), Period: 60, Statistics: ['Average', 'Maximum', 'SampleCount'] }),
    );
    expect(stats.Label).toBe('PendingJobs');
    expect(stats.Datapoints?.map((d) => ({ at: d.Timestamp?.getTime(), avg: d.Average, max: d.Maximum, n: d.SampleCount }))).toEqual([
      { at: START - 120_000, avg: 3, max: 3, n: 1 },
      { at: START - 60_000, avg: 17 / 3, max: 9, n: 3 },
    ]);
    const listed = await t.cw.send(new ListMetricsCommand({ Namespace: NAMESPACE, Dimensions: [{ Name: 'AutoScalingGroupName' }] }));
    expect(listed.Metrics?.map((m) => m.MetricName)).toEqual(['PendingJobs']);
    expect((await t.cw.send(new ListMetricsCommand({ Namespace: NAMESPACE }))).Metrics?.map((m) => m.MetricName).sort()).toEqual(['Idle', 'PendingJobs']);
    const reserved = await t.cw.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: [{ MetricName: 'CPUUtilization', Value: 1 }] })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(reserved?.name).toBe('InvalidParameterValueException');
    expect(reserved?.message).toMatch(/AWS\/EC2 for parameter Namespace is invalid/);
    const tooMany = await t.cw
      .send(new GetMetricStatisticsCommand({ Namespace: NAMESPACE, MetricName: 'PendingJobs', StartTime: new Date(START - 2 * 86_400_000), EndTime: new Date(START), Period: 60, Statistics: ['Average'] }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(tooMany?.name).toBe('InvalidParameterCombinationException');
  });

  it('evaluates a predefined ASGAverageCPUUtilization policy on AWS/EC2 metrics the twin publishes itself', async () => {
    await t.asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'nomad-lc', ImageId: await ubuntu(t), InstanceType: 'm5.xlarge' }));
    await t.asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, LaunchConfigurationName: 'nomad-lc', MinSize: 1, MaxSize: 10, DesiredCapacity: 4, AvailabilityZones: [`${REGION}a`] }));
    await t.asg.send(
      new PutScalingPolicyCommand({
        AutoScalingGroupName: GROUP,
        PolicyName: 'cpu-50',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' } },
      }),
    );
    t.clock.advance(MINUTE);
    for (let m = 0; m < 3; m++) {
      t.api.state.sync();
      t.api.state.cloudwatch.put('AWS/EC2', [{ metricName: 'CPUUtilization', dimensions: [{ name: 'AutoScalingGroupName', value: GROUP }], timestampMs: undefined, unit: 'Percent', value: 90 }], true);
      t.clock.advance(MINUTE);
    }
    // ceil(4 × 90 / 50) = 8.
    expect((await describeGroup(t)).DesiredCapacity).toBe(8);
  });
});

describe('CloudWatch over the Query protocol (Version=2010-08-01)', () => {
  it('puts a datum and reads it back as XML', async () => {
    const t = await openTwin();
    try {
      const post = (body: string) =>
        fetch(t.api.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=test' }, body });
      const put = await post(
        `Action=PutMetricData&Version=2010-08-01&Namespace=${encodeURIComponent(NAMESPACE)}&MetricData.member.1.MetricName=Q&MetricData.member.1.Value=5&MetricData.member.1.Dimensions.member.1.Name=A&MetricData.member.1.Dimensions.member.1.Value=b`,
      );
      expect(put.status).toBe(200);
      expect(await put.text()).toContain('<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ResponseMetadata>');
      const list = await post(`Action=ListMetrics&Version=2010-08-01&Namespace=${encodeURIComponent(NAMESPACE)}`);
      expect(await list.text()).toContain('<Metrics><member><Namespace>CircleCI/Nomad</Namespace><MetricName>Q</MetricName><Dimensions><member><Name>A</Name><Value>b</Value></member></Dimensions></member></Metrics>');
      const bad = await post('Action=PutMetricData&Version=2010-08-01&Namespace=X&MetricData.member.1.MetricName=Q&MetricData.member.1.Value=x');
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(/<Code>InvalidParameterValue<\/Code><Message>The value x for parameter MetricData.member.1.Value is invalid/);
    } finally {
      await closeTwin(t);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The AWS CLI: `aws cloudwatch put-metric-data` feeds the policy, `aws autoscaling` sees the group grow.

const scratch = cliScratch('twin-cw-cli-');
const cli = probeAwsCli();

describe.skipIf(cli.missing)(`the AWS CLI (${cli.version})`, () => {
  it('aws cloudwatch put-metric-data above the target scales the group out; get-metric-statistics and describe-alarms show why', async () => {
    const t = await openTwin();
    try {
      await groupWithPolicy(t);
      t.clock.advance(MINUTE);
      const { run, aws } = awsCli(scratch, t.api.url);
      for (let m = 0; m < 3; m++) {
        await aws('cloudwatch', 'put-metric-data', '--namespace', NAMESPACE, '--metric-name', 'BacklogPerClient', '--dimensions', `AutoScalingGroupName=${GROUP}`, '--value', '12', '--unit', 'Count');
        t.clock.advance(MINUTE);
      }
      const groups = (await aws('autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', GROUP)) as { AutoScalingGroups: { DesiredCapacity: number }[] };
      expect(groups.AutoScalingGroups[0]!.DesiredCapacity).toBe(6); // ceil(2 × 12 / 4)
      const start = new Date(START).toISOString();
      const stats = (await aws('cloudwatch', 'get-metric-statistics', '--namespace', NAMESPACE, '--metric-name', 'BacklogPerClient', '--dimensions', `Name=AutoScalingGroupName,Value=${GROUP}`, '--start-time', start, '--end-time', new Date(START + 10 * MINUTE).toISOString(), '--period', '300', '--statistics', 'Average', 'SampleCount')) as { Datapoints: { Average: number; SampleCount: number }[] };
      expect(stats.Datapoints).toHaveLength(1);
      expect(stats.Datapoints[0]).toMatchObject({ Average: 12, SampleCount: 3 });
      const alarms = (await aws('cloudwatch', 'describe-alarms', '--state-value', 'ALARM')) as { MetricAlarms: { AlarmName: string }[] };
      expect(alarms.MetricAlarms.map((a) => a.AlarmName)).toEqual([expect.stringMatching(/^TargetTracking-circleci-nomad-clients-AlarmHigh-/)]);
      const bad = await run(['cloudwatch', 'put-metric-data', '--namespace', 'AWS/EC2', '--metric-name', 'CPUUtilization', '--value', '1']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/InvalidParameterValue/);
    } finally {
      await closeTwin(t);
    }
  });
});
