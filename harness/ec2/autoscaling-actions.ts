import type {
  Activity,
  CustomizedMetric,
  AutoScalingGroup,
  GroupInstance,
  GroupTag,
  LaunchConfiguration,
  LaunchTemplateRef,
  LifecycleHook,
  PutLifecycleHookInput,
  ScalingPolicy,
  ScheduledAction,
  StepAdjustment,
} from './autoscaling-model.ts';
import { toAwsError } from './autoscaling-model.ts';
import { validationError } from './errors.ts';
import { paginate } from './paginate.ts';
import type { QueryParams } from './query.ts';
import { parseBlockDeviceMappings } from './block-devices.ts';
import type { BlockDeviceMappingInput as Ec2BlockDeviceMapping } from './ec2-model.ts';
import type { Ec2State } from './state.ts';
import { memberList, type XmlNode } from './xml.ts';

/**
 * One Auto Scaling action: parameters and state in; the `<{Action}Result>` body out, or `undefined` for the
 * actions whose response carries only `ResponseMetadata`.
 */
export type AutoScalingAction = (params: QueryParams, state: Ec2State) => XmlNode | undefined;

// ---------------------------------------------------------------- parameter readers

function launchTemplateSpec(p: QueryParams, name = 'LaunchTemplate'): { id?: string | undefined; name?: string | undefined; version?: string | undefined } | undefined {
  const lt = p.sub(name);
  if (lt === undefined) return undefined;
  return { id: lt.str('LaunchTemplateId'), name: lt.str('LaunchTemplateName'), version: lt.str('Version') };
}

/** `LaunchTemplate`, or the one inside `MixedInstancesPolicy` (its overrides and distribution are ignored). */
function groupLaunchTemplate(p: QueryParams): ReturnType<typeof launchTemplateSpec> {
  return launchTemplateSpec(p) ?? (p.sub('MixedInstancesPolicy') === undefined ? undefined : launchTemplateSpec(p, 'MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification'));
}

function hookSpec(h: QueryParams): PutLifecycleHookInput {
  return {
    hookName: h.required('LifecycleHookName'),
    transition: h.str('LifecycleTransition'),
    heartbeatTimeoutS: h.int('HeartbeatTimeout'),
    defaultResult: h.str('DefaultResult'),
    notificationMetadata: h.str('NotificationMetadata'),
    notificationTargetArn: h.str('NotificationTargetARN'),
    roleArn: h.str('RoleARN'),
  };
}


function groupTags(p: QueryParams, groupName: string): GroupTag[] {
  return p.structs('Tags').map((t) => {
    const resourceId = t.str('ResourceId');
    if (resourceId !== undefined && resourceId !== groupName) throw validationError(`Tag ResourceId ${resourceId} does not match the group name ${groupName}`);
    return { key: t.required('Key'), value: t.str('Value') ?? '', propagateAtLaunch: t.bool('PropagateAtLaunch') ?? false };
  });
}

// ---------------------------------------------------------------- renderers

function renderTemplate(t: LaunchTemplateRef | undefined): XmlNode | undefined {
  return t === undefined ? undefined : { LaunchTemplateId: t.launchTemplateId, LaunchTemplateName: t.launchTemplateName, Version: t.version };
}

function renderGroupInstance(m: GroupInstance): XmlNode {
  return {
    InstanceId: m.instanceId,
    InstanceType: m.instanceType,
    AvailabilityZone: m.availabilityZone,
    LifecycleState: m.lifecycleState,
    HealthStatus: m.healthStatus,
    LaunchConfigurationName: m.launchConfigurationName,
    LaunchTemplate: renderTemplate(m.launchTemplate),
    ProtectedFromScaleIn: m.protectedFromScaleIn,
  };
}

function renderGroup(g: AutoScalingGroup, s: Ec2State): XmlNode {
  return {
    AutoScalingGroupName: g.name,
    AutoScalingGroupARN: g.arn,
    LaunchConfigurationName: g.launchConfigurationName,
    LaunchTemplate: renderTemplate(g.launchTemplate),
    MinSize: g.minSize,
    MaxSize: g.maxSize,
    DesiredCapacity: g.desiredCapacity,
    DefaultCooldown: g.defaultCooldownS,
    AvailabilityZones: memberList(g.availabilityZones),
    LoadBalancerNames: memberList([]),
    TargetGroupARNs: memberList([]),
    HealthCheckType: g.healthCheckType,
    HealthCheckGracePeriod: g.healthCheckGracePeriodS,
    Instances: memberList([...g.instances.values()].filter((m) => m.lifecycleState !== 'Terminated').map(renderGroupInstance)),
    CreatedTime: new Date(g.createdTimeMs),
    SuspendedProcesses: memberList([]),
    VPCZoneIdentifier: g.vpcZoneIdentifier,
    EnabledMetrics: memberList([]),
    Tags: memberList(
      g.tags.map((t) => ({ ResourceId: g.name, ResourceType: 'auto-scaling-group', Key: t.key, Value: t.value, PropagateAtLaunch: t.propagateAtLaunch })),
    ),
    TerminationPolicies: memberList(g.terminationPolicies),
    NewInstancesProtectedFromScaleIn: g.newInstancesProtectedFromScaleIn,
    ServiceLinkedRoleARN: `arn:aws:iam::${s.options.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    CapacityRebalance: false,
  };
}

function renderActivity(a: Activity, s: Ec2State): XmlNode {
  const g = s.autoscaling.groups.get(a.groupName);
  return {
    ActivityId: a.activityId,
    AutoScalingGroupName: a.groupName,
    AutoScalingGroupARN: g?.arn,
    Description: a.description,
    Cause: a.cause,
    StartTime: new Date(a.startTimeMs),
    EndTime: a.endTimeMs === undefined ? undefined : new Date(a.endTimeMs),
    StatusCode: a.statusCode,
    StatusMessage: a.statusMessage,
    Progress: a.progress,
    Details: a.details,
  };
}

function renderPolicy(p: ScalingPolicy): XmlNode {
  return {
    AutoScalingGroupName: p.groupName,
    PolicyName: p.policyName,
    PolicyARN: p.policyArn,
    PolicyType: p.policyType,
    AdjustmentType: p.adjustmentType,
    ScalingAdjustment: p.scalingAdjustment,
    MinAdjustmentMagnitude: p.minAdjustmentMagnitude,
    Cooldown: p.cooldownS,
    StepAdjustments: memberList(
      p.stepAdjustments.map((st) => ({
        MetricIntervalLowerBound: st.lowerBound,
        MetricIntervalUpperBound: st.upperBound,
        ScalingAdjustment: st.scalingAdjustment,
      })),
    ),
    MetricAggregationType: p.metricAggregationType,
    EstimatedInstanceWarmup: p.estimatedInstanceWarmupS,
    Alarms: memberList(p.alarms.map(renderAlarm)),
    TargetTrackingConfiguration:
      p.targetTracking === undefined
        ? undefined
        : {
            PredefinedMetricSpecification:
              p.targetTracking.predefinedMetricType === undefined ? undefined : { PredefinedMetricType: p.targetTracking.predefinedMetricType },
            CustomizedMetricSpecification:
              p.targetTracking.customizedMetric === undefined
                ? undefined
                : {
                    MetricName: p.targetTracking.customizedMetric.metricName,
                    Namespace: p.targetTracking.customizedMetric.namespace,
                    Dimensions: memberList(p.targetTracking.customizedMetric.dimensions.map((d) => ({ Name: d.name, Value: d.value }))),
                    Statistic: p.targetTracking.customizedMetric.statistic,
                    Unit: p.targetTracking.customizedMetric.unit,
                  },
            TargetValue: p.targetTracking.targetValue,
            DisableScaleIn: p.targetTracking.disableScaleIn,
          },
    Enabled: p.enabled,
  };
}

function renderScheduled(a: ScheduledAction): XmlNode {
  const start = a.nextRunMs ?? a.startTimeMs;
  return {
    AutoScalingGroupName: a.groupName,
    ScheduledActionName: a.name,
    ScheduledActionARN: a.arn,
    Time: start === undefined ? undefined : new Date(start),
    StartTime: start === undefined ? undefined : new Date(start),
    EndTime: a.endTimeMs === undefined ? undefined : new Date(a.endTimeMs),
    Recurrence: a.recurrence,
    MinSize: a.minSize,
    MaxSize: a.maxSize,
    DesiredCapacity: a.desiredCapacity,
    TimeZone: a.timeZone,
  };
}

function renderHook(h: LifecycleHook): XmlNode {
  return {
    LifecycleHookName: h.name,
    AutoScalingGroupName: h.groupName,
    LifecycleTransition: h.transition,
    NotificationTargetARN: h.notificationTargetArn,
    RoleARN: h.roleArn,
    NotificationMetadata: h.notificationMetadata,
    HeartbeatTimeout: h.heartbeatTimeoutS,
    GlobalTimeout: h.globalTimeoutS,
    DefaultResult: h.defaultResult,
  };
}

function renderLaunchConfiguration(lc: LaunchConfiguration): XmlNode {
  return {
    LaunchConfigurationName: lc.name,
    LaunchConfigurationARN: lc.arn,
    ImageId: lc.imageId,
    KeyName: lc.keyName ?? '',
    SecurityGroups: memberList(lc.securityGroups),
    ClassicLinkVPCSecurityGroups: memberList([]),
    UserData: lc.userData ?? '',
    InstanceType: lc.instanceType,
    KernelId: '',
    RamdiskId: '',
    BlockDeviceMappings: memberList(
      // The model keeps what parseBlockDeviceMappings gave it, unread: EC2's shape.
      (lc.blockDeviceMappings as readonly Ec2BlockDeviceMapping[]).map((d) => ({
        DeviceName: d.deviceName,
        VirtualName: d.virtualName,
        NoDevice: d.noDevice,
        Ebs:
          d.snapshotId === undefined && d.volumeSize === undefined && d.volumeType === undefined && d.deleteOnTermination === undefined
            ? undefined
            : { SnapshotId: d.snapshotId, VolumeSize: d.volumeSize, VolumeType: d.volumeType, DeleteOnTermination: d.deleteOnTermination },
      })),
    ),
    InstanceMonitoring: { Enabled: true },
    CreatedTime: new Date(lc.createdTimeMs),
    EbsOptimized: false,
  };
}

// ---------------------------------------------------------------- actions

/** The Auto Scaling actions the twin implements, by `Action` name. */
const ACTIONS: Readonly<Record<string, AutoScalingAction>> = {
  CreateLaunchConfiguration(p, s) {
    s.autoscaling.createLaunchConfiguration({
      name: p.required('LaunchConfigurationName'),
      imageId: p.required('ImageId'),
      instanceType: p.required('InstanceType'),
      securityGroups: p.list('SecurityGroups'),
      keyName: p.str('KeyName'),
      userData: p.str('UserData'),
      blockDeviceMappings: parseBlockDeviceMappings(p, 'autoscaling'),
    });
    return undefined;
  },

  DescribeLaunchConfigurations(p, s) {
    const all = s.autoscaling.describeLaunchConfigurations(p.list('LaunchConfigurationNames'));
    const { page, nextToken } = paginate(all, p.int('MaxRecords', { min: 1, max: 100 }), p.str('NextToken'), 'InvalidNextToken');
    return { LaunchConfigurations: memberList(page.map(renderLaunchConfiguration)), NextToken: nextToken };
  },

  DeleteLaunchConfiguration(p, s) {
    s.autoscaling.deleteLaunchConfiguration(p.required('LaunchConfigurationName'));
    return undefined;
  },

  CreateAutoScalingGroup(p, s) {
    const name = p.required('AutoScalingGroupName');
    s.autoscaling.createAutoScalingGroup({
      name,
      minSize: p.requiredInt('MinSize', { min: 0 }),
      maxSize: p.requiredInt('MaxSize', { min: 0 }),
      desiredCapacity: p.int('DesiredCapacity', { min: 0 }),
      defaultCooldownS: p.int('DefaultCooldown', { min: 0 }),
      availabilityZones: p.list('AvailabilityZones'),
      vpcZoneIdentifier: p.str('VPCZoneIdentifier'),
      launchConfigurationName: p.str('LaunchConfigurationName'),
      launchTemplate: groupLaunchTemplate(p),
      healthCheckType: p.str('HealthCheckType'),
      healthCheckGracePeriodS: p.int('HealthCheckGracePeriod', { min: 0 }),
      terminationPolicies: p.has('TerminationPolicies') ? p.list('TerminationPolicies') : undefined,
      newInstancesProtectedFromScaleIn: p.bool('NewInstancesProtectedFromScaleIn'),
      tags: groupTags(p, name),
      lifecycleHooks: p.structs('LifecycleHookSpecificationList').map(hookSpec),
    });
    return undefined;
  },

  DescribeAutoScalingGroups(p, s) {
    const groups = s.autoscaling.describeAutoScalingGroups(p.list('AutoScalingGroupNames'), p.filters());
    const { page, nextToken } = paginate(groups, p.int('MaxRecords', { min: 1, max: 100 }), p.str('NextToken'), 'InvalidNextToken');
    return { AutoScalingGroups: memberList(page.map((g) => renderGroup(g, s))), NextToken: nextToken };
  },

  UpdateAutoScalingGroup(p, s) {
    s.autoscaling.updateAutoScalingGroup({
      name: p.required('AutoScalingGroupName'),
      minSize: p.int('MinSize', { min: 0 }),
      maxSize: p.int('MaxSize', { min: 0 }),
      desiredCapacity: p.int('DesiredCapacity', { min: 0 }),
      defaultCooldownS: p.int('DefaultCooldown', { min: 0 }),
      availabilityZones: p.has('AvailabilityZones') ? p.list('AvailabilityZones') : undefined,
      vpcZoneIdentifier: p.str('VPCZoneIdentifier'),
      launchConfigurationName: p.str('LaunchConfigurationName'),
      launchTemplate: groupLaunchTemplate(p),
      healthCheckType: p.str('HealthCheckType'),
      healthCheckGracePeriodS: p.int('HealthCheckGracePeriod', { min: 0 }),
      terminationPolicies: p.has('TerminationPolicies') ? p.list('TerminationPolicies') : undefined,
      newInstancesProtectedFromScaleIn: p.bool('NewInstancesProtectedFromScaleIn'),
    });
    return undefined;
  },

  DeleteAutoScalingGroup(p, s) {
    s.autoscaling.deleteAutoScalingGroup(p.required('AutoScalingGroupName'), p.bool('ForceDelete') ?? false);
    return undefined;
  },

  SetDesiredCapacity(p, s) {
    s.autoscaling.setDesiredCapacity(p.required('AutoScalingGroupName'), p.requiredInt('DesiredCapacity', { min: 0 }), p.bool('HonorCooldown') ?? false);
    return undefined;
  },

  TerminateInstanceInAutoScalingGroup(p, s) {
    const decrement = p.bool('ShouldDecrementDesiredCapacity');
    if (decrement === undefined) throw p.missing('ShouldDecrementDesiredCapacity');
    const activity = s.autoscaling.terminateInstanceInAutoScalingGroup(p.required('InstanceId'), decrement);
    return { Activity: renderActivity(activity, s) };
  },

  DescribeAutoScalingInstances(p, s) {
    const rows = s.autoscaling.describeAutoScalingInstances(p.list('InstanceIds'));
    const { page, nextToken } = paginate(rows, p.int('MaxRecords', { min: 1, max: 50 }), p.str('NextToken'), 'InvalidNextToken');
    return {
      AutoScalingInstances: memberList(
        page.map(({ group, instance }) => ({
          InstanceId: instance.instanceId,
          InstanceType: instance.instanceType,
          AutoScalingGroupName: group.name,
          AvailabilityZone: instance.availabilityZone,
          LifecycleState: instance.lifecycleState,
          // This call, unlike DescribeAutoScalingGroups, reports health in capitals.
          HealthStatus: instance.healthStatus.toUpperCase(),
          LaunchConfigurationName: instance.launchConfigurationName,
          LaunchTemplate: renderTemplate(instance.launchTemplate),
          ProtectedFromScaleIn: instance.protectedFromScaleIn,
        })),
      ),
      NextToken: nextToken,
    };
  },

  DescribeScalingActivities(p, s) {
    const all = s.autoscaling.describeScalingActivities(p.str('AutoScalingGroupName'), p.list('ActivityIds'));
    const { page, nextToken } = paginate(all, p.int('MaxRecords', { min: 1, max: 100 }) ?? 100, p.str('NextToken'), 'InvalidNextToken');
    return { Activities: memberList(page.map((a) => renderActivity(a, s))), NextToken: nextToken };
  },

  PutScalingPolicy(p, s) {
    const tt = p.sub('TargetTrackingConfiguration');
    const custom = tt?.sub('CustomizedMetricSpecification');
    if (custom?.sub('Metrics') !== undefined) {
      throw validationError('CustomizedMetricSpecification.Metrics (metric math) is not supported by the twin: give MetricName, Namespace, Dimensions and Statistic.');
    }
    const steps: StepAdjustment[] = p.structs('StepAdjustments').map((st) => ({
      lowerBound: st.num('MetricIntervalLowerBound'),
      upperBound: st.num('MetricIntervalUpperBound'),
      scalingAdjustment: st.requiredInt('ScalingAdjustment'),
    }));
    const policy = s.autoscaling.putScalingPolicy({
      groupName: p.required('AutoScalingGroupName'),
      policyName: p.required('PolicyName'),
      policyType: p.str('PolicyType'),
      adjustmentType: p.str('AdjustmentType'),
      scalingAdjustment: p.int('ScalingAdjustment'),
      minAdjustmentMagnitude: p.int('MinAdjustmentMagnitude', { min: 1 }),
      cooldownS: p.int('Cooldown', { min: 0 }),
      stepAdjustments: steps,
      metricAggregationType: p.str('MetricAggregationType'),
      estimatedInstanceWarmupS: p.int('EstimatedInstanceWarmup', { min: 0 }),
      targetTracking:
        tt === undefined
          ? undefined
          : {
              predefinedMetricType: tt.str('PredefinedMetricSpecification.PredefinedMetricType'),
              customizedMetric:
                custom === undefined
                  ? undefined
                  : {
                      metricName: custom.required('MetricName'),
                      namespace: custom.required('Namespace'),
                      dimensions: custom.structs('Dimensions').map((d) => ({ name: d.required('Name'), value: d.required('Value') })),
                      statistic: custom.required('Statistic') as CustomizedMetric['statistic'],
                      unit: custom.str('Unit'),
                    },
              targetValue: tt.num('TargetValue'),
              disableScaleIn: tt.bool('DisableScaleIn') ?? false,
            },
      enabled: p.bool('Enabled'),
    });
    return { PolicyARN: policy.policyArn, Alarms: memberList(policy.alarms.map(renderAlarm)) };
  },

  DescribePolicies(p, s) {
    const all = s.autoscaling.describePolicies({ groupName: p.str('AutoScalingGroupName'), policyNames: p.list('PolicyNames'), policyTypes: p.list('PolicyTypes') });
    const { page, nextToken } = paginate(all, p.int('MaxRecords', { min: 1, max: 100 }), p.str('NextToken'), 'InvalidNextToken');
    return { ScalingPolicies: memberList(page.map(renderPolicy)), NextToken: nextToken };
  },

  DeletePolicy(p, s) {
    s.autoscaling.deletePolicy(p.str('AutoScalingGroupName'), p.required('PolicyName'));
    return undefined;
  },

  ExecutePolicy(p, s) {
    s.autoscaling.executePolicy({
      groupName: p.str('AutoScalingGroupName'),
      policyName: p.required('PolicyName'),
      honorCooldown: p.bool('HonorCooldown') ?? false,
      metricValue: p.num('MetricValue'),
      breachThreshold: p.num('BreachThreshold'),
    });
    return undefined;
  },

  PutScheduledUpdateGroupAction(p, s) {
    s.autoscaling.putScheduledUpdateGroupAction({
      groupName: p.required('AutoScalingGroupName'),
      name: p.required('ScheduledActionName'),
      timeMs: p.time('Time'),
      startTimeMs: p.time('StartTime'),
      endTimeMs: p.time('EndTime'),
      recurrence: p.str('Recurrence'),
      minSize: p.int('MinSize', { min: 0 }),
      maxSize: p.int('MaxSize', { min: 0 }),
      desiredCapacity: p.int('DesiredCapacity', { min: 0 }),
      timeZone: p.str('TimeZone'),
    });
    return undefined;
  },

  DescribeScheduledActions(p, s) {
    const all = s.autoscaling.describeScheduledActions(p.str('AutoScalingGroupName'), p.list('ScheduledActionNames'));
    const { page, nextToken } = paginate(all, p.int('MaxRecords', { min: 1, max: 100 }), p.str('NextToken'), 'InvalidNextToken');
    return { ScheduledUpdateGroupActions: memberList(page.map(renderScheduled)), NextToken: nextToken };
  },

  DeleteScheduledAction(p, s) {
    s.autoscaling.deleteScheduledAction(p.required('AutoScalingGroupName'), p.required('ScheduledActionName'));
    return undefined;
  },

  PutLifecycleHook(p, s) {
    s.autoscaling.putLifecycleHook({ ...hookSpec(p), groupName: p.required('AutoScalingGroupName') });
    return {};
  },

  DescribeLifecycleHooks(p, s) {
    const hooks = s.autoscaling.describeLifecycleHooks(p.required('AutoScalingGroupName'), p.list('LifecycleHookNames'));
    return { LifecycleHooks: memberList(hooks.map(renderHook)) };
  },

  DeleteLifecycleHook(p, s) {
    s.autoscaling.deleteLifecycleHook(p.required('AutoScalingGroupName'), p.required('LifecycleHookName'));
    return {};
  },

  CompleteLifecycleAction(p, s) {
    s.autoscaling.completeLifecycleAction({
      groupName: p.required('AutoScalingGroupName'),
      hookName: p.required('LifecycleHookName'),
      result: p.required('LifecycleActionResult'),
      instanceId: p.str('InstanceId'),
      token: p.str('LifecycleActionToken'),
    });
    return {};
  },

  RecordLifecycleActionHeartbeat(p, s) {
    s.autoscaling.recordLifecycleActionHeartbeat({
      groupName: p.required('AutoScalingGroupName'),
      hookName: p.required('LifecycleHookName'),
      instanceId: p.str('InstanceId'),
      token: p.str('LifecycleActionToken'),
    });
    return {};
  },
};

/** The action table, each action answering the model's refusals as Query API errors. */
export const AUTOSCALING_ACTIONS: Readonly<Record<string, AutoScalingAction>> = Object.fromEntries(
  Object.entries(ACTIONS).map(([name, action]) => [
    name,
    (p: QueryParams, s: Ec2State) => {
      try {
        return action(p, s);
      } catch (e) {
        throw toAwsError(e);
      }
    },
  ]),
);

function renderAlarm(a: { alarmName: string; alarmArn: string }): XmlNode {
  return { AlarmName: a.alarmName, AlarmARN: a.alarmArn };
}
