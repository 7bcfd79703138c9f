import {
  INSTANCE_STATE_CODES,
  privateDnsName,
  type Image,
  type Instance,
  type InstanceStateChange,
  type InstanceStateName,
  type LaunchTemplate,
  type Snapshot,
  type TagSpecificationInput,
  type Volume,
} from './ec2-model.ts';
import { AwsApiError } from './errors.ts';
import { paginate } from './paginate.ts';
import type { QueryParams } from './query.ts';
import { parseBlockDeviceMappings } from './block-devices.ts';
import type { Ec2State } from './state.ts';
import { ec2List, type XmlNode } from './xml.ts';

/** One EC2 action: the request's parameters and the state in, the response body (without `requestId`) out. */
export type Ec2Action = (params: QueryParams, state: Ec2State) => XmlNode;

// ---------------------------------------------------------------- parameter readers

function tagPairs(params: QueryParams, name = 'Tag'): [string, string][] {
  return params.structs(name).map((t) => [t.required('Key'), t.str('Value') ?? '']);
}

function tagSpecifications(params: QueryParams): TagSpecificationInput[] {
  return params.structs('TagSpecification').map((s) => ({ resourceType: s.required('ResourceType'), tags: tagPairs(s) }));
}

/** Tags of the given resource type from `TagSpecification.N` (CreateSnapshot, RegisterImage, CreateImage). */
function tagsFor(params: QueryParams, resourceType: string): [string, string][] {
  const specs = tagSpecifications(params);
  for (const s of specs) {
    if (s.resourceType !== resourceType) {
      throw new AwsApiError('InvalidParameterValue', `'${s.resourceType}' is not a valid taggable resource type for this operation.`);
    }
  }
  return specs.flatMap((s) => s.tags.map(([k, v]) => [k, v] as [string, string]));
}


// ---------------------------------------------------------------- renderers

function stateNode(name: InstanceStateName): XmlNode {
  return { code: INSTANCE_STATE_CODES[name], name };
}

/** EC2 leaves `tagSet` out of a resource that has no tags. */
function tagSet(tags: ReadonlyMap<string, string>): XmlNode | undefined {
  return tags.size === 0 ? undefined : ec2List([...tags].map(([key, value]) => ({ key, value })));
}

export function renderInstance(i: Instance, state: Ec2State): XmlNode {
  const gone = i.state === 'terminated';
  const eni = state.ec2.networkInterfaces.get(i.networkInterfaceId);
  const groups = ec2List(i.securityGroupIds.map((groupId) => ({ groupId, groupName: groupId === state.ec2.defaultSecurityGroupId ? 'default' : groupId })));
  const dns = gone ? '' : privateDnsName(i.privateIpAddress, state.options.region);
  return {
    instanceId: i.instanceId,
    imageId: i.imageId,
    instanceState: stateNode(i.state),
    privateDnsName: dns,
    dnsName: '',
    reason: i.stateTransitionReason,
    keyName: i.keyName,
    amiLaunchIndex: i.amiLaunchIndex,
    productCodes: '',
    instanceType: i.instanceType,
    launchTime: new Date(i.launchTimeMs),
    placement: { availabilityZone: i.availabilityZone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: gone ? undefined : i.subnetId,
    vpcId: gone ? undefined : i.vpcId,
    privateIpAddress: gone ? undefined : i.privateIpAddress,
    sourceDestCheck: gone ? undefined : true,
    groupSet: groups,
    stateReason: i.stateReason,
    architecture: i.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping: ec2List(
      gone
        ? []
        : i.blockDeviceMappings.map((d) => ({
            deviceName: d.deviceName,
            ebs: { volumeId: d.volumeId, status: 'attached', attachTime: new Date(d.attachTimeMs), deleteOnTermination: d.deleteOnTermination },
          })),
    ),
    virtualizationType: 'hvm',
    clientToken: i.clientToken ?? '',
    tagSet: tagSet(i.tags),
    hypervisor: 'xen',
    networkInterfaceSet: ec2List(
      eni === undefined || gone
        ? []
        : [
            {
              networkInterfaceId: eni.networkInterfaceId,
              subnetId: eni.subnetId,
              vpcId: eni.vpcId,
              description: '',
              ownerId: state.options.accountId,
              status: 'in-use',
              macAddress: eni.macAddress,
              privateIpAddress: eni.privateIpAddress,
              privateDnsName: privateDnsName(eni.privateIpAddress, state.options.region),
              sourceDestCheck: true,
              groupSet: groups,
              attachment: {
                attachmentId: `eni-attach-${eni.networkInterfaceId.slice(4)}`,
                deviceIndex: 0,
                status: 'attached',
                attachTime: new Date(i.launchTimeMs),
                deleteOnTermination: true,
                networkCardIndex: 0,
              },
              privateIpAddressesSet: ec2List([
                { privateIpAddress: eni.privateIpAddress, privateDnsName: privateDnsName(eni.privateIpAddress, state.options.region), primary: true },
                ...eni.secondaryPrivateIpAddresses.map((ip) => ({ privateIpAddress: ip, privateDnsName: privateDnsName(ip, state.options.region), primary: false })),
              ]),
              interfaceType: 'interface',
            },
          ],
    ),
    ebsOptimized: false,
    enaSupport: true,
    metadataOptions: { state: 'applied', httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' },
  };
}

function renderReservation(r: { reservationId: string; ownerId: string; instances: readonly Instance[] }, state: Ec2State): XmlNode {
  return {
    reservationId: r.reservationId,
    ownerId: r.ownerId,
    groupSet: ec2List([]),
    instancesSet: ec2List(r.instances.map((i) => renderInstance(i, state))),
  };
}

function renderStateChanges(changes: readonly InstanceStateChange[]): XmlNode {
  return {
    instancesSet: ec2List(
      changes.map((c) => ({ instanceId: c.instanceId, currentState: stateNode(c.currentState), previousState: stateNode(c.previousState) })),
    ),
  };
}

function renderVolume(v: Volume): XmlNode {
  return {
    volumeId: v.volumeId,
    size: v.size,
    snapshotId: v.snapshotId ?? '',
    availabilityZone: v.availabilityZone,
    status: v.state,
    createTime: new Date(v.createTimeMs),
    attachmentSet: ec2List(
      v.attachment === undefined
        ? []
        : [
            {
              volumeId: v.volumeId,
              instanceId: v.attachment.instanceId,
              device: v.attachment.device,
              status: v.attachment.state,
              attachTime: new Date(v.attachment.attachTimeMs),
              deleteOnTermination: v.attachment.deleteOnTermination,
            },
          ],
    ),
    volumeType: v.volumeType,
    iops: v.volumeType === 'gp2' ? Math.min(16000, Math.max(100, 3 * v.size)) : undefined,
    encrypted: v.encrypted,
    multiAttachEnabled: false,
    tagSet: tagSet(v.tags),
  };
}

function renderSnapshot(s: Snapshot, state: Ec2State, progress = state.ec2.snapshotProgress(s)): XmlNode {
  return {
    snapshotId: s.snapshotId,
    volumeId: s.volumeId,
    status: s.state,
    startTime: new Date(s.startTimeMs),
    progress,
    ownerId: s.ownerId,
    volumeSize: s.volumeSize,
    description: s.description,
    encrypted: s.encrypted,
    ownerAlias: s.ownerAlias,
    storageTier: 'standard',
    tagSet: tagSet(s.tags),
  };
}

function renderImage(i: Image): XmlNode {
  return {
    imageId: i.imageId,
    imageLocation: `${i.ownerId}/${i.name}`,
    imageState: i.state,
    imageOwnerId: i.ownerId,
    creationDate: new Date(i.creationDateMs).toISOString(),
    isPublic: i.isPublic,
    architecture: i.architecture,
    imageType: 'machine',
    sriovNetSupport: 'simple',
    imageOwnerAlias: i.ownerAlias,
    name: i.name,
    description: i.description,
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping: ec2List(
      i.blockDeviceMappings.map((d) => ({
        deviceName: d.deviceName,
        virtualName: d.virtualName,
        noDevice: d.noDevice ? '' : undefined,
        ebs:
          d.virtualName !== undefined || d.noDevice
            ? undefined
            : { snapshotId: d.snapshotId, volumeSize: d.volumeSize, deleteOnTermination: d.deleteOnTermination, volumeType: d.volumeType, encrypted: false },
      })),
    ),
    virtualizationType: i.virtualizationType,
    tagSet: tagSet(i.tags),
    hypervisor: 'xen',
    enaSupport: i.enaSupport,
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
    sourceInstanceId: i.sourceInstanceId,
  };
}

function renderLaunchTemplate(t: LaunchTemplate, state: Ec2State): XmlNode {
  return {
    launchTemplateId: t.launchTemplateId,
    launchTemplateName: t.launchTemplateName,
    createTime: new Date(t.createTimeMs),
    createdBy: `arn:aws:iam::${state.options.accountId}:root`,
    defaultVersionNumber: 1,
    latestVersionNumber: 1,
    tagSet: tagSet(t.tags),
  };
}

// ---------------------------------------------------------------- actions

/** The EC2 actions the twin implements, by `Action` name. */
export const EC2_ACTIONS: Readonly<Record<string, Ec2Action>> = {
  RunInstances(p, s) {
    const placement = p.sub('Placement');
    const reservation = s.ec2.runInstances({
      imageId: p.required('ImageId'),
      instanceType: p.str('InstanceType'),
      minCount: p.requiredInt('MinCount'),
      maxCount: p.requiredInt('MaxCount'),
      privateIpAddress: p.str('PrivateIpAddress'),
      subnetId: p.str('SubnetId'),
      securityGroupIds: p.list('SecurityGroupId'),
      availabilityZone: placement?.str('AvailabilityZone'),
      keyName: p.str('KeyName'),
      clientToken: p.str('ClientToken'),
      tagSpecifications: tagSpecifications(p),
      blockDeviceMappings: parseBlockDeviceMappings(p, 'ec2'),
    });
    return renderReservation(reservation, s);
  },

  DescribeInstances(p, s) {
    const ids = p.list('InstanceId');
    const maxResults = p.int('MaxResults', { min: 5, max: 1000 });
    if (ids.length > 0 && maxResults !== undefined) {
      throw new AwsApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    }
    const reservations = s.ec2.describeInstances(ids, p.filters());
    const { page, nextToken } = paginate(reservations, maxResults, p.str('NextToken'), 'InvalidParameterValue');
    return { reservationSet: ec2List(page.map((r) => renderReservation(r, s))), nextToken };
  },

  /**
   * The instances' status checks: running ones pass (EC2's `ok`), the others have none (`not-applicable`); without
   * IncludeAllInstances only running instances are listed, as EC2 does. Terminated instances stay listed while
   * DescribeInstances still shows them.
   */
  DescribeInstanceStatus(p, s) {
    const all = p.str('IncludeAllInstances') === 'true';
    const instances = s.ec2.describeInstances(p.list('InstanceId'), p.filters()).flatMap((r) => r.instances).filter((i) => all || i.state === 'running');
    const { page, nextToken } = paginate(instances, p.int('MaxResults', { min: 5, max: 1000 }), p.str('NextToken'), 'InvalidParameterValue');
    const check = (i: Instance, name: string) => (i.state === 'running' ? { status: 'ok', details: ec2List([{ name, status: 'passed' }]) } : { status: 'not-applicable' });
    return {
      instanceStatusSet: ec2List(page.map((i) => ({ instanceId: i.instanceId, availabilityZone: i.availabilityZone, instanceState: stateNode(i.state), systemStatus: check(i, 'reachability'), instanceStatus: check(i, 'reachability') }))),
      nextToken,
    };
  },

  TerminateInstances: (p, s) => renderStateChanges(s.ec2.terminateInstances(requiredList(p, 'InstanceId'))),
  StopInstances: (p, s) => renderStateChanges(s.ec2.stopInstances(requiredList(p, 'InstanceId'))),
  StartInstances: (p, s) => renderStateChanges(s.ec2.startInstances(requiredList(p, 'InstanceId'))),

  DescribeVolumes(p, s) {
    const volumes = s.ec2.describeVolumes(p.list('VolumeId'), p.filters());
    const { page, nextToken } = paginate(volumes, p.int('MaxResults', { min: 5, max: 500 }), p.str('NextToken'), 'InvalidParameterValue');
    return { volumeSet: ec2List(page.map(renderVolume)), nextToken };
  },

  CreateSnapshot(p, s) {
    const snapshot = s.ec2.createSnapshot({ volumeId: p.required('VolumeId'), description: p.str('Description'), tags: tagsFor(p, 'snapshot') });
    // EC2 answers CreateSnapshot with an empty progress, as the seed's sample output shows.
    return renderSnapshot(snapshot, s, '');
  },

  DescribeSnapshots(p, s) {
    const snapshots = s.ec2.describeSnapshots({ snapshotIds: p.list('SnapshotId'), ownerIds: p.list('Owner'), filters: p.filters() });
    const { page, nextToken } = paginate(snapshots, p.int('MaxResults', { min: 5, max: 1000 }), p.str('NextToken'), 'InvalidParameterValue');
    return { snapshotSet: ec2List(page.map((x) => renderSnapshot(x, s))), nextToken };
  },

  CopySnapshot(p, s) {
    // PresignedUrl and DestinationRegion (the SDK and the CLI add them) authenticate the source: signatures are not checked here.
    if (p.str('KmsKeyId') !== undefined) throw new AwsApiError('InvalidParameterValue', 'KmsKeyId is not supported by this endpoint: it keeps no KMS keys (a copy is encrypted when its source is, or with Encrypted)');
    const snapshot = s.copySnapshot({
      sourceRegion: p.required('SourceRegion'),
      sourceSnapshotId: p.required('SourceSnapshotId'),
      description: p.str('Description'),
      encrypted: p.bool('Encrypted') ?? false,
      tags: tagsFor(p, 'snapshot'),
    });
    return { snapshotId: snapshot.snapshotId };
  },

  DeleteSnapshot(p, s) {
    s.ec2.deleteSnapshot(p.required('SnapshotId'));
    return { return: true };
  },

  RegisterImage(p, s) {
    if (p.str('ImageLocation') !== undefined) {
      throw new AwsApiError('InvalidParameterValue', 'Instance-store images (ImageLocation) are not supported by this endpoint: register an EBS-backed image from a snapshot.');
    }
    const image = s.ec2.registerImage({
      name: p.required('Name'),
      description: p.str('Description'),
      architecture: p.str('Architecture'),
      rootDeviceName: p.str('RootDeviceName'),
      virtualizationType: p.str('VirtualizationType'),
      enaSupport: p.bool('EnaSupport'),
      blockDeviceMappings: parseBlockDeviceMappings(p, 'ec2'),
      tags: tagsFor(p, 'image'),
    });
    return { imageId: image.imageId };
  },

  CreateImage(p, s) {
    const image = s.ec2.createImage({
      instanceId: p.required('InstanceId'),
      name: p.required('Name'),
      description: p.str('Description'),
      noReboot: p.bool('NoReboot') ?? false,
      tags: tagSpecifications(p)
        .filter((t) => t.resourceType === 'image')
        .flatMap((t) => t.tags),
    });
    return { imageId: image.imageId };
  },

  DescribeImages(p, s) {
    const images = s.ec2.describeImages({ imageIds: p.list('ImageId'), owners: p.list('Owner'), filters: p.filters() });
    const { page, nextToken } = paginate(images, p.int('MaxResults', { min: 5, max: 1000 }), p.str('NextToken'), 'InvalidParameterValue');
    return { imagesSet: ec2List(page.map(renderImage)), nextToken };
  },

  DeregisterImage(p, s) {
    s.ec2.deregisterImage(p.required('ImageId'));
    return { return: true };
  },

  AssignPrivateIpAddresses(p, s) {
    const result = s.ec2.assignPrivateIpAddresses({
      networkInterfaceId: p.required('NetworkInterfaceId'),
      privateIpAddresses: p.list('PrivateIpAddress'),
      secondaryPrivateIpAddressCount: p.int('SecondaryPrivateIpAddressCount', { min: 1 }),
      allowReassignment: p.bool('AllowReassignment') ?? false,
    });
    return {
      return: true,
      networkInterfaceId: result.networkInterfaceId,
      assignedPrivateIpAddressesSet: ec2List(result.assigned.map((privateIpAddress) => ({ privateIpAddress }))),
    };
  },

  UnassignPrivateIpAddresses(p, s) {
    s.ec2.unassignPrivateIpAddresses(p.required('NetworkInterfaceId'), requiredList(p, 'PrivateIpAddress'));
    return { return: true };
  },

  CreateTags(p, s) {
    const tags = tagPairs(p);
    if (tags.length === 0) throw p.missing('Tag.1.Key');
    s.ec2.createTags(requiredList(p, 'ResourceId'), tags);
    return { return: true };
  },

  DeleteTags(p, s) {
    const tags = p.structs('Tag').map((t) => ({ key: t.required('Key'), value: t.str('Value') }));
    s.ec2.deleteTags(requiredList(p, 'ResourceId'), tags);
    return { return: true };
  },

  DescribeTags(p, s) {
    const rows = s.ec2.describeTags(p.filters());
    const { page, nextToken } = paginate(rows, p.int('MaxResults', { min: 5, max: 1000 }), p.str('NextToken'), 'InvalidParameterValue');
    return { tagSet: ec2List(page), nextToken };
  },

  CreateLaunchTemplate(p, s) {
    const data = p.sub('LaunchTemplateData');
    if (data === undefined) throw p.missing('LaunchTemplateData');
    const template = s.ec2.createLaunchTemplate({
      name: p.required('LaunchTemplateName'),
      imageId: data.str('ImageId'),
      instanceType: data.str('InstanceType'),
      securityGroupIds: data.list('SecurityGroupId'),
      keyName: data.str('KeyName'),
      tags: tagsFor(p, 'launch-template'),
    });
    return { launchTemplate: renderLaunchTemplate(template, s) };
  },

  DescribeLaunchTemplates(p, s) {
    const templates = s.ec2.describeLaunchTemplates({ ids: p.list('LaunchTemplateId'), names: p.list('LaunchTemplateName'), filters: p.filters() });
    return { launchTemplates: ec2List(templates.map((t) => renderLaunchTemplate(t, s))) };
  },

  DescribeSubnets(p, s) {
    const subnets = s.ec2.describeSubnets(p.list('SubnetId'), p.filters());
    return {
      subnetSet: ec2List(
        subnets.map((sn) => ({
          subnetId: sn.subnetId,
          subnetArn: `arn:aws:ec2:${s.options.region}:${s.options.accountId}:subnet/${sn.subnetId}`,
          state: 'available',
          ownerId: s.options.accountId,
          vpcId: sn.vpcId,
          cidrBlock: sn.cidrBlock,
          availableIpAddressCount: s.ec2.availableAddressCount,
          availabilityZone: sn.availabilityZone,
          defaultForAz: false,
          mapPublicIpOnLaunch: false,
          tagSet: tagSet(sn.tags),
        })),
      ),
    };
  },
};

function requiredList(p: QueryParams, name: string): string[] {
  const values = p.list(name);
  if (values.length === 0) throw p.missing(`${name}.1`);
  return values;
}
