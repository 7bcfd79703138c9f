/**
 * The Auto Scaling endpoint's model is the simulation's (`sim/models/autoscaling/group-model.ts`): this file only
 * adapts it to the twin's EC2 model (the `Ec2Port`: launches, terminations and instance-state changes, with EC2's
 * refusals turned into the model's `AutoScalingError`), so the AWS CLI sees what the model does.
 */
import { AutoScalingError, AutoScalingModel as PureAutoScalingModel, type AutoScalingTimings, type Ec2Port } from '../../sim/models/autoscaling/group-model.ts';
import type { BlockDeviceMappingInput, Ec2Model } from './ec2-model.ts';
import { AwsApiError } from './errors.ts';
import type { ModelContext } from './model-context.ts';

export * from '../../sim/models/autoscaling/group-model.ts';

/** The twin's EC2 model seen through the port the Auto Scaling model launches into. */
export function ec2Port(ec2: Ec2Model): Ec2Port {
  return {
    subnet: ec2.subnet,
    availabilityZones: ec2.network.availabilityZones,
    hasImage: (id) => ec2.images.has(id),
    findLaunchTemplate: (ref) => ec2.findLaunchTemplate(ref),
    launchTemplate: (id) => ec2.launchTemplates.get(id),
    runInstance(input) {
      try {
        const reservation = ec2.runInstances({
          imageId: input.imageId,
          instanceType: input.instanceType,
          minCount: 1,
          maxCount: 1,
          availabilityZone: input.availabilityZone,
          securityGroupIds: input.securityGroupIds,
          keyName: input.keyName,
          blockDeviceMappings: input.blockDeviceMappings as readonly BlockDeviceMappingInput[],
          tagSpecifications: [{ resourceType: 'instance', tags: input.tags }],
          systemTags: input.systemTags,
        });
        const instance = reservation.instances[0]!;
        return { instanceId: instance.instanceId, instanceType: instance.instanceType };
      } catch (e) {
        if (e instanceof AwsApiError) throw new AutoScalingError(e.code, e.message);
        throw e;
      }
    },
    instanceState: (id) => ec2.instances.get(id)?.state,
    terminateInstances: (ids) => void ec2.terminateInstances(ids),
    onInstanceState: (listener) => ec2.onInstanceState((instance) => listener(instance.instanceId, instance.state)),
  };
}

/** The model on the twin's EC2 model and its shared time. */
export class AutoScalingModel extends PureAutoScalingModel {
  constructor(ctx: ModelContext, ec2: Ec2Model, timings: AutoScalingTimings) {
    super(ctx, ec2Port(ec2), timings);
  }
}

/** The model's refusal as the Query API answers it (HTTP 400, `Sender`). */
export function toAwsError(e: unknown): unknown {
  return e instanceof AutoScalingError ? new AwsApiError(e.code, e.message) : e;
}
