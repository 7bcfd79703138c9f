import { describe, expect, it } from 'vitest';
import { applyAdjustment, DEFAULT_AUTOSCALING_TIMINGS, LAUNCHING, TERMINATING } from './autoscaling-model.ts';
import { ManualClock } from './clock.ts';
import { DEFAULT_EC2_TIMINGS } from './ec2-model.ts';
import { Ec2State } from './state.ts';

const BOOT = DEFAULT_EC2_TIMINGS.bootMs;
const SHUTDOWN = DEFAULT_EC2_TIMINGS.terminateMs;

function setup(desired = 2, extra: { zones?: string[] } = {}) {
  const clock = new ManualClock();
  const state = new Ec2State({ clock, seed: 11 });
  const asg = state.autoscaling;
  asg.createLaunchConfiguration({ name: 'lc-v1', imageId: state.ec2.baseImageId, instanceType: 'm4.xlarge' });
  asg.createAutoScalingGroup({
    name: 'nomad',
    minSize: 0,
    maxSize: 6,
    desiredCapacity: desired,
    launchConfigurationName: 'lc-v1',
    availabilityZones: extra.zones ?? ['us-east-1a', 'us-east-1b'],
    tags: [{ key: 'Name', value: 'nomad-client', propagateAtLaunch: true }],
  });
  const group = () => asg.requireGroup('nomad');
  const members = () => [...group().instances.values()];
  const states = () => members().map((m) => m.lifecycleState).sort();
  const settle = (ms: number) => {
    clock.advance(ms);
    state.sync();
  };
  return { clock, state, asg, group, members, states, settle };
}

describe('Auto Scaling groups', () => {
  it('launch the desired capacity, Pending until the EC2 instances run, then InService', () => {
    const { state, members, states, settle } = setup(2);
    expect(states()).toEqual(['Pending', 'Pending']);
    const ids = members().map((m) => m.instanceId);
    for (const id of ids) expect(state.ec2.instances.get(id)?.tags.get('aws:autoscaling:groupName')).toBe('nomad');
    for (const id of ids) expect(state.ec2.instances.get(id)?.tags.get('Name')).toBe('nomad-client');
    settle(BOOT);
    expect(states()).toEqual(['InService', 'InService']);
    expect(new Set(members().map((m) => m.availabilityZone))).toEqual(new Set(['us-east-1a', 'us-east-1b']));
  });

  it('scale in from the busiest zone, and instances of an old launch configuration first', () => {
    const { state, asg, members, settle, group } = setup(3, { zones: ['us-east-1a', 'us-east-1b'] });
    settle(BOOT);
    asg.createLaunchConfiguration({ name: 'lc-v2', imageId: state.ec2.baseImageId, instanceType: 'm5.xlarge' });
    asg.updateAutoScalingGroup({ name: 'nomad', launchConfigurationName: 'lc-v2', desiredCapacity: 5 });
    settle(BOOT);
    expect(members().filter((m) => m.launchConfigurationName === 'lc-v2')).toHaveLength(2);
    asg.setDesiredCapacity('nomad', 2, false);
    const leaving = members().filter((m) => m.lifecycleState === 'Terminating');
    expect(leaving).toHaveLength(3);
    expect(leaving.filter((m) => m.launchConfigurationName === 'lc-v1')).toHaveLength(3);
    settle(SHUTDOWN);
    const left = members();
    expect(left.map((m) => m.launchConfigurationName)).toEqual(['lc-v2', 'lc-v2']);
    expect(new Set(left.map((m) => m.availabilityZone)).size).toBe(2);
    expect(group().desiredCapacity).toBe(2);
  });

  it('reject capacities outside the bounds, and a decrement below the minimum', () => {
    const { asg, members, settle } = setup(1);
    settle(BOOT);
    expect(() => asg.setDesiredCapacity('nomad', 7, false)).toThrowError(
      expect.objectContaining({ code: 'ValidationError', message: 'New SetDesiredCapacity value 7 is above max value 6 for the AutoScalingGroup.' }),
    );
    asg.updateAutoScalingGroup({ name: 'nomad', minSize: 1 });
    expect(() => asg.terminateInstanceInAutoScalingGroup(members()[0]!.instanceId, true)).toThrowError(expect.objectContaining({ code: 'ValidationError' }));
    expect(() => asg.updateAutoScalingGroup({ name: 'nomad', minSize: 4, maxSize: 2 })).toThrowError(expect.objectContaining({ code: 'ValidationError' }));
    expect(() => asg.setDesiredCapacity('ghost', 1, false)).toThrowError(expect.objectContaining({ message: 'AutoScalingGroup name not found - AutoScalingGroup ghost not found' }));
  });

  it('replace an instance terminated behind their back, and one stopped after the health check delay', () => {
    const { state, members, states, settle } = setup(2);
    settle(BOOT);
    const [a, b] = members().map((m) => m.instanceId);
    state.ec2.terminateInstances([a!]);
    state.sync();
    expect(states()).toEqual(['InService', 'Pending', 'Terminating']);
    settle(SHUTDOWN);
    expect(members().map((m) => m.instanceId)).not.toContain(a);
    state.ec2.stopInstances([b!]);
    settle(DEFAULT_AUTOSCALING_TIMINGS.healthCheckDelayMs - 1);
    expect(members().find((m) => m.instanceId === b)?.healthStatus).toBe('Unhealthy');
    expect(members().find((m) => m.instanceId === b)?.lifecycleState).toBe('InService');
    settle(1);
    expect(members().find((m) => m.instanceId === b)?.lifecycleState).toBe('Terminating');
    settle(BOOT + SHUTDOWN);
    expect(states()).toEqual(['InService', 'InService']);
  });

  it('record a failed launch as an activity and retry with backoff', () => {
    const { state, asg, settle, members } = setup(0);
    const snap = state.ec2.createSnapshot({ volumeId: state.ec2.runInstances({ imageId: state.ec2.baseImageId, minCount: 1, maxCount: 1 }).instances[0]!.blockDeviceMappings[0]!.volumeId });
    settle(60_000);
    const image = state.ec2.registerImage({ name: 'short-lived', blockDeviceMappings: [{ deviceName: '/dev/sda1', snapshotId: snap.snapshotId }] });
    asg.createLaunchConfiguration({ name: 'lc-doomed', imageId: image.imageId, instanceType: 'm4.large' });
    state.ec2.deregisterImage(image.imageId);
    asg.updateAutoScalingGroup({ name: 'nomad', launchConfigurationName: 'lc-doomed', desiredCapacity: 1 });
    const failed = asg.describeScalingActivities('nomad', []).filter((a) => a.statusCode === 'Failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.statusMessage).toContain('does not exist');
    settle(DEFAULT_AUTOSCALING_TIMINGS.launchRetryMs);
    expect(asg.describeScalingActivities('nomad', []).filter((a) => a.statusCode === 'Failed')).toHaveLength(2);
    settle(DEFAULT_AUTOSCALING_TIMINGS.launchRetryMs);
    // Backoff: the next retry is two periods after the last one.
    expect(asg.describeScalingActivities('nomad', []).filter((a) => a.statusCode === 'Failed')).toHaveLength(2);
    asg.createLaunchConfiguration({ name: 'lc-fixed', imageId: state.ec2.baseImageId, instanceType: 'm4.large' });
    asg.updateAutoScalingGroup({ name: 'nomad', launchConfigurationName: 'lc-fixed' });
    expect(members()).toHaveLength(1);
  });
});

describe('lifecycle hooks', () => {
  it('a launching hook holds Pending:Wait; CONTINUE puts the instance in service', () => {
    const { asg, members, states, settle } = setup(0);
    asg.putLifecycleHook({ groupName: 'nomad', hookName: 'warm-up', transition: LAUNCHING, heartbeatTimeoutS: 300 });
    asg.setDesiredCapacity('nomad', 1, false);
    settle(BOOT);
    expect(states()).toEqual(['Pending:Wait']);
    const [pending] = asg.pendingLifecycleActions();
    expect(pending).toMatchObject({ hookName: 'warm-up', transition: LAUNCHING, instanceId: members()[0]!.instanceId });
    asg.completeLifecycleAction({ groupName: 'nomad', hookName: 'warm-up', result: 'CONTINUE', token: pending!.token });
    expect(states()).toEqual(['InService']);
  });

  it('a launching hook that times out with ABANDON terminates the instance and launches another', () => {
    const { asg, members, settle } = setup(0);
    asg.putLifecycleHook({ groupName: 'nomad', hookName: 'warm-up', transition: LAUNCHING, heartbeatTimeoutS: 30 });
    asg.setDesiredCapacity('nomad', 1, false);
    settle(BOOT);
    const first = members()[0]!.instanceId;
    settle(30_000);
    expect(members().find((m) => m.instanceId === first)?.lifecycleState).toBe('Terminating');
    expect(members().filter((m) => m.lifecycleState === 'Pending')).toHaveLength(1);
  });

  it('a terminating hook holds Terminating:Wait; heartbeats extend it up to the global timeout', () => {
    const { state, asg, members, settle } = setup(1);
    settle(BOOT);
    asg.putLifecycleHook({ groupName: 'nomad', hookName: 'drain', transition: TERMINATING, heartbeatTimeoutS: 60, defaultResult: 'CONTINUE' });
    const id = members()[0]!.instanceId;
    asg.terminateInstanceInAutoScalingGroup(id, true);
    expect(members()[0]?.lifecycleState).toBe('Terminating:Wait');
    settle(50_000);
    asg.recordLifecycleActionHeartbeat({ groupName: 'nomad', hookName: 'drain', instanceId: id });
    settle(50_000);
    expect(members()[0]?.lifecycleState).toBe('Terminating:Wait');
    expect(state.ec2.instances.get(id)?.state).toBe('running');
    settle(10_000);
    expect(members()[0]?.lifecycleState).toBe('Terminating:Proceed');
    expect(state.ec2.instances.get(id)?.state).toBe('shutting-down');
    settle(SHUTDOWN);
    expect(members()).toEqual([]);
    expect(asg.describeScalingActivities('nomad', []).find((a) => a.description === `Terminating EC2 instance: ${id}`)?.statusCode).toBe('Successful');
  });

  it('CompleteLifecycleAction without a waiting instance is a ValidationError', () => {
    const { asg } = setup(0);
    asg.putLifecycleHook({ groupName: 'nomad', hookName: 'drain', transition: TERMINATING });
    expect(() => asg.completeLifecycleAction({ groupName: 'nomad', hookName: 'drain', result: 'CONTINUE', instanceId: 'i-0123456789abcdef0' })).toThrowError(
      expect.objectContaining({ code: 'ValidationError', message: 'No active Lifecycle Action found with instance ID i-0123456789abcdef0' }),
    );
    expect(() => asg.putLifecycleHook({ groupName: 'nomad', hookName: 'bad', transition: 'autoscaling:EC2_INSTANCE_REBOOTING' })).toThrowError(
      expect.objectContaining({ code: 'ValidationError' }),
    );
  });
});

describe('policies and schedules', () => {
  it('a step policy applies the step that holds metric − threshold', () => {
    const { asg, group } = setup(2);
    asg.putScalingPolicy({
      groupName: 'nomad',
      policyName: 'queue',
      policyType: 'StepScaling',
      adjustmentType: 'ChangeInCapacity',
      stepAdjustments: [
        { lowerBound: undefined, upperBound: 0, scalingAdjustment: -1 },
        { lowerBound: 0, upperBound: 20, scalingAdjustment: 1 },
        { lowerBound: 20, upperBound: undefined, scalingAdjustment: 3 },
      ],
    });
    asg.executePolicy({ policyName: 'queue', honorCooldown: false, metricValue: 90, breachThreshold: 60 });
    expect(group().desiredCapacity).toBe(5);
    asg.executePolicy({ policyName: 'queue', honorCooldown: false, metricValue: 50, breachThreshold: 60 });
    expect(group().desiredCapacity).toBe(4);
    asg.executePolicy({ policyName: 'queue', honorCooldown: false, metricValue: 99, breachThreshold: 60 });
    expect(group().desiredCapacity).toBe(6);
    expect(() =>
      asg.putScalingPolicy({ groupName: 'nomad', policyName: 'overlap', policyType: 'StepScaling', adjustmentType: 'ChangeInCapacity', stepAdjustments: [
        { lowerBound: 0, upperBound: 20, scalingAdjustment: 1 },
        { lowerBound: 10, upperBound: undefined, scalingAdjustment: 2 },
      ] }),
    ).toThrowError(expect.objectContaining({ code: 'ValidationError' }));
  });

  it('a simple policy honours its cooldown when asked to (launches by the group start one too)', () => {
    const { asg, group, settle } = setup(2);
    asg.putScalingPolicy({ groupName: 'nomad', policyName: 'plus-one', adjustmentType: 'ChangeInCapacity', scalingAdjustment: 1, cooldownS: 120 });
    expect(() => asg.executePolicy({ policyName: 'plus-one', honorCooldown: true })).toThrowError(expect.objectContaining({ code: 'ScalingActivityInProgress' }));
    settle(120_000);
    asg.executePolicy({ policyName: 'plus-one', honorCooldown: true });
    expect(group().desiredCapacity).toBe(3);
    expect(() => asg.executePolicy({ policyName: 'plus-one', honorCooldown: true })).toThrowError(expect.objectContaining({ code: 'ScalingActivityInProgress' }));
    settle(120_000);
    asg.executePolicy({ policyName: 'plus-one', honorCooldown: true });
    expect(group().desiredCapacity).toBe(4);
  });

  it('percent adjustments round towards zero but move by at least one', () => {
    expect(applyAdjustment(10, 'PercentChangeInCapacity', 25, undefined)).toBe(12);
    expect(applyAdjustment(3, 'PercentChangeInCapacity', 10, undefined)).toBe(4);
    expect(applyAdjustment(10, 'PercentChangeInCapacity', -25, undefined)).toBe(8);
    expect(applyAdjustment(3, 'PercentChangeInCapacity', -10, undefined)).toBe(2);
    expect(applyAdjustment(10, 'PercentChangeInCapacity', 10, 3)).toBe(13);
    expect(applyAdjustment(10, 'ExactCapacity', 4, undefined)).toBe(4);
  });

  it('a recurring scheduled action fires at each cron time; a one-off fires once and is removed', () => {
    const { clock, asg, group, settle } = setup(1);
    const start = clock.nowMs();
    asg.putScheduledUpdateGroupAction({ groupName: 'nomad', name: 'every-half-hour', recurrence: '*/30 * * * *', desiredCapacity: 3 });
    asg.putScheduledUpdateGroupAction({ groupName: 'nomad', name: 'once', startTimeMs: start + 45 * 60_000, desiredCapacity: 5, maxSize: 5 });
    expect(() => asg.putScheduledUpdateGroupAction({ groupName: 'nomad', name: 'past', startTimeMs: start - 1, desiredCapacity: 1 })).toThrowError(
      expect.objectContaining({ message: 'Given start time is in the past' }),
    );
    const nextRun = asg.describeScheduledActions('nomad', ['every-half-hour'])[0]!.nextRunMs!;
    expect(new Date(nextRun).toISOString()).toBe('2020-01-21T14:00:00.000Z');
    settle(nextRun - clock.nowMs() - 1);
    expect(group().desiredCapacity).toBe(1);
    settle(1);
    expect(group().desiredCapacity).toBe(3);
    asg.setDesiredCapacity('nomad', 1, false);
    settle(start + 45 * 60_000 - clock.nowMs());
    expect(group()).toMatchObject({ desiredCapacity: 5, maxSize: 5 });
    expect(asg.describeScheduledActions('nomad', []).map((a) => a.name)).toEqual(['every-half-hour']);
    settle(30 * 60_000);
    expect(group().desiredCapacity).toBe(3);
  });
});
