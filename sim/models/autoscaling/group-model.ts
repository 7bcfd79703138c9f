/**
 * The Auto Scaling model, pure: launch configurations, groups that keep `desiredCapacity` instances through an
 * EC2 port, launch and terminate lifecycle hooks, step/simple/target-tracking policies, scheduled actions (one-off
 * and cron, UTC) and the activity history, with the errors AWS gives for refused calls (`AutoScalingError`: a
 * code and a message). Time, callbacks and ids come from an injected context; instances from an injected EC2 port.
 * The twin's Auto Scaling Query endpoint (`harness/ec2/autoscaling-*.ts`) parses, renders XML and maps errors;
 * every decision is made here.
 */
import { parseCron, nextCronTime, CronError, type CronSchedule } from './cron.ts';
import { isoSeconds } from './calendar.ts';

/** A call the model refuses, as AWS Auto Scaling names it (`ValidationError`, `AlreadyExists`, ...). */
export class AutoScalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

function validationError(message: string): AutoScalingError {
  return new AutoScalingError('ValidationError', message);
}

/** The EBS volumes a launch configuration attaches: EC2's shape, which the model stores and passes to the port unread. */
export type BlockDeviceMappingInput = object;

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** A `tag:<key>`, `tag-key` or `tag-value` filter of DescribeAutoScalingGroups. */
export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** What the model needs from the runtime: model time, deferred callbacks, seeded ids, observers. */
export interface AutoScalingContext {
  readonly accountId: string;
  readonly region: string;
  readonly ids: { uuid(label?: string): string };
  /** Epoch ms, as of the last sync. */
  now(): number;
  /** Fires every callback due by now, in time order. */
  sync(): void;
  /** Calls `fn` `delayMs` (model time) from now; returns a cancel function. */
  after(delayMs: number, fn: () => void): () => void;
  emit(kind: 'asg-lifecycle' | 'asg-capacity', resourceId: string, detail: string): void;
}

/** The EC2 the groups launch into: a runtime adapter (the twin's EC2 model, or the simulation's Nomad fleet). */
export interface Ec2Port {
  readonly subnet: { readonly subnetId: string; readonly availabilityZone: string };
  readonly availabilityZones: readonly string[];
  hasImage(imageId: string): boolean;
  findLaunchTemplate(ref: { id?: string | undefined; name?: string | undefined }): { launchTemplateId: string; launchTemplateName: string } | undefined;
  launchTemplate(id: string): { imageId?: string | undefined; instanceType?: string | undefined; securityGroupIds?: readonly string[] | undefined; keyName?: string | undefined } | undefined;
  /** Launches one instance; throws AutoScalingError when EC2 refuses. */
  runInstance(input: {
    imageId: string;
    instanceType: string | undefined;
    availabilityZone: string;
    securityGroupIds: readonly string[];
    keyName: string | undefined;
    blockDeviceMappings: readonly BlockDeviceMappingInput[];
    tags: ReadonlyArray<readonly [string, string]>;
    systemTags: ReadonlyArray<readonly [string, string]>;
  }): { instanceId: string; instanceType: string };
  instanceState(instanceId: string): InstanceStateName | undefined;
  terminateInstances(instanceIds: readonly string[]): void;
  onInstanceState(listener: (instanceId: string, state: InstanceStateName) => void): void;
}

/** How long Auto Scaling's own reactions take, in model milliseconds. */
export interface AutoScalingTimings {
  /** From an instance stopping (outside the group's control) to the group replacing it. */
  readonly healthCheckDelayMs: number;
  /** First retry of a launch that failed (doubles up to 15 minutes). */
  readonly launchRetryMs: number;
}

export const DEFAULT_AUTOSCALING_TIMINGS: AutoScalingTimings = {
  healthCheckDelayMs: 10_000,
  launchRetryMs: 30_000,
};

export type LifecycleState =
  | 'Pending'
  | 'Pending:Wait'
  | 'Pending:Proceed'
  | 'InService'
  | 'Terminating'
  | 'Terminating:Wait'
  | 'Terminating:Proceed'
  | 'Terminated';

export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
export type LifecycleTransition = typeof LAUNCHING | typeof TERMINATING;
export type LifecycleResult = 'CONTINUE' | 'ABANDON';

export interface LaunchConfiguration {
  readonly name: string;
  readonly arn: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly securityGroups: readonly string[];
  readonly keyName: string | undefined;
  readonly userData: string | undefined;
  readonly blockDeviceMappings: readonly BlockDeviceMappingInput[];
  readonly createdTimeMs: number;
}

export interface LaunchTemplateRef {
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  readonly version: string;
}

/** A lifecycle action an instance is waiting on: completed by a call, or by its hook's default on timeout. */
export interface PendingLifecycleAction {
  readonly hookName: string;
  readonly token: string;
  readonly transition: LifecycleTransition;
  heartbeatDeadlineMs: number;
  readonly globalDeadlineMs: number;
  cancel: () => void;
}

export interface GroupInstance {
  readonly instanceId: string;
  readonly availabilityZone: string;
  readonly instanceType: string;
  readonly launchConfigurationName: string | undefined;
  readonly launchTemplate: LaunchTemplateRef | undefined;
  readonly launchedAtMs: number;
  /** When it last entered InService (its warm-up for target tracking starts there). */
  inServiceAtMs?: number | undefined;
  lifecycleState: LifecycleState;
  healthStatus: 'Healthy' | 'Unhealthy';
  protectedFromScaleIn: boolean;
  readonly waits: Map<string, PendingLifecycleAction>;
  abandoned: boolean;
  activityId: string | undefined;
}

export interface LifecycleHook {
  readonly name: string;
  readonly groupName: string;
  readonly transition: LifecycleTransition;
  readonly heartbeatTimeoutS: number;
  readonly globalTimeoutS: number;
  readonly defaultResult: LifecycleResult;
  readonly notificationMetadata: string | undefined;
  readonly notificationTargetArn: string | undefined;
  readonly roleArn: string | undefined;
}

export interface StepAdjustment {
  readonly lowerBound: number | undefined;
  readonly upperBound: number | undefined;
  readonly scalingAdjustment: number;
}

export type AdjustmentType = 'ChangeInCapacity' | 'ExactCapacity' | 'PercentChangeInCapacity';

export interface ScalingPolicy {
  readonly policyName: string;
  readonly policyArn: string;
  readonly groupName: string;
  readonly policyType: 'SimpleScaling' | 'StepScaling' | 'TargetTrackingScaling';
  readonly adjustmentType: AdjustmentType | undefined;
  readonly scalingAdjustment: number | undefined;
  readonly minAdjustmentMagnitude: number | undefined;
  readonly cooldownS: number | undefined;
  readonly stepAdjustments: readonly StepAdjustment[];
  readonly metricAggregationType: string | undefined;
  readonly estimatedInstanceWarmupS: number | undefined;
  readonly targetTracking: TargetTrackingConfiguration | undefined;
  /** A target-tracking policy's two CloudWatch alarms, as AWS names them (scale-out high, scale-in low). */
  readonly alarms: readonly { readonly alarmName: string; readonly alarmArn: string }[];
  readonly enabled: boolean;
}

/** The predefined metrics of target tracking (AWS's enum; the ALB one needs a load balancer the twin has not). */
export const PREDEFINED_METRICS = {
  ASGAverageCPUUtilization: { namespace: 'AWS/EC2', metricName: 'CPUUtilization' },
  ASGAverageNetworkIn: { namespace: 'AWS/EC2', metricName: 'NetworkIn' },
  ASGAverageNetworkOut: { namespace: 'AWS/EC2', metricName: 'NetworkOut' },
} as const;

/** A metric of CloudWatch that a target-tracking policy follows (`CustomizedMetricSpecification`). */
export interface CustomizedMetric {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly { readonly name: string; readonly value: string }[];
  readonly statistic: 'Average' | 'Minimum' | 'Maximum' | 'SampleCount' | 'Sum';
  readonly unit: string | undefined;
}

export interface TargetTrackingConfiguration {
  readonly predefinedMetricType: string | undefined;
  readonly customizedMetric: CustomizedMetric | undefined;
  readonly targetValue: number;
  readonly disableScaleIn: boolean;
}

export interface ScheduledAction {
  readonly name: string;
  readonly arn: string;
  readonly groupName: string;
  readonly startTimeMs: number | undefined;
  readonly endTimeMs: number | undefined;
  readonly recurrence: string | undefined;
  readonly minSize: number | undefined;
  readonly maxSize: number | undefined;
  readonly desiredCapacity: number | undefined;
  readonly timeZone: string | undefined;
  nextRunMs: number | undefined;
  cancel: () => void;
}

export interface Activity {
  readonly activityId: string;
  readonly groupName: string;
  readonly description: string;
  readonly cause: string;
  readonly startTimeMs: number;
  endTimeMs: number | undefined;
  statusCode: 'InProgress' | 'Successful' | 'Failed' | 'MidLifecycleAction' | 'Cancelled';
  statusMessage: string | undefined;
  progress: number;
  readonly details: string;
}

export interface GroupTag {
  readonly key: string;
  readonly value: string;
  readonly propagateAtLaunch: boolean;
}

export interface AutoScalingGroup {
  readonly name: string;
  readonly arn: string;
  readonly createdTimeMs: number;
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  defaultCooldownS: number;
  availabilityZones: string[];
  vpcZoneIdentifier: string | undefined;
  launchConfigurationName: string | undefined;
  launchTemplate: LaunchTemplateRef | undefined;
  healthCheckType: string;
  healthCheckGracePeriodS: number;
  terminationPolicies: string[];
  newInstancesProtectedFromScaleIn: boolean;
  readonly tags: GroupTag[];
  readonly instances: Map<string, GroupInstance>;
  readonly hooks: Map<string, LifecycleHook>;
  readonly policies: Map<string, ScalingPolicy>;
  readonly scheduledActions: Map<string, ScheduledAction>;
  lastScalingMs: number | undefined;
  launchRetryMs: number;
  cancelLaunchRetry: (() => void) | undefined;
}

export interface CreateGroupInput {
  readonly name: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity?: number | undefined;
  readonly defaultCooldownS?: number | undefined;
  readonly availabilityZones?: readonly string[] | undefined;
  readonly vpcZoneIdentifier?: string | undefined;
  readonly launchConfigurationName?: string | undefined;
  readonly launchTemplate?: { id?: string | undefined; name?: string | undefined; version?: string | undefined } | undefined;
  readonly healthCheckType?: string | undefined;
  readonly healthCheckGracePeriodS?: number | undefined;
  readonly terminationPolicies?: readonly string[] | undefined;
  readonly newInstancesProtectedFromScaleIn?: boolean | undefined;
  readonly tags?: readonly GroupTag[] | undefined;
  readonly lifecycleHooks?: readonly PutLifecycleHookInput[] | undefined;
}

/** UpdateAutoScalingGroup: the group's name and any of CreateAutoScalingGroup's settings except tags and hooks. */
export type UpdateGroupInput = Partial<Omit<CreateGroupInput, 'name' | 'tags' | 'lifecycleHooks'>> & { readonly name: string };

export interface PutLifecycleHookInput {
  readonly hookName: string;
  readonly groupName?: string | undefined;
  /** Required when the hook is new. */
  readonly transition: string | undefined;
  readonly heartbeatTimeoutS?: number | undefined;
  readonly defaultResult?: string | undefined;
  readonly notificationMetadata?: string | undefined;
  readonly notificationTargetArn?: string | undefined;
  readonly roleArn?: string | undefined;
}

export interface PutScalingPolicyInput {
  readonly groupName: string;
  readonly policyName: string;
  readonly policyType?: string | undefined;
  readonly adjustmentType?: string | undefined;
  readonly scalingAdjustment?: number | undefined;
  readonly minAdjustmentMagnitude?: number | undefined;
  readonly cooldownS?: number | undefined;
  readonly stepAdjustments?: readonly StepAdjustment[] | undefined;
  readonly metricAggregationType?: string | undefined;
  readonly estimatedInstanceWarmupS?: number | undefined;
  readonly targetTracking?:
    | { predefinedMetricType: string | undefined; customizedMetric?: CustomizedMetric | undefined; targetValue: number | undefined; disableScaleIn: boolean }
    | undefined;
  readonly enabled?: boolean | undefined;
}

export interface PutScheduledActionInput {
  readonly groupName: string;
  readonly name: string;
  readonly timeMs?: number | undefined;
  readonly startTimeMs?: number | undefined;
  readonly endTimeMs?: number | undefined;
  readonly recurrence?: string | undefined;
  readonly minSize?: number | undefined;
  readonly maxSize?: number | undefined;
  readonly desiredCapacity?: number | undefined;
  readonly timeZone?: string | undefined;
}

const ACTIVE_STATES: ReadonlySet<LifecycleState> = new Set(['Pending', 'Pending:Wait', 'Pending:Proceed', 'InService']);
const TERMINATING_STATES: ReadonlySet<LifecycleState> = new Set(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Terminated']);
const TERMINATION_POLICIES = new Set([
  'Default',
  'OldestInstance',
  'NewestInstance',
  'OldestLaunchConfiguration',
  'OldestLaunchTemplate',
  'ClosestToNextInstanceHour',
  'AllocationStrategy',
]);
const MAX_GROUPS = 500;
const MAX_HOOKS_PER_GROUP = 50;
const MAX_ACTIVITIES_PER_GROUP = 1000;
const MAX_LAUNCH_RETRY_MS = 15 * 60_000;
const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/UCT', 'UCT', 'Universal', 'Zulu']);


/**
 * The Auto Scaling model: groups that keep `desiredCapacity` instances alive through the EC2 model, launch
 * and terminate lifecycle hooks that hold instances in `Pending:Wait` / `Terminating:Wait`, step and simple
 * policies, scheduled actions (one-off and cron, UTC), and the activity history. Reactions to EC2 (an instance
 * stopped or terminated behind the group's back) happen at the same model instant, after the call that caused
 * them, as AWS's own reactions happen after the fact.
 */
export class AutoScalingModel {
  readonly groups = new Map<string, AutoScalingGroup>();
  readonly launchConfigurations = new Map<string, LaunchConfiguration>();
  /** Newest last, per group (also kept for deleted groups). */
  readonly activities = new Map<string, Activity[]>();
  /** Which group each instance belongs to. */
  private readonly memberOf = new Map<string, string>();

  constructor(
    private readonly ctx: AutoScalingContext,
    private readonly ec2: Ec2Port,
    readonly timings: AutoScalingTimings,
  ) {
    ec2.onInstanceState((instanceId, state) => this.onEc2StateChange(instanceId, state));
  }

  private arn(kind: string, path: string): string {
    return `arn:aws:autoscaling:${this.ctx.region}:${this.ctx.accountId}:${kind}:${this.ctx.ids.uuid('arn')}:${path}`;
  }

  // ---------------------------------------------------------------- launch configurations

  createLaunchConfiguration(input: {
    name: string;
    imageId: string;
    instanceType: string;
    securityGroups?: readonly string[] | undefined;
    keyName?: string | undefined;
    userData?: string | undefined;
    blockDeviceMappings?: readonly BlockDeviceMappingInput[] | undefined;
  }): LaunchConfiguration {
    this.ctx.sync();
    if (this.launchConfigurations.has(input.name)) {
      throw new AutoScalingError('AlreadyExists', `Launch Configuration by this name already exists - A launch configuration already exists with the name ${input.name}`);
    }
    if (!this.ec2.hasImage(input.imageId)) {
      throw validationError(`The image id '[${input.imageId}]' does not exist`);
    }
    const lc: LaunchConfiguration = {
      name: input.name,
      arn: this.arn('launchConfiguration', `launchConfigurationName/${input.name}`),
      imageId: input.imageId,
      instanceType: input.instanceType,
      securityGroups: [...(input.securityGroups ?? [])],
      keyName: input.keyName,
      userData: input.userData,
      blockDeviceMappings: [...(input.blockDeviceMappings ?? [])],
      createdTimeMs: this.ctx.now(),
    };
    this.launchConfigurations.set(lc.name, lc);
    return lc;
  }

  describeLaunchConfigurations(names: readonly string[]): LaunchConfiguration[] {
    this.ctx.sync();
    const all = [...this.launchConfigurations.values()];
    return names.length === 0 ? all : all.filter((lc) => names.includes(lc.name));
  }

  deleteLaunchConfiguration(name: string): void {
    this.ctx.sync();
    if (!this.launchConfigurations.has(name)) throw validationError(`Launch configuration name not found - Launch configuration ${name} not found`);
    for (const g of this.groups.values()) {
      if (g.launchConfigurationName === name) throw new AutoScalingError('ResourceInUse', `Cannot delete launch configuration ${name} because it is attached to AutoScalingGroup ${g.name}`);
    }
    this.launchConfigurations.delete(name);
  }

  // ---------------------------------------------------------------- groups

  createAutoScalingGroup(input: CreateGroupInput): AutoScalingGroup {
    this.ctx.sync();
    if (this.groups.has(input.name)) {
      throw new AutoScalingError('AlreadyExists', `AutoScalingGroup by this name already exists - A group with the name ${input.name} already exists`);
    }
    if (this.groups.size >= MAX_GROUPS) throw new AutoScalingError('LimitExceeded', `You have reached your limit of ${MAX_GROUPS} groups`);
    const desired = input.desiredCapacity ?? input.minSize;
    checkBounds(input.minSize, input.maxSize, desired);
    const { launchConfigurationName, launchTemplate } = this.resolveLaunchSpec(input.launchConfigurationName, input.launchTemplate);
    if (launchConfigurationName === undefined && launchTemplate === undefined) {
      throw validationError('Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.');
    }
    const zones = this.resolveZones(input.availabilityZones, input.vpcZoneIdentifier);
    if (zones.length === 0) throw validationError('At least one Availability Zone or VPC Subnet is required.');
    const policies = this.checkTerminationPolicies(input.terminationPolicies ?? ['Default']);
    for (const t of input.tags ?? []) checkGroupTag(t);
    const hooks = (input.lifecycleHooks ?? []).map((h) => this.makeHook(input.name, h));
    const group: AutoScalingGroup = {
      name: input.name,
      arn: this.arn('autoScalingGroup', `autoScalingGroupName/${input.name}`),
      createdTimeMs: this.ctx.now(),
      minSize: input.minSize,
      maxSize: input.maxSize,
      desiredCapacity: desired,
      defaultCooldownS: input.defaultCooldownS ?? 300,
      availabilityZones: zones,
      vpcZoneIdentifier: input.vpcZoneIdentifier,
      launchConfigurationName,
      launchTemplate,
      healthCheckType: input.healthCheckType ?? 'EC2',
      healthCheckGracePeriodS: input.healthCheckGracePeriodS ?? 0,
      terminationPolicies: policies,
      newInstancesProtectedFromScaleIn: input.newInstancesProtectedFromScaleIn ?? false,
      tags: [...(input.tags ?? [])],
      instances: new Map(),
      hooks: new Map(hooks.map((h) => [h.name, h])),
      policies: new Map(),
      scheduledActions: new Map(),
      lastScalingMs: undefined,
      launchRetryMs: this.timings.launchRetryMs,
      cancelLaunchRetry: undefined,
    };
    this.groups.set(group.name, group);
    this.activities.set(group.name, this.activities.get(group.name) ?? []);
    this.reconcile(group, `At ${isoSeconds(this.ctx.now())} a user request created an AutoScalingGroup changing the desired capacity from 0 to ${desired}.`);
    return group;
  }

  describeAutoScalingGroups(names: readonly string[], filters: readonly Filter[]): AutoScalingGroup[] {
    this.ctx.sync();
    let groups = [...this.groups.values()];
    if (names.length > 0) groups = groups.filter((g) => names.includes(g.name));
    for (const f of filters) {
      if (f.name.startsWith('tag:')) {
        const key = f.name.slice(4);
        groups = groups.filter((g) => g.tags.some((t) => t.key === key && f.values.includes(t.value)));
      } else if (f.name === 'tag-key') {
        groups = groups.filter((g) => g.tags.some((t) => f.values.includes(t.key)));
      } else if (f.name === 'tag-value') {
        groups = groups.filter((g) => g.tags.some((t) => f.values.includes(t.value)));
      } else {
        throw validationError(`Filter name '${f.name}' is invalid. Valid filter names: tag-key, tag-value, tag:<key>`);
      }
    }
    return groups;
  }

  updateAutoScalingGroup(input: UpdateGroupInput): void {
    this.ctx.sync();
    const g = this.requireGroup(input.name);
    const min = input.minSize ?? g.minSize;
    const max = input.maxSize ?? g.maxSize;
    if (max < min) throw validationError(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
    // AWS moves the desired capacity into new bounds when it is not given.
    const desired = input.desiredCapacity ?? Math.min(max, Math.max(min, g.desiredCapacity));
    checkBounds(min, max, desired);
    let spec: { launchConfigurationName: string | undefined; launchTemplate: LaunchTemplateRef | undefined } | undefined;
    if (input.launchConfigurationName !== undefined || input.launchTemplate !== undefined) {
      spec = this.resolveLaunchSpec(input.launchConfigurationName, input.launchTemplate);
    }
    const zones =
      input.availabilityZones !== undefined || input.vpcZoneIdentifier !== undefined ? this.resolveZones(input.availabilityZones, input.vpcZoneIdentifier) : undefined;
    const policies = input.terminationPolicies === undefined ? undefined : this.checkTerminationPolicies(input.terminationPolicies);
    const before = g.desiredCapacity;
    g.minSize = min;
    g.maxSize = max;
    g.desiredCapacity = desired;
    if (input.defaultCooldownS !== undefined) g.defaultCooldownS = input.defaultCooldownS;
    if (spec !== undefined) {
      g.launchConfigurationName = spec.launchConfigurationName;
      g.launchTemplate = spec.launchTemplate;
    }
    if (zones !== undefined && zones.length > 0) {
      g.availabilityZones = zones;
      if (input.vpcZoneIdentifier !== undefined) g.vpcZoneIdentifier = input.vpcZoneIdentifier;
    }
    if (input.healthCheckType !== undefined) g.healthCheckType = input.healthCheckType;
    if (input.healthCheckGracePeriodS !== undefined) g.healthCheckGracePeriodS = input.healthCheckGracePeriodS;
    if (policies !== undefined) g.terminationPolicies = policies;
    if (input.newInstancesProtectedFromScaleIn !== undefined) g.newInstancesProtectedFromScaleIn = input.newInstancesProtectedFromScaleIn;
    this.reconcile(
      g,
      `At ${isoSeconds(this.ctx.now())} a user request update of AutoScalingGroup constraints to min: ${min}, max: ${max}, desired: ${desired} changing the desired capacity from ${before} to ${desired}.`,
    );
  }

  deleteAutoScalingGroup(name: string, forceDelete: boolean): void {
    this.ctx.sync();
    const g = this.requireGroup(name);
    const live = [...g.instances.values()].filter((m) => m.lifecycleState !== 'Terminated');
    if (live.length > 0 && !forceDelete) {
      throw new AutoScalingError('ResourceInUse', 'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.');
    }
    for (const m of live) {
      for (const w of m.waits.values()) w.cancel();
      m.waits.clear();
    }
    for (const a of g.scheduledActions.values()) a.cancel();
    g.cancelLaunchRetry?.();
    this.groups.delete(name);
    const ids = live.map((m) => m.instanceId);
    for (const id of ids) this.memberOf.delete(id);
    const toTerminate = ids.filter((id) => {
      const s = this.ec2.instanceState(id);
      return s !== undefined && s !== 'terminated' && s !== 'shutting-down';
    });
    if (toTerminate.length > 0) this.ec2.terminateInstances(toTerminate);
  }

  setDesiredCapacity(name: string, desired: number, honorCooldown: boolean): void {
    this.ctx.sync();
    const g = this.requireGroup(name);
    if (desired > g.maxSize) throw validationError(`New SetDesiredCapacity value ${desired} is above max value ${g.maxSize} for the AutoScalingGroup.`);
    if (desired < g.minSize) throw validationError(`New SetDesiredCapacity value ${desired} is below min value ${g.minSize} for the AutoScalingGroup.`);
    if (honorCooldown) this.checkCooldown(g, g.defaultCooldownS);
    const before = g.desiredCapacity;
    g.desiredCapacity = desired;
    this.reconcile(g, `At ${isoSeconds(this.ctx.now())} a user request explicitly set group desired capacity changing the desired capacity from ${before} to ${desired}.`);
  }

  private checkCooldown(g: AutoScalingGroup, cooldownS: number): void {
    if (g.lastScalingMs !== undefined && this.ctx.now() < g.lastScalingMs + cooldownS * 1000) {
      throw new AutoScalingError('ScalingActivityInProgress', `The group ${g.name} is in its cooldown period; the scaling activity was not performed.`);
    }
  }

  terminateInstanceInAutoScalingGroup(instanceId: string, shouldDecrementDesiredCapacity: boolean): Activity {
    this.ctx.sync();
    const groupName = this.memberOf.get(instanceId);
    const g = groupName === undefined ? undefined : this.groups.get(groupName);
    const m = g?.instances.get(instanceId);
    if (g === undefined || m === undefined) throw validationError(`Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
    if (TERMINATING_STATES.has(m.lifecycleState)) {
      throw validationError(`The instance ${instanceId} is already in the process of being terminated (${m.lifecycleState}).`);
    }
    const before = g.desiredCapacity;
    if (shouldDecrementDesiredCapacity) {
      if (g.desiredCapacity - 1 < g.minSize) {
        throw validationError(
          `Currently, desiredSize equals minSize (${g.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
        );
      }
      g.desiredCapacity--;
    }
    const cause = shouldDecrementDesiredCapacity
      ? `At ${isoSeconds(this.ctx.now())} instance ${instanceId} was taken out of service in response to a user request, shrinking the capacity from ${before} to ${g.desiredCapacity}.`
      : `At ${isoSeconds(this.ctx.now())} instance ${instanceId} was taken out of service in response to a user request.`;
    const activity = this.beginTermination(g, m, cause);
    this.reconcile(g, `At ${isoSeconds(this.ctx.now())} an instance was terminated by a user request.`);
    return activity;
  }

  /**
   * AttachInstances: running instances join the group in service, and the desired capacity grows by their number
   * (AWS refuses what would exceed the maximum).
   */
  attachInstances(groupName: string, instanceIds: readonly string[]): void {
    this.ctx.sync();
    const g = this.requireGroup(groupName);
    if (g.desiredCapacity + instanceIds.length > g.maxSize) {
      throw validationError(`AutoScalingGroup: ${g.name} has max-size: ${g.maxSize}, current desired capacity ${g.desiredCapacity}: attaching ${instanceIds.length} instances would exceed it.`);
    }
    for (const id of instanceIds) {
      if (this.memberOf.has(id)) throw validationError(`The instance ${id} is already part of an Auto Scaling group.`);
      if (this.ec2.instanceState(id) !== 'running') throw validationError(`Instance ${id} is not in a running state.`);
    }
    const before = g.desiredCapacity;
    for (const id of instanceIds) {
      const activity = this.recordActivity(g, `Attaching an existing EC2 instance: ${id}`, `At ${isoSeconds(this.ctx.now())} an instance was added in response to a user request.`, '{}');
      g.instances.set(id, {
        instanceId: id,
        availabilityZone: g.availabilityZones[0]!,
        instanceType: '',
        launchConfigurationName: g.launchConfigurationName,
        launchTemplate: g.launchTemplate,
        launchedAtMs: this.ctx.now(),
        inServiceAtMs: this.ctx.now(),
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        protectedFromScaleIn: g.newInstancesProtectedFromScaleIn,
        waits: new Map(),
        abandoned: false,
        activityId: activity.activityId,
      });
      this.memberOf.set(id, g.name);
      this.finishActivity(g, g.instances.get(id)!, 'Successful');
    }
    g.desiredCapacity = before + instanceIds.length;
  }

  describeAutoScalingInstances(instanceIds: readonly string[]): { group: AutoScalingGroup; instance: GroupInstance }[] {
    this.ctx.sync();
    const out: { group: AutoScalingGroup; instance: GroupInstance }[] = [];
    for (const g of this.groups.values()) {
      for (const m of g.instances.values()) {
        if (instanceIds.length === 0 || instanceIds.includes(m.instanceId)) out.push({ group: g, instance: m });
      }
    }
    return out;
  }

  requireGroup(name: string): AutoScalingGroup {
    const g = this.groups.get(name);
    if (g === undefined) throw validationError(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
    return g;
  }

  private resolveLaunchSpec(
    launchConfigurationName: string | undefined,
    template: CreateGroupInput['launchTemplate'],
  ): { launchConfigurationName: string | undefined; launchTemplate: LaunchTemplateRef | undefined } {
    if (launchConfigurationName !== undefined && template !== undefined) {
      throw validationError('Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.');
    }
    if (launchConfigurationName !== undefined) {
      if (!this.launchConfigurations.has(launchConfigurationName)) {
        throw validationError(`Launch configuration name not found - Launch configuration ${launchConfigurationName} not found`);
      }
      return { launchConfigurationName, launchTemplate: undefined };
    }
    if (template !== undefined) {
      if ((template.id === undefined) === (template.name === undefined)) {
        throw validationError('Valid requests must contain either launchTemplateId or launchTemplateName, but not both.');
      }
      const lt = this.ec2.findLaunchTemplate(template);
      if (lt === undefined) {
        throw validationError(
          template.id !== undefined
            ? `You must use a valid fully-formed launch template. The specified launch template, with template ID ${template.id}, does not exist.`
            : `You must use a valid fully-formed launch template. The specified launch template, with template name ${template.name}, does not exist.`,
        );
      }
      const version = template.version ?? '$Default';
      if (!['$Default', '$Latest', '1'].includes(version)) {
        throw validationError(`You must use a valid fully-formed launch template. The specified launch template version ${version} does not exist.`);
      }
      return { launchConfigurationName: undefined, launchTemplate: { launchTemplateId: lt.launchTemplateId, launchTemplateName: lt.launchTemplateName, version } };
    }
    return { launchConfigurationName: undefined, launchTemplate: undefined };
  }

  private resolveZones(zones: readonly string[] | undefined, vpcZoneIdentifier: string | undefined): string[] {
    const out: string[] = [];
    if (vpcZoneIdentifier !== undefined && vpcZoneIdentifier !== '') {
      for (const subnetId of vpcZoneIdentifier.split(',').map((s) => s.trim())) {
        if (subnetId !== this.ec2.subnet.subnetId) throw validationError(`The subnet ID '${subnetId}' does not exist`);
        if (!out.includes(this.ec2.subnet.availabilityZone)) out.push(this.ec2.subnet.availabilityZone);
      }
      return out;
    }
    for (const z of zones ?? []) {
      if (!this.ec2.availabilityZones.includes(z)) throw validationError(`Invalid Availability Zone '${z}'`);
      if (!out.includes(z)) out.push(z);
    }
    return out;
  }

  private checkTerminationPolicies(policies: readonly string[]): string[] {
    for (const p of policies) if (!TERMINATION_POLICIES.has(p)) throw validationError(`Termination policy ${p} is not valid.`);
    return [...policies];
  }

  // ---------------------------------------------------------------- capacity

  private activeMembers(g: AutoScalingGroup): GroupInstance[] {
    return [...g.instances.values()].filter((m) => ACTIVE_STATES.has(m.lifecycleState));
  }

  /** Launches or terminates until the number of active instances equals the desired capacity. */
  private reconcile(g: AutoScalingGroup, reason: string): void {
    if (!this.groups.has(g.name)) return;
    const active = this.activeMembers(g);
    if (active.length < g.desiredCapacity) {
      const before = active.length;
      for (let n = before; n < g.desiredCapacity; n++) {
        const cause = `${reason}  At ${isoSeconds(this.ctx.now())} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${before} to ${g.desiredCapacity}.`;
        if (!this.launch(g, cause)) break;
      }
    } else if (active.length > g.desiredCapacity) {
      const before = active.length;
      const victims = this.pickForScaleIn(g, active, active.length - g.desiredCapacity);
      for (const m of victims) {
        this.beginTermination(
          g,
          m,
          `${reason}  At ${isoSeconds(this.ctx.now())} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${before} to ${g.desiredCapacity}.`,
        );
      }
    }
  }

  private launchParameters(g: AutoScalingGroup): { imageId: string | undefined; instanceType: string | undefined; securityGroupIds: readonly string[]; keyName: string | undefined; blockDeviceMappings: readonly BlockDeviceMappingInput[] } {
    if (g.launchConfigurationName !== undefined) {
      const lc = this.launchConfigurations.get(g.launchConfigurationName);
      if (lc === undefined) return { imageId: undefined, instanceType: undefined, securityGroupIds: [], keyName: undefined, blockDeviceMappings: [] };
      return { imageId: lc.imageId, instanceType: lc.instanceType, securityGroupIds: lc.securityGroups, keyName: lc.keyName, blockDeviceMappings: lc.blockDeviceMappings };
    }
    const lt = g.launchTemplate === undefined ? undefined : this.ec2.launchTemplate(g.launchTemplate.launchTemplateId);
    return { imageId: lt?.imageId, instanceType: lt?.instanceType, securityGroupIds: lt?.securityGroupIds ?? [], keyName: lt?.keyName, blockDeviceMappings: [] };
  }

  /** One instance, in the least-loaded zone; a failure is an activity and a retry with backoff, never a throw. */
  private launch(g: AutoScalingGroup, cause: string): boolean {
    const load = new Map(g.availabilityZones.map((z) => [z, 0]));
    for (const m of this.activeMembers(g)) load.set(m.availabilityZone, (load.get(m.availabilityZone) ?? 0) + 1);
    let zone = g.availabilityZones[0]!;
    for (const z of g.availabilityZones) if ((load.get(z) ?? 0) < (load.get(zone) ?? 0)) zone = z;
    const p = this.launchParameters(g);
    const details = JSON.stringify({ 'Subnet ID': this.ec2.subnet.subnetId, 'Availability Zone': zone });
    let instance: { instanceId: string; instanceType: string };
    try {
      if (p.imageId === undefined) throw validationError('The launch template has no ImageId.');
      instance = this.ec2.runInstance({
        imageId: p.imageId,
        instanceType: p.instanceType,
        availabilityZone: zone,
        securityGroupIds: p.securityGroupIds,
        keyName: p.keyName,
        blockDeviceMappings: p.blockDeviceMappings,
        tags: g.tags.filter((t) => t.propagateAtLaunch).map((t) => [t.key, t.value] as const),
        systemTags: [['aws:autoscaling:groupName', g.name]],
      });
    } catch (e) {
      if (!(e instanceof AutoScalingError)) throw e;
      const activity = this.recordActivity(g, 'Launching a new EC2 instance.  Status Reason: ' + e.message + ' Launching EC2 instance failed.', cause, details);
      activity.statusCode = 'Failed';
      activity.statusMessage = e.message;
      activity.endTimeMs = this.ctx.now();
      activity.progress = 100;
      this.scheduleLaunchRetry(g);
      return false;
    }
    g.launchRetryMs = this.timings.launchRetryMs;
    const activity = this.recordActivity(g, `Launching a new EC2 instance: ${instance.instanceId}`, cause, details);
    const member: GroupInstance = {
      instanceId: instance.instanceId,
      availabilityZone: zone,
      instanceType: instance.instanceType,
      launchConfigurationName: g.launchConfigurationName,
      launchTemplate: g.launchTemplate,
      launchedAtMs: this.ctx.now(),
      lifecycleState: 'Pending',
      healthStatus: 'Healthy',
      protectedFromScaleIn: g.newInstancesProtectedFromScaleIn,
      waits: new Map(),
      abandoned: false,
      activityId: activity.activityId,
    };
    g.instances.set(member.instanceId, member);
    this.memberOf.set(member.instanceId, g.name);
    g.lastScalingMs = this.ctx.now();
    this.ctx.emit('asg-capacity', g.name, `launched ${member.instanceId} in ${zone}`);
    return true;
  }

  private scheduleLaunchRetry(g: AutoScalingGroup): void {
    if (g.cancelLaunchRetry !== undefined) return;
    const delay = g.launchRetryMs;
    g.launchRetryMs = Math.min(MAX_LAUNCH_RETRY_MS, g.launchRetryMs * 2);
    g.cancelLaunchRetry = this.ctx.after(delay, () => {
      g.cancelLaunchRetry = undefined;
      this.reconcile(g, `At ${isoSeconds(this.ctx.now())} a retry of a failed launch was started.`);
    });
  }

  /**
   * The instances a scale-in takes, one at a time: first the zone with the most instances (balance), then the
   * group's termination policies in order, then the Default chain (oldest launch configuration or template,
   * closest to the next instance hour), then the lowest instance id where AWS would pick at random.
   */
  private pickForScaleIn(g: AutoScalingGroup, active: GroupInstance[], count: number): GroupInstance[] {
    const candidates = active.filter((m) => !m.protectedFromScaleIn);
    const picked: GroupInstance[] = [];
    const now = this.ctx.now();
    const usesOldSpec = (m: GroupInstance) =>
      g.launchConfigurationName !== undefined ? m.launchConfigurationName !== g.launchConfigurationName : m.launchTemplate?.launchTemplateId !== g.launchTemplate?.launchTemplateId;
    const toNextHour = (m: GroupInstance) => 3_600_000 - ((now - m.launchedAtMs) % 3_600_000);
    const comparators: Record<string, (a: GroupInstance, b: GroupInstance) => number> = {
      OldestInstance: (a, b) => a.launchedAtMs - b.launchedAtMs,
      NewestInstance: (a, b) => b.launchedAtMs - a.launchedAtMs,
      OldestLaunchConfiguration: (a, b) => Number(usesOldSpec(b)) - Number(usesOldSpec(a)),
      OldestLaunchTemplate: (a, b) => Number(usesOldSpec(b)) - Number(usesOldSpec(a)),
      ClosestToNextInstanceHour: (a, b) => toNextHour(a) - toNextHour(b),
      AllocationStrategy: () => 0,
    };
    const chain = [
      ...g.terminationPolicies.filter((p) => p !== 'Default'),
      'OldestLaunchConfiguration',
      'ClosestToNextInstanceHour',
    ];
    while (picked.length < count) {
      const left = candidates.filter((m) => !picked.includes(m));
      if (left.length === 0) break;
      const perZone = new Map<string, number>();
      for (const m of active) if (!picked.includes(m)) perZone.set(m.availabilityZone, (perZone.get(m.availabilityZone) ?? 0) + 1);
      const busiest = Math.max(...left.map((m) => perZone.get(m.availabilityZone) ?? 0));
      const inZone = left.filter((m) => (perZone.get(m.availabilityZone) ?? 0) === busiest);
      inZone.sort((a, b) => {
        for (const p of chain) {
          const c = comparators[p]?.(a, b) ?? 0;
          if (c !== 0) return c;
        }
        return a.instanceId < b.instanceId ? -1 : 1;
      });
      picked.push(inZone[0]!);
    }
    return picked;
  }

  // ---------------------------------------------------------------- lifecycle

  private beginTermination(g: AutoScalingGroup, m: GroupInstance, cause: string): Activity {
    for (const w of m.waits.values()) w.cancel();
    m.waits.clear();
    const activity = this.recordActivity(g, `Terminating EC2 instance: ${m.instanceId}`, cause, JSON.stringify({ 'Subnet ID': this.ec2.subnet.subnetId, 'Availability Zone': m.availabilityZone }));
    m.activityId = activity.activityId;
    g.lastScalingMs = this.ctx.now();
    const hooks = [...g.hooks.values()].filter((h) => h.transition === TERMINATING);
    if (hooks.length > 0) {
      m.lifecycleState = 'Terminating:Wait';
      activity.statusCode = 'MidLifecycleAction';
      for (const h of hooks) this.wait(g, m, h);
      this.ctx.emit('asg-lifecycle', m.instanceId, `Terminating:Wait on ${hooks.map((h) => h.name).join(', ')}`);
    } else {
      m.lifecycleState = 'Terminating';
      this.terminateEc2(m.instanceId);
    }
    return activity;
  }

  private terminateEc2(instanceId: string): void {
    const state = this.ec2.instanceState(instanceId);
    if (state === undefined || state === 'terminated' || state === 'shutting-down') return;
    this.ec2.terminateInstances([instanceId]);
  }

  private enterService(g: AutoScalingGroup, m: GroupInstance): void {
    const hooks = [...g.hooks.values()].filter((h) => h.transition === LAUNCHING);
    if (hooks.length > 0) {
      m.lifecycleState = 'Pending:Wait';
      const activity = this.activityById(g.name, m.activityId);
      if (activity !== undefined) activity.statusCode = 'MidLifecycleAction';
      for (const h of hooks) this.wait(g, m, h);
      this.ctx.emit('asg-lifecycle', m.instanceId, `Pending:Wait on ${hooks.map((h) => h.name).join(', ')}`);
      return;
    }
    this.markInService(g, m);
  }

  private markInService(g: AutoScalingGroup, m: GroupInstance): void {
    m.lifecycleState = 'InService';
    m.inServiceAtMs = this.ctx.now();
    this.finishActivity(g, m, 'Successful');
    this.ctx.emit('asg-lifecycle', m.instanceId, 'InService');
  }

  private wait(g: AutoScalingGroup, m: GroupInstance, hook: LifecycleHook): void {
    const now = this.ctx.now();
    const action: PendingLifecycleAction = {
      hookName: hook.name,
      token: this.ctx.ids.uuid('lifecycle-token'),
      transition: hook.transition,
      heartbeatDeadlineMs: now + hook.heartbeatTimeoutS * 1000,
      globalDeadlineMs: now + hook.globalTimeoutS * 1000,
      cancel: () => {},
    };
    m.waits.set(hook.name, action);
    this.armTimeout(g, m, hook, action);
  }

  private armTimeout(g: AutoScalingGroup, m: GroupInstance, hook: LifecycleHook, action: PendingLifecycleAction): void {
    action.cancel();
    const deadline = Math.min(action.heartbeatDeadlineMs, action.globalDeadlineMs);
    action.cancel = this.ctx.after(Math.max(0, deadline - this.ctx.now()), () => {
      if (m.waits.get(hook.name) !== action) return;
      this.ctx.emit('asg-lifecycle', m.instanceId, `${hook.name} timed out; default result ${hook.defaultResult}`);
      this.resolveWait(g, m, hook.name, hook.defaultResult);
    });
  }

  private resolveWait(g: AutoScalingGroup, m: GroupInstance, hookName: string, result: LifecycleResult): void {
    const action = m.waits.get(hookName);
    if (action === undefined) return;
    action.cancel();
    m.waits.delete(hookName);
    if (result === 'ABANDON') m.abandoned = true;
    if (m.waits.size > 0) return;
    if (m.lifecycleState === 'Pending:Wait') {
      if (m.abandoned) {
        this.finishActivity(g, m, 'Cancelled');
        this.beginTermination(g, m, `At ${isoSeconds(this.ctx.now())} a launch lifecycle action was abandoned for instance ${m.instanceId}.`);
        this.reconcile(g, `At ${isoSeconds(this.ctx.now())} an instance was abandoned during launch.`);
      } else {
        m.lifecycleState = 'Pending:Proceed';
        this.markInService(g, m);
      }
    } else if (m.lifecycleState === 'Terminating:Wait') {
      m.lifecycleState = 'Terminating:Proceed';
      const activity = this.activityById(g.name, m.activityId);
      if (activity !== undefined) activity.statusCode = 'InProgress';
      this.ctx.emit('asg-lifecycle', m.instanceId, 'Terminating:Proceed');
      this.terminateEc2(m.instanceId);
    }
  }

  private findWait(groupName: string, hookName: string, instanceId: string | undefined, token: string | undefined): { g: AutoScalingGroup; m: GroupInstance } {
    const g = this.requireGroup(groupName);
    if (!g.hooks.has(hookName)) throw validationError(`No Lifecycle Hook found with name ${hookName} for group ${groupName}`);
    for (const m of g.instances.values()) {
      const w = m.waits.get(hookName);
      if (w === undefined) continue;
      if ((instanceId !== undefined && m.instanceId === instanceId) || (token !== undefined && w.token === token)) return { g, m };
    }
    if (instanceId === undefined && token === undefined) throw validationError('Either InstanceId or LifecycleActionToken must be specified.');
    throw validationError(
      instanceId !== undefined ? `No active Lifecycle Action found with instance ID ${instanceId}` : `No active Lifecycle Action found with token ${token}`,
    );
  }

  completeLifecycleAction(input: { groupName: string; hookName: string; result: string; instanceId?: string | undefined; token?: string | undefined }): void {
    this.ctx.sync();
    if (input.result !== 'CONTINUE' && input.result !== 'ABANDON') {
      throw validationError(`Value ${input.result} at 'lifecycleActionResult' failed to satisfy constraint: Member must be CONTINUE or ABANDON`);
    }
    const { g, m } = this.findWait(input.groupName, input.hookName, input.instanceId, input.token);
    this.ctx.emit('asg-lifecycle', m.instanceId, `${input.hookName} completed with ${input.result}`);
    this.resolveWait(g, m, input.hookName, input.result);
  }

  recordLifecycleActionHeartbeat(input: { groupName: string; hookName: string; instanceId?: string | undefined; token?: string | undefined }): void {
    this.ctx.sync();
    const { g, m } = this.findWait(input.groupName, input.hookName, input.instanceId, input.token);
    const hook = g.hooks.get(input.hookName)!;
    const action = m.waits.get(input.hookName)!;
    action.heartbeatDeadlineMs = this.ctx.now() + hook.heartbeatTimeoutS * 1000;
    this.armTimeout(g, m, hook, action);
  }

  private makeHook(groupName: string, input: PutLifecycleHookInput): LifecycleHook {
    if (input.transition === undefined) throw validationError('LifecycleTransition is required when creating a lifecycle hook.');
    if (input.transition !== LAUNCHING && input.transition !== TERMINATING) {
      throw validationError(`Invalid Lifecycle Transition: ${input.transition}. Valid values: ${LAUNCHING}, ${TERMINATING}`);
    }
    const heartbeat = input.heartbeatTimeoutS ?? 3600;
    if (heartbeat < 30 || heartbeat > 7200) throw validationError(`Heartbeat timeout ${heartbeat} is out of range [30, 7200]`);
    const result = input.defaultResult ?? 'ABANDON';
    if (result !== 'CONTINUE' && result !== 'ABANDON') throw validationError(`Invalid DefaultResult: ${result}. Valid values: CONTINUE, ABANDON`);
    return {
      name: input.hookName,
      groupName,
      transition: input.transition,
      heartbeatTimeoutS: heartbeat,
      globalTimeoutS: Math.min(100 * heartbeat, 172_800),
      defaultResult: result,
      notificationMetadata: input.notificationMetadata,
      notificationTargetArn: input.notificationTargetArn,
      roleArn: input.roleArn,
    };
  }

  putLifecycleHook(input: PutLifecycleHookInput & { groupName: string }): void {
    this.ctx.sync();
    const g = this.requireGroup(input.groupName);
    if (!g.hooks.has(input.hookName) && g.hooks.size >= MAX_HOOKS_PER_GROUP) {
      throw new AutoScalingError('LimitExceeded', `Limit of ${MAX_HOOKS_PER_GROUP} lifecycle hooks per group reached`);
    }
    const existing = g.hooks.get(input.hookName);
    const hook = this.makeHook(g.name, { ...input, transition: input.transition ?? existing?.transition });
    g.hooks.set(hook.name, hook);
  }

  describeLifecycleHooks(groupName: string, names: readonly string[]): LifecycleHook[] {
    this.ctx.sync();
    const g = this.requireGroup(groupName);
    return [...g.hooks.values()].filter((h) => names.length === 0 || names.includes(h.name));
  }

  deleteLifecycleHook(groupName: string, hookName: string): void {
    this.ctx.sync();
    const g = this.requireGroup(groupName);
    const hook = g.hooks.get(hookName);
    if (hook === undefined) throw validationError(`No Lifecycle Hook found with name ${hookName} for group ${groupName}`);
    g.hooks.delete(hookName);
    // Instances still waiting on the hook get its default result, as if it had timed out now.
    for (const m of [...g.instances.values()]) if (m.waits.has(hookName)) this.resolveWait(g, m, hookName, hook.defaultResult);
  }

  // ---------------------------------------------------------------- policies

  putScalingPolicy(input: PutScalingPolicyInput): ScalingPolicy {
    this.ctx.sync();
    const g = this.requireGroup(input.groupName);
    const policyType = input.policyType ?? 'SimpleScaling';
    if (policyType !== 'SimpleScaling' && policyType !== 'StepScaling' && policyType !== 'TargetTrackingScaling') {
      throw validationError(`Invalid policy type: ${policyType}. Valid values: SimpleScaling, StepScaling, TargetTrackingScaling`);
    }
    const adjustmentType = input.adjustmentType;
    if (adjustmentType !== undefined && adjustmentType !== 'ChangeInCapacity' && adjustmentType !== 'ExactCapacity' && adjustmentType !== 'PercentChangeInCapacity') {
      throw validationError(`Invalid adjustment type: ${adjustmentType}. Valid values: ChangeInCapacity, ExactCapacity, PercentChangeInCapacity`);
    }
    const steps = [...(input.stepAdjustments ?? [])];
    if (policyType === 'SimpleScaling') {
      if (adjustmentType === undefined) throw validationError('AdjustmentType is required for a SimpleScaling policy.');
      if (input.scalingAdjustment === undefined) throw validationError('ScalingAdjustment is required for a SimpleScaling policy.');
      if (steps.length > 0) throw validationError('StepAdjustments is not supported for a SimpleScaling policy.');
    } else if (policyType === 'StepScaling') {
      if (adjustmentType === undefined) throw validationError('AdjustmentType is required for a StepScaling policy.');
      if (steps.length === 0) throw validationError('StepAdjustments is required for a StepScaling policy.');
      if (input.scalingAdjustment !== undefined) throw validationError('ScalingAdjustment is not supported for a StepScaling policy.');
      checkSteps(steps);
    } else {
      checkTargetTracking(input.targetTracking);
    }
    if (adjustmentType !== 'PercentChangeInCapacity' && input.minAdjustmentMagnitude !== undefined) {
      throw validationError('MinAdjustmentMagnitude is only supported with the PercentChangeInCapacity adjustment type.');
    }
    const existing = g.policies.get(input.policyName);
    const policy: ScalingPolicy = {
      policyName: input.policyName,
      policyArn: existing?.policyArn ?? this.arn('scalingPolicy', `autoScalingGroupName/${g.name}:policyName/${input.policyName}`),
      groupName: g.name,
      policyType,
      adjustmentType,
      scalingAdjustment: input.scalingAdjustment,
      minAdjustmentMagnitude: input.minAdjustmentMagnitude,
      cooldownS: input.cooldownS,
      stepAdjustments: steps,
      metricAggregationType: policyType === 'StepScaling' ? (input.metricAggregationType ?? 'Average') : input.metricAggregationType,
      estimatedInstanceWarmupS: input.estimatedInstanceWarmupS,
      targetTracking:
        policyType !== 'TargetTrackingScaling' || input.targetTracking?.targetValue === undefined
          ? undefined
          : {
              predefinedMetricType: input.targetTracking.predefinedMetricType,
              customizedMetric: input.targetTracking.customizedMetric,
              targetValue: input.targetTracking.targetValue,
              disableScaleIn: input.targetTracking.disableScaleIn,
            },
      alarms:
        policyType !== 'TargetTrackingScaling'
          ? []
          : (existing?.alarms.length ? existing.alarms : ['AlarmHigh', 'AlarmLow'].map((kind) => this.alarmOf(`TargetTracking-${g.name}-${kind}-${this.ctx.ids.uuid('alarm')}`))),
      enabled: input.enabled ?? true,
    };
    g.policies.set(policy.policyName, policy);
    return policy;
  }

  private alarmOf(alarmName: string): { alarmName: string; alarmArn: string } {
    return { alarmName, alarmArn: `arn:aws:cloudwatch:${this.ctx.region}:${this.ctx.accountId}:alarm:${alarmName}` };
  }

  /**
   * A target-tracking policy's alarm changed the desired capacity (`tracking-scaler.ts` decided it): the new
   * capacity within the group's bounds, recorded as AWS words the activity, then reconciled. Returns the capacity.
   */
  applyTargetTracking(groupName: string, policyName: string, alarmName: string, desired: number): number {
    const g = this.requireGroup(groupName);
    const before = g.desiredCapacity;
    const next = Math.min(g.maxSize, Math.max(g.minSize, desired));
    if (next === before) return before;
    g.desiredCapacity = next;
    g.lastScalingMs = this.ctx.now();
    this.ctx.emit('asg-capacity', g.name, `target tracking policy ${policyName}: desired ${before} -> ${next}`);
    this.reconcile(g, `At ${isoSeconds(this.ctx.now())} a monitor alarm ${alarmName} in state ALARM triggered policy ${policyName} changing the desired capacity from ${before} to ${next}.`);
    return next;
  }

  describePolicies(input: { groupName?: string | undefined; policyNames: readonly string[]; policyTypes: readonly string[] }): ScalingPolicy[] {
    this.ctx.sync();
    const groups = input.groupName === undefined ? [...this.groups.values()] : [this.requireGroup(input.groupName)];
    return groups
      .flatMap((g) => [...g.policies.values()])
      .filter((p) => input.policyNames.length === 0 || input.policyNames.includes(p.policyName) || input.policyNames.includes(p.policyArn))
      .filter((p) => input.policyTypes.length === 0 || input.policyTypes.includes(p.policyType));
  }

  deletePolicy(groupName: string | undefined, policyName: string): void {
    this.ctx.sync();
    const { g, policy } = this.findPolicy(groupName, policyName);
    g.policies.delete(policy.policyName);
  }

  private findPolicy(groupName: string | undefined, policyName: string): { g: AutoScalingGroup; policy: ScalingPolicy } {
    const groups = groupName === undefined ? [...this.groups.values()] : [this.requireGroup(groupName)];
    for (const g of groups) {
      for (const p of g.policies.values()) if (p.policyName === policyName || p.policyArn === policyName) return { g, policy: p };
    }
    throw validationError(`No scaling policy found for service namespace: ec2, resource ID: ${groupName ?? '(any group)'}, policy name: ${policyName}`);
  }

  /**
   * Runs a simple or step policy as its alarm would: a step policy picks the step whose bounds hold
   * `metricValue − breachThreshold` (lower bound inclusive, upper exclusive).
   */
  executePolicy(input: {
    groupName?: string | undefined;
    policyName: string;
    honorCooldown: boolean;
    metricValue?: number | undefined;
    breachThreshold?: number | undefined;
    /** The alarm that ran the policy (`metric-alarms.ts`); absent for a user's `ExecutePolicy`. */
    alarmName?: string | undefined;
  }): void {
    this.ctx.sync();
    const { g, policy } = this.findPolicy(input.groupName, input.policyName);
    if (!policy.enabled) throw validationError(`Policy ${policy.policyName} is disabled.`);
    if (policy.policyType === 'TargetTrackingScaling') throw validationError('ExecutePolicy is not supported for a TargetTrackingScaling policy.');
    if (input.honorCooldown) this.checkCooldown(g, policy.cooldownS ?? g.defaultCooldownS);
    let adjustment: number;
    if (policy.policyType === 'StepScaling') {
      if (input.metricValue === undefined || input.breachThreshold === undefined) {
        throw validationError('MetricValue and BreachThreshold are required to execute a StepScaling policy.');
      }
      const diff = input.metricValue - input.breachThreshold;
      const step = policy.stepAdjustments.find((s) => (s.lowerBound ?? -Infinity) <= diff && diff < (s.upperBound ?? Infinity));
      if (step === undefined) throw validationError(`No step adjustment found for metric value ${input.metricValue} and breach threshold ${input.breachThreshold}.`);
      adjustment = step.scalingAdjustment;
    } else {
      adjustment = policy.scalingAdjustment ?? 0;
    }
    const before = g.desiredCapacity;
    const target = applyAdjustment(before, policy.adjustmentType ?? 'ChangeInCapacity', adjustment, policy.minAdjustmentMagnitude);
    g.desiredCapacity = Math.min(g.maxSize, Math.max(g.minSize, target));
    const by = input.alarmName === undefined ? 'a user request executed' : `a monitor alarm ${input.alarmName} in state ALARM triggered`;
    this.reconcile(g, `At ${isoSeconds(this.ctx.now())} ${by} policy ${policy.policyName} changing the desired capacity from ${before} to ${g.desiredCapacity}.`);
  }

  // ---------------------------------------------------------------- scheduled actions

  putScheduledUpdateGroupAction(input: PutScheduledActionInput): ScheduledAction {
    this.ctx.sync();
    const g = this.requireGroup(input.groupName);
    if (input.minSize === undefined && input.maxSize === undefined && input.desiredCapacity === undefined) {
      throw validationError('At least one of MinSize, MaxSize or DesiredCapacity must be specified.');
    }
    if (input.timeMs !== undefined && input.startTimeMs !== undefined && input.timeMs !== input.startTimeMs) {
      throw validationError('Time and StartTime must be the same when both are given; Time is deprecated.');
    }
    const now = this.ctx.now();
    const start = input.startTimeMs ?? input.timeMs;
    if (start !== undefined && start < now) throw validationError('Given start time is in the past');
    if (input.endTimeMs !== undefined && start !== undefined && input.endTimeMs <= start) throw validationError('End time must be after start time');
    if (input.timeZone !== undefined && !UTC_ZONES.has(input.timeZone)) {
      throw validationError(`Time zone ${input.timeZone} is not supported by this endpoint: the twin evaluates schedules in UTC only.`);
    }
    let cron: CronSchedule | undefined;
    if (input.recurrence !== undefined) {
      try {
        cron = parseCron(input.recurrence);
      } catch (e) {
        if (e instanceof CronError) throw validationError(`Given recurrence string '${input.recurrence}' is invalid: ${e.message}`);
        throw e;
      }
    }
    if (start === undefined && cron === undefined) throw validationError('Either StartTime (or Time) or Recurrence must be specified.');
    g.scheduledActions.get(input.name)?.cancel();
    const existing = g.scheduledActions.get(input.name);
    const action: ScheduledAction = {
      name: input.name,
      arn: existing?.arn ?? this.arn('scheduledUpdateGroupAction', `autoScalingGroupName/${g.name}:scheduledActionName/${input.name}`),
      groupName: g.name,
      startTimeMs: start,
      endTimeMs: input.endTimeMs,
      recurrence: input.recurrence,
      minSize: input.minSize,
      maxSize: input.maxSize,
      desiredCapacity: input.desiredCapacity,
      timeZone: input.timeZone,
      nextRunMs: undefined,
      cancel: () => {},
    };
    g.scheduledActions.set(action.name, action);
    this.armSchedule(g, action, cron, start === undefined ? now : start - 1);
    return action;
  }

  private armSchedule(g: AutoScalingGroup, action: ScheduledAction, cron: CronSchedule | undefined, afterMs: number): void {
    const next = cron === undefined ? (action.nextRunMs === undefined ? action.startTimeMs : undefined) : nextCronTime(cron, afterMs);
    if (next === undefined || (action.endTimeMs !== undefined && next > action.endTimeMs)) {
      action.nextRunMs = undefined;
      if (cron !== undefined) g.scheduledActions.delete(action.name);
      return;
    }
    action.nextRunMs = next;
    action.cancel = this.ctx.after(Math.max(0, next - this.ctx.now()), () => {
      if (g.scheduledActions.get(action.name) !== action || !this.groups.has(g.name)) return;
      this.runScheduledAction(g, action);
      if (cron === undefined) g.scheduledActions.delete(action.name);
      else this.armSchedule(g, action, cron, this.ctx.now());
    });
  }

  private runScheduledAction(g: AutoScalingGroup, a: ScheduledAction): void {
    const before = g.desiredCapacity;
    const min = a.minSize ?? g.minSize;
    const max = Math.max(a.maxSize ?? g.maxSize, min);
    g.minSize = min;
    g.maxSize = max;
    g.desiredCapacity = Math.min(max, Math.max(min, a.desiredCapacity ?? g.desiredCapacity));
    this.ctx.emit('asg-capacity', g.name, `scheduled action ${a.name}: min ${g.minSize}, max ${g.maxSize}, desired ${g.desiredCapacity}`);
    this.reconcile(
      g,
      `At ${isoSeconds(this.ctx.now())} a scheduled action update of AutoScalingGroup constraints to min: ${g.minSize}, max: ${g.maxSize}, desired: ${g.desiredCapacity} changing the desired capacity from ${before} to ${g.desiredCapacity}.`,
    );
  }

  describeScheduledActions(groupName: string | undefined, names: readonly string[]): ScheduledAction[] {
    this.ctx.sync();
    const groups = groupName === undefined ? [...this.groups.values()] : [this.requireGroup(groupName)];
    return groups.flatMap((g) => [...g.scheduledActions.values()]).filter((a) => names.length === 0 || names.includes(a.name));
  }

  deleteScheduledAction(groupName: string, name: string): void {
    this.ctx.sync();
    const g = this.requireGroup(groupName);
    const a = g.scheduledActions.get(name);
    if (a === undefined) throw validationError(`Scheduled Update Group Action not found - Could not find scheduled action ${name} for group ${groupName}`);
    a.cancel();
    g.scheduledActions.delete(name);
  }

  // ---------------------------------------------------------------- activities

  private recordActivity(g: AutoScalingGroup, description: string, cause: string, details: string): Activity {
    const activity: Activity = {
      activityId: this.ctx.ids.uuid('activity'),
      groupName: g.name,
      description,
      cause,
      startTimeMs: this.ctx.now(),
      endTimeMs: undefined,
      statusCode: 'InProgress',
      statusMessage: undefined,
      progress: 0,
      details,
    };
    const list = this.activities.get(g.name) ?? [];
    list.push(activity);
    if (list.length > MAX_ACTIVITIES_PER_GROUP) list.splice(0, list.length - MAX_ACTIVITIES_PER_GROUP);
    this.activities.set(g.name, list);
    return activity;
  }

  private activityById(groupName: string, id: string | undefined): Activity | undefined {
    if (id === undefined) return undefined;
    return this.activities.get(groupName)?.find((a) => a.activityId === id);
  }

  private finishActivity(g: AutoScalingGroup, m: GroupInstance, status: 'Successful' | 'Cancelled' | 'Failed'): void {
    const a = this.activityById(g.name, m.activityId);
    if (a === undefined || a.endTimeMs !== undefined) return;
    a.statusCode = status;
    a.progress = 100;
    a.endTimeMs = this.ctx.now();
  }

  /** Newest first, as AWS lists them. */
  describeScalingActivities(groupName: string | undefined, activityIds: readonly string[]): Activity[] {
    this.ctx.sync();
    if (groupName !== undefined && !this.activities.has(groupName)) return [];
    const lists = groupName === undefined ? [...this.activities.values()] : [this.activities.get(groupName) ?? []];
    return lists
      .flat()
      .filter((a) => activityIds.length === 0 || activityIds.includes(a.activityId))
      .sort((a, b) => b.startTimeMs - a.startTimeMs || (a.activityId < b.activityId ? -1 : 1));
  }

  // ---------------------------------------------------------------- reactions to EC2

  private onEc2StateChange(instanceId: string, state: InstanceStateName): void {
    const groupName = this.memberOf.get(instanceId);
    if (groupName === undefined) return;
    // React after the call that changed the instance, at the same model instant.
    this.ctx.after(0, () => this.react(groupName, instanceId, state));
  }

  private react(groupName: string, instanceId: string, state: InstanceStateName): void {
    const g = this.groups.get(groupName);
    const m = g?.instances.get(instanceId);
    if (g === undefined || m === undefined) return;
    const now = isoSeconds(this.ctx.now());
    switch (state) {
      case 'running':
        if (m.lifecycleState === 'Pending') this.enterService(g, m);
        return;
      case 'terminated': {
        const byUs = TERMINATING_STATES.has(m.lifecycleState);
        for (const w of m.waits.values()) w.cancel();
        m.waits.clear();
        m.lifecycleState = 'Terminated';
        g.instances.delete(instanceId);
        this.memberOf.delete(instanceId);
        if (byUs) this.finishActivity(g, m, 'Successful');
        this.ctx.emit('asg-lifecycle', instanceId, 'Terminated');
        if (!byUs) this.reconcile(g, `At ${now} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`);
        return;
      }
      case 'shutting-down':
        if (TERMINATING_STATES.has(m.lifecycleState)) return;
        // Terminated behind the group's back: it is gone either way, so no hooks; replace it now.
        for (const w of m.waits.values()) w.cancel();
        m.waits.clear();
        m.healthStatus = 'Unhealthy';
        m.lifecycleState = 'Terminating';
        m.activityId = this.recordActivity(
          g,
          `Terminating EC2 instance: ${instanceId}`,
          `At ${now} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`,
          JSON.stringify({ 'Subnet ID': this.ec2.subnet.subnetId, 'Availability Zone': m.availabilityZone }),
        ).activityId;
        this.reconcile(g, `At ${now} an unhealthy instance was replaced.`);
        return;
      case 'stopping':
      case 'stopped':
        if (!ACTIVE_STATES.has(m.lifecycleState) || m.healthStatus === 'Unhealthy') return;
        m.healthStatus = 'Unhealthy';
        this.ctx.after(this.timings.healthCheckDelayMs, () => {
          if (g.instances.get(instanceId) !== m || !ACTIVE_STATES.has(m.lifecycleState)) return;
          this.beginTermination(
            g,
            m,
            `At ${isoSeconds(this.ctx.now())} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`,
          );
          this.reconcile(g, `At ${isoSeconds(this.ctx.now())} an unhealthy instance was replaced.`);
        });
        return;
      case 'pending':
        // A start after a stop: the unhealthy instance is being replaced already.
        return;
    }
  }

  /** Every lifecycle action now waiting, for the harness (the tokens a notification would carry). */
  pendingLifecycleActions(): { groupName: string; instanceId: string; hookName: string; token: string; transition: LifecycleTransition }[] {
    const out: { groupName: string; instanceId: string; hookName: string; token: string; transition: LifecycleTransition }[] = [];
    for (const g of this.groups.values()) {
      for (const m of g.instances.values()) {
        for (const w of m.waits.values()) out.push({ groupName: g.name, instanceId: m.instanceId, hookName: w.hookName, token: w.token, transition: w.transition });
      }
    }
    return out;
  }
}

function checkBounds(min: number, max: number, desired: number): void {
  if (min < 0) throw validationError(`Min size ${min} must be greater than or equal to 0`);
  if (max < min) throw validationError(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
  if (desired < min || desired > max) {
    throw validationError(`Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
  }
}

function checkGroupTag(t: GroupTag): void {
  if (t.key.length === 0 || t.key.length > 128) throw validationError(`Tag key must be between 1 and 128 characters: '${t.key}'`);
  if (t.key.toLowerCase().startsWith('aws:')) throw validationError(`Tag keys starting with 'aws:' are reserved for internal use`);
}

/** Steps must not overlap, and only the lowest may be open below and the highest open above. */
function checkSteps(steps: StepAdjustment[]): void {
  const sorted = [...steps].sort((a, b) => (a.lowerBound ?? -Infinity) - (b.lowerBound ?? -Infinity));
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i]!;
    const lo = s.lowerBound ?? -Infinity;
    const hi = s.upperBound ?? Infinity;
    if (!(lo < hi)) throw validationError(`Step adjustment lower bound (${s.lowerBound}) must be less than upper bound (${s.upperBound}).`);
    const next = sorted[i + 1];
    if (next !== undefined && (next.lowerBound ?? -Infinity) < hi) throw validationError('Step adjustments must not overlap.');
  }
}

/** The new capacity for an adjustment, with AWS's rounding of percentages (towards zero, at least one). */
export function applyAdjustment(current: number, type: AdjustmentType, adjustment: number, minMagnitude: number | undefined): number {
  if (type === 'ExactCapacity') return adjustment;
  if (type === 'ChangeInCapacity') return current + adjustment;
  const raw = (current * adjustment) / 100;
  let delta = raw > 0 ? Math.max(1, Math.floor(raw)) : raw < 0 ? Math.min(-1, Math.ceil(raw)) : 0;
  if (minMagnitude !== undefined && Math.abs(delta) < minMagnitude && delta !== 0) delta = Math.sign(delta) * minMagnitude;
  return current + delta;
}

const CUSTOM_STATISTICS = new Set(['Average', 'Minimum', 'Maximum', 'SampleCount', 'Sum']);

/** TargetTrackingConfiguration as AWS checks it: a target, and exactly one metric the twin can evaluate. */
function checkTargetTracking(tt: PutScalingPolicyInput['targetTracking']): void {
  if (tt?.targetValue === undefined) throw validationError('TargetTrackingConfiguration with a TargetValue is required for a TargetTrackingScaling policy.');
  if (!Number.isFinite(tt.targetValue) || tt.targetValue <= 0) throw validationError(`TargetValue must be a positive number, got ${tt.targetValue}.`);
  const given = (tt.predefinedMetricType === undefined ? 0 : 1) + (tt.customizedMetric === undefined ? 0 : 1);
  if (given !== 1) throw validationError('Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be given in TargetTrackingConfiguration.');
  const type = tt.predefinedMetricType;
  if (type === 'ALBRequestCountPerTarget') {
    throw validationError('ALBRequestCountPerTarget needs an Application Load Balancer target group, which the twin does not model; follow a CustomizedMetricSpecification instead.');
  }
  if (type !== undefined && !Object.hasOwn(PREDEFINED_METRICS, type)) {
    throw validationError(`Invalid PredefinedMetricType: ${type}. Valid values: ${Object.keys(PREDEFINED_METRICS).join(', ')}, ALBRequestCountPerTarget`);
  }
  const c = tt.customizedMetric;
  if (c !== undefined && !CUSTOM_STATISTICS.has(c.statistic)) {
    throw validationError(`Invalid Statistic: ${c.statistic} in CustomizedMetricSpecification. Valid values: ${[...CUSTOM_STATISTICS].join(', ')}`);
  }
}
