import type { BlockDeviceMappingInput } from './ec2-model.ts';
import type { QueryParams } from './query.ts';

/**
 * Block device mappings of a Query request. The two protocols differ only in the list's name (EC2's
 * `BlockDeviceMapping.N`, Auto Scaling's `BlockDeviceMappings.member.N`) and in `NoDevice`: an empty element
 * in EC2, a boolean in Auto Scaling.
 */
export function parseBlockDeviceMappings(params: QueryParams, protocol: 'ec2' | 'autoscaling'): BlockDeviceMappingInput[] {
  return params.structs(protocol === 'ec2' ? 'BlockDeviceMapping' : 'BlockDeviceMappings').map((m) => {
    const ebs = m.sub('Ebs');
    return {
      deviceName: m.required('DeviceName'),
      snapshotId: ebs?.str('SnapshotId'),
      volumeSize: ebs?.int('VolumeSize', { min: 1, max: 16384 }),
      deleteOnTermination: ebs?.bool('DeleteOnTermination'),
      volumeType: ebs?.str('VolumeType'),
      virtualName: m.str('VirtualName'),
      noDevice: protocol === 'ec2' ? (m.str('NoDevice') !== undefined ? true : undefined) : m.bool('NoDevice'),
    };
  });
}
