import { AwsApiError, invalidParameterValue } from './errors.ts';
import { applyFilters, type Filter, type FilterTable } from './filters.ts';
import { gmtStamp, type ModelContext } from './model-context.ts';

/** How long EC2's asynchronous transitions take, in model milliseconds. */
export interface Ec2Timings {
  /** pending → running. */
  readonly bootMs: number;
  /** stopping → stopped. */
  readonly stopMs: number;
  /** shutting-down → terminated. */
  readonly terminateMs: number;
  /** A snapshot completes after `snapshotBaseMs + snapshotPerGibMs × size`. */
  readonly snapshotBaseMs: number;
  readonly snapshotPerGibMs: number;
  /** The outage of a CreateImage without NoReboot. */
  readonly rebootMs: number;
  /** How long a terminated instance still shows in DescribeInstances (about an hour on AWS). */
  readonly terminatedVisibleMs: number;
}

export const DEFAULT_EC2_TIMINGS: Ec2Timings = {
  bootMs: 20_000,
  stopMs: 30_000,
  terminateMs: 30_000,
  snapshotBaseMs: 30_000,
  snapshotPerGibMs: 1_000,
  rebootMs: 60_000,
  terminatedVisibleMs: 3_600_000,
};

/** The network every instance lands in: one VPC with one subnet (10.0.0.0/16 unless configured). */
export interface NetworkSpec {
  readonly cidr: string;
  readonly availabilityZones: readonly string[];
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** EC2's numeric state codes (the low byte of `instanceState.code`). */
export const INSTANCE_STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface InstanceBlockDevice {
  readonly deviceName: string;
  readonly volumeId: string;
  readonly deleteOnTermination: boolean;
  readonly attachTimeMs: number;
}

export interface Instance {
  readonly instanceId: string;
  readonly reservationId: string;
  readonly imageId: string;
  readonly instanceType: string;
  state: InstanceStateName;
  /** Bumped on every state change, so that a stale timer does nothing. */
  transition: number;
  launchTimeMs: number;
  readonly privateIpAddress: string;
  readonly networkInterfaceId: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly securityGroupIds: readonly string[];
  readonly blockDeviceMappings: InstanceBlockDevice[];
  readonly rootDeviceName: string;
  readonly architecture: string;
  readonly amiLaunchIndex: number;
  readonly keyName: string | undefined;
  readonly clientToken: string | undefined;
  stateTransitionReason: string;
  stateReason: { code: string; message: string } | undefined;
  /** When CreateImage (without NoReboot) last rebooted it. */
  lastRebootAtMs: number | undefined;
  readonly tags: Map<string, string>;
}

export interface NetworkInterface {
  readonly networkInterfaceId: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly macAddress: string;
  readonly privateIpAddress: string;
  readonly secondaryPrivateIpAddresses: string[];
  instanceId: string | undefined;
  readonly tags: Map<string, string>;
}

export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted';

export interface Volume {
  readonly volumeId: string;
  readonly size: number;
  readonly snapshotId: string | undefined;
  readonly availabilityZone: string;
  state: VolumeState;
  readonly createTimeMs: number;
  readonly volumeType: string;
  readonly encrypted: boolean;
  attachment: { instanceId: string; device: string; state: 'attached' | 'detached'; attachTimeMs: number; deleteOnTermination: boolean } | undefined;
  readonly tags: Map<string, string>;
}

export interface Snapshot {
  readonly snapshotId: string;
  readonly volumeId: string;
  readonly volumeSize: number;
  readonly description: string;
  state: 'pending' | 'completed' | 'error';
  readonly startTimeMs: number;
  readonly completesAtMs: number;
  readonly ownerId: string;
  readonly ownerAlias: string | undefined;
  readonly encrypted: boolean;
  readonly tags: Map<string, string>;
}

export interface ImageBlockDevice {
  readonly deviceName: string;
  readonly snapshotId: string | undefined;
  readonly volumeSize: number | undefined;
  readonly deleteOnTermination: boolean;
  readonly volumeType: string;
  readonly virtualName: string | undefined;
  readonly noDevice: boolean;
}

export interface Image {
  readonly imageId: string;
  readonly name: string;
  readonly description: string | undefined;
  state: 'pending' | 'available' | 'failed';
  readonly ownerId: string;
  readonly ownerAlias: string | undefined;
  readonly creationDateMs: number;
  readonly architecture: string;
  readonly rootDeviceName: string;
  readonly virtualizationType: string;
  readonly blockDeviceMappings: readonly ImageBlockDevice[];
  readonly isPublic: boolean;
  readonly sourceInstanceId: string | undefined;
  readonly enaSupport: boolean;
  readonly tags: Map<string, string>;
}

export interface LaunchTemplate {
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  readonly createTimeMs: number;
  readonly imageId: string | undefined;
  readonly instanceType: string | undefined;
  readonly securityGroupIds: readonly string[];
  readonly keyName: string | undefined;
  readonly tags: Map<string, string>;
}

export interface Subnet {
  readonly subnetId: string;
  readonly vpcId: string;
  readonly cidrBlock: string;
  readonly availabilityZone: string;
  readonly tags: Map<string, string>;
}

/** A block device mapping as RunInstances / RegisterImage / CreateImage take it. */
export interface BlockDeviceMappingInput {
  readonly deviceName: string;
  readonly snapshotId?: string | undefined;
  readonly volumeSize?: number | undefined;
  readonly deleteOnTermination?: boolean | undefined;
  readonly volumeType?: string | undefined;
  readonly virtualName?: string | undefined;
  readonly noDevice?: boolean | undefined;
}

export interface TagSpecificationInput {
  readonly resourceType: string;
  readonly tags: ReadonlyArray<readonly [string, string]>;
}

export interface RunInstancesInput {
  readonly imageId: string;
  readonly instanceType?: string | undefined;
  readonly minCount: number;
  readonly maxCount: number;
  readonly privateIpAddress?: string | undefined;
  readonly subnetId?: string | undefined;
  readonly securityGroupIds?: readonly string[] | undefined;
  readonly availabilityZone?: string | undefined;
  readonly keyName?: string | undefined;
  readonly clientToken?: string | undefined;
  readonly tagSpecifications?: readonly TagSpecificationInput[] | undefined;
  readonly blockDeviceMappings?: readonly BlockDeviceMappingInput[] | undefined;
  /** Tags that only the service may set (`aws:autoscaling:groupName`). */
  readonly systemTags?: ReadonlyArray<readonly [string, string]> | undefined;
}

export interface Reservation {
  readonly reservationId: string;
  readonly ownerId: string;
  readonly instances: Instance[];
}

export interface InstanceStateChange {
  readonly instanceId: string;
  readonly previousState: InstanceStateName;
  readonly currentState: InstanceStateName;
}

export type InstanceStateListener = (instance: Instance, previous: InstanceStateName) => void;

/** Owners of the images present from the start. */
const CANONICAL_OWNER_ID = '099720109477';

const ID_PATTERNS: Readonly<Record<string, RegExp>> = {
  i: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  vol: /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  snap: /^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  ami: /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  eni: /^eni-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  lt: /^lt-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  subnet: /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
  vpc: /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/,
};

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const MAX_TAGS_PER_RESOURCE = 50;
const MAX_SECONDARY_IPS_PER_ENI = 30;
const ARCHITECTURES = new Set(['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac']);
const AMI_NAME = /^[A-Za-z0-9 ()[\]./\-'@_]{3,128}$/;

/** Dotted quad ↔ 32-bit integer. */
export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (m === null) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** A parsed IPv4 CIDR block. */
export interface Cidr {
  readonly base: number;
  readonly size: number;
}

export function parseCidr(cidr: string): Cidr {
  const [addr, bitsText] = cidr.split('/');
  const base = addr === undefined ? undefined : ipToInt(addr);
  const bits = Number(bitsText);
  if (base === undefined || !Number.isInteger(bits) || bits < 16 || bits > 28) {
    throw new RangeError(`bad subnet CIDR ${cidr} (want a.b.c.d/16 … /28)`);
  }
  const size = 2 ** (32 - bits);
  return { base: base - (base % size), size };
}

/**
 * The EC2 model: instances with their ENIs, EBS volumes, snapshots, images and tags, in one VPC. Asynchronous
 * transitions (boot, stop, terminate, snapshot completion) are callbacks on the shared model clock, so a test
 * moves them by moving its clock. Every operation either fails whole, with the error EC2 gives, or applies whole.
 */
export class Ec2Model {
  readonly instances = new Map<string, Instance>();
  readonly reservations = new Map<string, Reservation>();
  readonly networkInterfaces = new Map<string, NetworkInterface>();
  readonly volumes = new Map<string, Volume>();
  readonly snapshots = new Map<string, Snapshot>();
  readonly images = new Map<string, Image>();
  readonly launchTemplates = new Map<string, LaunchTemplate>();
  readonly vpcId: string;
  readonly subnet: Subnet;
  /** The VPC's default security group, which instances launched without one get. */
  readonly defaultSecurityGroupId: string;
  private readonly cidr: Cidr;
  /** Which ENI holds each private address. */
  private readonly addressOwner = new Map<string, string>();
  private readonly listeners: InstanceStateListener[] = [];
  private readonly reservationByToken = new Map<string, string>();

  constructor(
    private readonly ctx: ModelContext,
    readonly timings: Ec2Timings,
    readonly network: NetworkSpec,
    readonly maxInstances: number,
  ) {
    this.cidr = parseCidr(network.cidr);
    this.vpcId = ctx.ids.next('vpc');
    const az = network.availabilityZones[0];
    if (az === undefined) throw new RangeError('at least one availability zone is needed');
    this.subnet = { subnetId: ctx.ids.next('subnet'), vpcId: this.vpcId, cidrBlock: network.cidr, availabilityZone: az, tags: new Map() };
    this.defaultSecurityGroupId = ctx.ids.next('sg');
    this.seedBaseImage();
  }

  /** Called on every instance state change, after it is applied. */
  onInstanceState(listener: InstanceStateListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The Ubuntu 16.04 image the Services machine of Server 2.x runs, present from the start (as public AMIs are). */
  private seedBaseImage(): void {
    const now = this.ctx.now();
    const snap: Snapshot = {
      snapshotId: this.ctx.ids.next('snap'),
      volumeId: 'vol-ffffffff',
      volumeSize: 8,
      description: '',
      state: 'completed',
      startTimeMs: now,
      completesAtMs: now,
      ownerId: CANONICAL_OWNER_ID,
      ownerAlias: undefined,
      encrypted: false,
      tags: new Map(),
    };
    this.snapshots.set(snap.snapshotId, snap);
    const image: Image = {
      imageId: this.ctx.ids.next('ami'),
      name: 'ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-20200407',
      description: 'Canonical, Ubuntu, 16.04 LTS, amd64 xenial image build on 2020-04-07',
      state: 'available',
      ownerId: CANONICAL_OWNER_ID,
      ownerAlias: undefined,
      creationDateMs: now,
      architecture: 'x86_64',
      rootDeviceName: '/dev/sda1',
      virtualizationType: 'hvm',
      blockDeviceMappings: [
        { deviceName: '/dev/sda1', snapshotId: snap.snapshotId, volumeSize: 8, deleteOnTermination: true, volumeType: 'gp2', virtualName: undefined, noDevice: false },
      ],
      isPublic: true,
      sourceInstanceId: undefined,
      enaSupport: true,
      tags: new Map(),
    };
    this.images.set(image.imageId, image);
  }

  /** The image every fresh model starts with (an Ubuntu 16.04 AMI). */
  get baseImageId(): string {
    const first = this.images.keys().next();
    if (first.done === true) throw new Error('the base image is missing');
    return first.value;
  }

  // ---------------------------------------------------------------- instances

  runInstances(input: RunInstancesInput): Reservation {
    this.ctx.sync();
    // The SDKs send a ClientToken with every RunInstances: a retried request returns the first launch.
    if (input.clientToken !== undefined) {
      const earlier = this.reservationByToken.get(input.clientToken);
      const reservation = earlier === undefined ? undefined : this.reservations.get(earlier);
      if (reservation !== undefined) return reservation;
    }
    if (input.minCount < 1) throw invalidParameterValue(`Invalid value '${input.minCount}' for MinCount. Must be at least 1`);
    if (input.maxCount < input.minCount) {
      throw invalidParameterValue(`Invalid value '${input.maxCount}' for MaxCount. Must be greater than or equal to MinCount (${input.minCount})`);
    }
    const image = this.requireImages([input.imageId])[0]!;
    if (image.state !== 'available') {
      throw new AwsApiError('InvalidAMIID.Unavailable', `The image id '[${image.imageId}]' is not available (state: ${image.state})`);
    }
    const instanceType = input.instanceType ?? 'm1.small';
    if (!INSTANCE_TYPE.test(instanceType)) throw invalidParameterValue(`Invalid value '${instanceType}' for InstanceType.`);
    if (input.subnetId !== undefined && input.subnetId !== this.subnet.subnetId) {
      throw new AwsApiError('InvalidSubnetID.NotFound', `The subnet ID '${input.subnetId}' does not exist`);
    }
    const az = input.availabilityZone ?? this.subnet.availabilityZone;
    if (!this.network.availabilityZones.includes(az)) {
      throw invalidParameterValue(`Invalid availability zone: [${az}]`);
    }
    if (input.privateIpAddress !== undefined) {
      if (input.maxCount > 1) {
        throw new AwsApiError(
          'InvalidParameterCombination',
          'Network interfaces and an instance-level private IP address should not be specified on the same request (or: cannot specify a private IP address when launching more than one instance)',
        );
      }
      this.checkAddressFree(input.privateIpAddress);
    }
    const tagSpecs = input.tagSpecifications ?? [];
    for (const spec of tagSpecs) {
      if (!['instance', 'volume', 'network-interface'].includes(spec.resourceType)) {
        throw invalidParameterValue(`'${spec.resourceType}' is not a valid taggable resource type for this operation.`);
      }
      checkTagKeys(spec.tags.map(([k]) => k));
    }
    const running = [...this.instances.values()].filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').length;
    if (running + input.minCount > this.maxInstances) {
      throw new AwsApiError(
        'InstanceLimitExceeded',
        `You have requested more instances (${running + input.minCount}) than your current instance limit of ${this.maxInstances} allows for the specified instance type.`,
      );
    }
    const count = Math.min(input.maxCount, this.maxInstances - running);
    const devices = mergeBlockDevices(image.blockDeviceMappings, input.blockDeviceMappings ?? []);
    for (const d of devices) {
      if (d.snapshotId !== undefined) this.requireSnapshots([d.snapshotId]);
    }
    const tagsFor = (type: string): [string, string][] => [
      ...tagSpecs.filter((s) => s.resourceType === type).flatMap((s) => s.tags.map(([k, v]) => [k, v] as [string, string])),
      ...(input.systemTags ?? []).map(([k, v]) => [k, v] as [string, string]),
    ];

    const now = this.ctx.now();
    const reservation: Reservation = { reservationId: this.ctx.ids.next('r'), ownerId: this.ctx.accountId, instances: [] };
    for (let index = 0; index < count; index++) {
      const instanceId = this.ctx.ids.next('i');
      const ip = index === 0 && input.privateIpAddress !== undefined ? input.privateIpAddress : this.allocateAddress();
      const eni: NetworkInterface = {
        networkInterfaceId: this.ctx.ids.next('eni'),
        subnetId: this.subnet.subnetId,
        vpcId: this.vpcId,
        availabilityZone: az,
        macAddress: macOf(this.ctx.ids.hex('mac', 10)),
        privateIpAddress: ip,
        secondaryPrivateIpAddresses: [],
        instanceId,
        tags: new Map(tagsFor('network-interface')),
      };
      this.networkInterfaces.set(eni.networkInterfaceId, eni);
      this.addressOwner.set(ip, eni.networkInterfaceId);
      const blockDeviceMappings: InstanceBlockDevice[] = [];
      for (const d of devices) {
        if (d.noDevice || d.virtualName !== undefined) continue;
        const snapshot = d.snapshotId === undefined ? undefined : this.snapshots.get(d.snapshotId);
        const volume: Volume = {
          volumeId: this.ctx.ids.next('vol'),
          size: d.volumeSize ?? snapshot?.volumeSize ?? 8,
          snapshotId: d.snapshotId,
          availabilityZone: az,
          state: 'in-use',
          createTimeMs: now,
          volumeType: d.volumeType,
          encrypted: false,
          attachment: { instanceId, device: d.deviceName, state: 'attached', attachTimeMs: now, deleteOnTermination: d.deleteOnTermination },
          tags: new Map(tagsFor('volume')),
        };
        this.volumes.set(volume.volumeId, volume);
        blockDeviceMappings.push({ deviceName: d.deviceName, volumeId: volume.volumeId, deleteOnTermination: d.deleteOnTermination, attachTimeMs: now });
      }
      const instance: Instance = {
        instanceId,
        reservationId: reservation.reservationId,
        imageId: image.imageId,
        instanceType,
        state: 'pending',
        transition: 0,
        launchTimeMs: now,
        privateIpAddress: ip,
        networkInterfaceId: eni.networkInterfaceId,
        subnetId: this.subnet.subnetId,
        vpcId: this.vpcId,
        availabilityZone: az,
        securityGroupIds: input.securityGroupIds !== undefined && input.securityGroupIds.length > 0 ? [...input.securityGroupIds] : [this.defaultSecurityGroupId],
        blockDeviceMappings,
        rootDeviceName: image.rootDeviceName,
        architecture: image.architecture,
        amiLaunchIndex: index,
        keyName: input.keyName,
        clientToken: input.clientToken,
        stateTransitionReason: '',
        stateReason: undefined,
        lastRebootAtMs: undefined,
        tags: new Map(tagsFor('instance')),
      };
      this.instances.set(instanceId, instance);
      reservation.instances.push(instance);
      this.ctx.emit('instance-state', instanceId, `launched (pending) at ${ip}`);
      this.scheduleTransition(instance, this.timings.bootMs, 'running');
    }
    this.reservations.set(reservation.reservationId, reservation);
    if (input.clientToken !== undefined) this.reservationByToken.set(input.clientToken, reservation.reservationId);
    return reservation;
  }

  /** Instances by id (all must exist) and filters, grouped by reservation in launch order. */
  describeInstances(instanceIds: readonly string[], filters: readonly Filter[]): Reservation[] {
    this.ctx.sync();
    const wanted = instanceIds.length > 0 ? new Set(this.requireInstances(instanceIds).map((i) => i.instanceId)) : undefined;
    const candidates = [...this.instances.values()].filter((i) => wanted === undefined || wanted.has(i.instanceId));
    const matched = new Set(applyFilters(candidates, filters, this.instanceFilters).map((i) => i.instanceId));
    const out: Reservation[] = [];
    for (const r of this.reservations.values()) {
      const instances = r.instances.filter((i) => matched.has(i.instanceId) && this.instances.has(i.instanceId));
      if (instances.length > 0) out.push({ ...r, instances });
    }
    return out;
  }

  terminateInstances(instanceIds: readonly string[]): InstanceStateChange[] {
    this.ctx.sync();
    const instances = this.requireInstances(instanceIds);
    return instances.map((instance) => {
      const previous = instance.state;
      if (previous !== 'terminated' && previous !== 'shutting-down') {
        instance.stateTransitionReason = `User initiated (${gmtStamp(this.ctx.now())})`;
        instance.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
        this.setState(instance, 'shutting-down');
        this.scheduleTransition(instance, this.timings.terminateMs, 'terminated');
      }
      return { instanceId: instance.instanceId, previousState: previous, currentState: instance.state };
    });
  }

  stopInstances(instanceIds: readonly string[]): InstanceStateChange[] {
    this.ctx.sync();
    const instances = this.requireInstances(instanceIds);
    for (const i of instances) {
      if (i.state === 'pending' || i.state === 'shutting-down' || i.state === 'terminated') {
        throw new AwsApiError('IncorrectInstanceState', `This instance '${i.instanceId}' is not in a state from which it can be stopped.`);
      }
    }
    return instances.map((instance) => {
      const previous = instance.state;
      if (previous === 'running') {
        instance.stateTransitionReason = `User initiated (${gmtStamp(this.ctx.now())})`;
        instance.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
        this.setState(instance, 'stopping');
        this.scheduleTransition(instance, this.timings.stopMs, 'stopped');
      }
      return { instanceId: instance.instanceId, previousState: previous, currentState: instance.state };
    });
  }

  startInstances(instanceIds: readonly string[]): InstanceStateChange[] {
    this.ctx.sync();
    const instances = this.requireInstances(instanceIds);
    for (const i of instances) {
      if (i.state === 'stopping' || i.state === 'shutting-down' || i.state === 'terminated') {
        throw new AwsApiError('IncorrectInstanceState', `The instance '${i.instanceId}' is not in a state from which it can be started.`);
      }
    }
    return instances.map((instance) => {
      const previous = instance.state;
      if (previous === 'stopped') {
        instance.stateTransitionReason = '';
        instance.stateReason = undefined;
        instance.launchTimeMs = this.ctx.now();
        this.setState(instance, 'pending');
        this.scheduleTransition(instance, this.timings.bootMs, 'running');
      }
      return { instanceId: instance.instanceId, previousState: previous, currentState: instance.state };
    });
  }

  private setState(instance: Instance, next: InstanceStateName): void {
    const previous = instance.state;
    instance.state = next;
    instance.transition++;
    if (next === 'terminated') this.onTerminated(instance);
    this.ctx.emit('instance-state', instance.instanceId, `${previous} -> ${next}`);
    for (const l of this.listeners) l(instance, previous);
  }

  private scheduleTransition(instance: Instance, delayMs: number, next: InstanceStateName): void {
    const expected = instance.transition;
    this.ctx.after(delayMs, () => {
      if (instance.transition === expected) this.setState(instance, next);
    });
  }

  /** Releases what a terminated instance held: its addresses, its ENI, the volumes marked delete-on-termination. */
  private onTerminated(instance: Instance): void {
    const eni = this.networkInterfaces.get(instance.networkInterfaceId);
    if (eni !== undefined) {
      for (const ip of [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses]) {
        if (this.addressOwner.get(ip) === eni.networkInterfaceId) this.addressOwner.delete(ip);
      }
      this.networkInterfaces.delete(eni.networkInterfaceId);
    }
    for (const d of instance.blockDeviceMappings) {
      const v = this.volumes.get(d.volumeId);
      if (v === undefined) continue;
      if (v.attachment?.deleteOnTermination === true) {
        v.state = 'deleted';
        this.volumes.delete(v.volumeId);
      } else {
        v.attachment = undefined;
        v.state = 'available';
      }
    }
    const expected = instance.transition;
    this.ctx.after(this.timings.terminatedVisibleMs, () => {
      if (instance.transition === expected) this.instances.delete(instance.instanceId);
    });
  }

  // ---------------------------------------------------------------- addresses

  private checkAddressFree(ip: string): void {
    const n = this.checkAddressInSubnet(ip);
    if (this.addressOwner.has(intToIp(n))) throw new AwsApiError('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
  }

  private checkAddressInSubnet(ip: string): number {
    const n = ipToInt(ip);
    if (n === undefined) throw invalidParameterValue(`Invalid value '${ip}' for IP address. The IP address is malformed.`);
    const offset = n - this.cidr.base;
    if (offset < 0 || offset >= this.cidr.size) {
      throw invalidParameterValue(`Address ${ip} does not fall within the subnet's address range`);
    }
    // AWS keeps the first four addresses and the last one of every subnet.
    if (offset < 4 || offset === this.cidr.size - 1) {
      throw invalidParameterValue(`Address ${ip} is reserved by AWS and cannot be assigned`);
    }
    return n;
  }

  /** A free address of the subnet, drawn from the seeded stream (bounded tries, then a scan). */
  private allocateAddress(): string {
    const usable = this.cidr.size - 5;
    for (let attempt = 0; attempt < 64; attempt++) {
      const ip = intToIp(this.cidr.base + 4 + this.ctx.ids.int('private-ip', usable));
      if (!this.addressOwner.has(ip)) return ip;
    }
    for (let offset = 4; offset < this.cidr.size - 1; offset++) {
      const ip = intToIp(this.cidr.base + offset);
      if (!this.addressOwner.has(ip)) return ip;
    }
    throw new AwsApiError('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${this.subnet.subnetId}' to satisfy the requested number of instances.`);
  }

  /**
   * Adds secondary addresses to an ENI. With `allowReassignment`, an address held as a secondary address by
   * another ENI moves here (the failover move of the Services box's address); a primary address never moves.
   */
  assignPrivateIpAddresses(input: {
    networkInterfaceId: string;
    privateIpAddresses: readonly string[];
    secondaryPrivateIpAddressCount?: number | undefined;
    allowReassignment: boolean;
  }): { networkInterfaceId: string; assigned: string[] } {
    this.ctx.sync();
    const eni = this.requireNetworkInterface(input.networkInterfaceId);
    const count = input.secondaryPrivateIpAddressCount;
    if (input.privateIpAddresses.length > 0 && count !== undefined) {
      throw new AwsApiError('InvalidParameterCombination', 'Specify either PrivateIpAddress or SecondaryPrivateIpAddressCount, not both.');
    }
    if (input.privateIpAddresses.length === 0 && (count === undefined || count < 1)) {
      throw new AwsApiError('MissingParameter', 'Either PrivateIpAddress or SecondaryPrivateIpAddressCount must be specified.');
    }
    const wanted = input.privateIpAddresses.length + (count ?? 0);
    if (eni.secondaryPrivateIpAddresses.length + wanted > MAX_SECONDARY_IPS_PER_ENI) {
      throw new AwsApiError(
        'PrivateIpAddressLimitExceeded',
        `Number of private addresses will exceed limit (${MAX_SECONDARY_IPS_PER_ENI}) for network interface ${eni.networkInterfaceId}.`,
      );
    }
    // Check everything before changing anything.
    const moves: { ip: string; from: NetworkInterface | undefined }[] = [];
    for (const ip of input.privateIpAddresses) {
      const canonical = intToIp(this.checkAddressInSubnet(ip));
      const ownerId = this.addressOwner.get(canonical);
      if (ownerId === eni.networkInterfaceId) continue;
      const owner = ownerId === undefined ? undefined : this.networkInterfaces.get(ownerId);
      if (owner !== undefined) {
        if (owner.privateIpAddress === canonical) {
          throw invalidParameterValue(`Address ${canonical} is the primary private IP address of ${owner.networkInterfaceId} and cannot be reassigned.`);
        }
        if (!input.allowReassignment) {
          throw new AwsApiError('PrivateIpAddressInUse', `Some of the specified addresses are already assigned to ENI '${owner.networkInterfaceId}'.`);
        }
      }
      moves.push({ ip: canonical, from: owner });
    }
    const assigned: string[] = [];
    for (const { ip, from } of moves) {
      if (from !== undefined) {
        const idx = from.secondaryPrivateIpAddresses.indexOf(ip);
        if (idx >= 0) from.secondaryPrivateIpAddresses.splice(idx, 1);
        this.ctx.emit('private-ip-moved', eni.networkInterfaceId, `${ip} from ${from.networkInterfaceId} (${from.instanceId ?? 'detached'}) to ${eni.networkInterfaceId} (${eni.instanceId ?? 'detached'})`);
      }
      this.addressOwner.set(ip, eni.networkInterfaceId);
      eni.secondaryPrivateIpAddresses.push(ip);
      assigned.push(ip);
    }
    for (let i = 0; i < (count ?? 0); i++) {
      const ip = this.allocateAddress();
      this.addressOwner.set(ip, eni.networkInterfaceId);
      eni.secondaryPrivateIpAddresses.push(ip);
      assigned.push(ip);
    }
    return { networkInterfaceId: eni.networkInterfaceId, assigned };
  }

  unassignPrivateIpAddresses(networkInterfaceId: string, privateIpAddresses: readonly string[]): void {
    this.ctx.sync();
    const eni = this.requireNetworkInterface(networkInterfaceId);
    for (const ip of privateIpAddresses) {
      if (!eni.secondaryPrivateIpAddresses.includes(ip)) {
        throw new AwsApiError('InvalidParameterValue', `Some of the specified addresses are not assigned to interface ${networkInterfaceId}`);
      }
    }
    for (const ip of privateIpAddresses) {
      eni.secondaryPrivateIpAddresses.splice(eni.secondaryPrivateIpAddresses.indexOf(ip), 1);
      this.addressOwner.delete(ip);
    }
  }

  // ---------------------------------------------------------------- volumes, snapshots, images

  describeVolumes(volumeIds: readonly string[], filters: readonly Filter[]): Volume[] {
    this.ctx.sync();
    const base = volumeIds.length > 0 ? this.requireVolumes(volumeIds) : [...this.volumes.values()];
    return applyFilters(base, filters, VOLUME_FILTERS);
  }

  createSnapshot(input: { volumeId: string; description?: string | undefined; tags?: ReadonlyArray<readonly [string, string]> | undefined }): Snapshot {
    this.ctx.sync();
    const volume = this.requireVolumes([input.volumeId])[0]!;
    if (input.tags !== undefined) checkTagKeys(input.tags.map(([k]) => k));
    return this.snapshotVolume(volume, input.description ?? '', input.tags ?? []);
  }

  private snapshotVolume(volume: Volume, description: string, tags: ReadonlyArray<readonly [string, string]>): Snapshot {
    const now = this.ctx.now();
    const durationMs = this.timings.snapshotBaseMs + this.timings.snapshotPerGibMs * volume.size;
    const snapshot: Snapshot = {
      snapshotId: this.ctx.ids.next('snap'),
      volumeId: volume.volumeId,
      volumeSize: volume.size,
      description,
      state: 'pending',
      startTimeMs: now,
      completesAtMs: now + durationMs,
      ownerId: this.ctx.accountId,
      ownerAlias: undefined,
      encrypted: volume.encrypted,
      tags: new Map(tags.map(([k, v]) => [k, v])),
    };
    this.snapshots.set(snapshot.snapshotId, snapshot);
    this.ctx.emit('snapshot-created', snapshot.snapshotId, `of ${volume.volumeId} (${volume.size} GiB, attached to ${volume.attachment?.instanceId ?? 'nothing'})`);
    this.ctx.after(durationMs, () => {
      if (snapshot.state !== 'pending') return;
      snapshot.state = 'completed';
      this.ctx.emit('snapshot-completed', snapshot.snapshotId, `of ${volume.volumeId}`);
      this.settleImages();
    });
    return snapshot;
  }

  /** `NN%` while pending, as EC2 reports it. */
  snapshotProgress(snapshot: Snapshot): string {
    if (snapshot.state === 'completed') return '100%';
    const total = snapshot.completesAtMs - snapshot.startTimeMs;
    const done = total <= 0 ? 99 : Math.floor(((this.ctx.now() - snapshot.startTimeMs) / total) * 100);
    return `${Math.max(0, Math.min(99, done))}%`;
  }

  describeSnapshots(input: { snapshotIds: readonly string[]; ownerIds: readonly string[]; filters: readonly Filter[] }): Snapshot[] {
    this.ctx.sync();
    const base =
      input.snapshotIds.length > 0
        ? this.requireSnapshots(input.snapshotIds)
        : [...this.snapshots.values()].filter((s) => s.ownerId === this.ctx.accountId);
    const owned = input.ownerIds.length === 0 ? base : base.filter((s) => this.ownedBy(s.ownerId, s.ownerAlias, input.ownerIds));
    return applyFilters(owned, input.filters, this.snapshotFilters);
  }

  deleteSnapshot(snapshotId: string): void {
    this.ctx.sync();
    const snapshot = this.requireSnapshots([snapshotId])[0]!;
    if (snapshot.ownerId !== this.ctx.accountId) {
      throw new AwsApiError('UnauthorizedOperation', `You are not authorized to delete snapshot ${snapshotId}.`);
    }
    for (const image of this.images.values()) {
      if (image.blockDeviceMappings.some((d) => d.snapshotId === snapshotId)) {
        throw new AwsApiError('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${image.imageId}`);
      }
    }
    this.snapshots.delete(snapshotId);
  }

  registerImage(input: {
    name: string;
    description?: string | undefined;
    architecture?: string | undefined;
    rootDeviceName?: string | undefined;
    virtualizationType?: string | undefined;
    enaSupport?: boolean | undefined;
    blockDeviceMappings: readonly BlockDeviceMappingInput[];
    tags?: ReadonlyArray<readonly [string, string]> | undefined;
  }): Image {
    this.ctx.sync();
    this.checkImageName(input.name);
    const architecture = input.architecture ?? 'x86_64';
    if (!ARCHITECTURES.has(architecture)) throw invalidParameterValue(`Value (${architecture}) for parameter architecture is invalid.`);
    const rootDeviceName = input.rootDeviceName ?? '/dev/sda1';
    const root = input.blockDeviceMappings.find((d) => d.deviceName === rootDeviceName);
    if (root === undefined || root.snapshotId === undefined) {
      throw new AwsApiError('InvalidBlockDeviceMapping', `The device '${rootDeviceName}' is the root device name but has no EBS snapshot mapped to it`);
    }
    const devices = this.imageDevices(input.blockDeviceMappings);
    if (input.tags !== undefined) checkTagKeys(input.tags.map(([k]) => k));
    return this.addImage({
      name: input.name,
      description: input.description,
      architecture,
      rootDeviceName,
      virtualizationType: input.virtualizationType ?? 'hvm',
      enaSupport: input.enaSupport ?? false,
      blockDeviceMappings: devices,
      sourceInstanceId: undefined,
      tags: input.tags ?? [],
      imageId: this.ctx.ids.next('ami'),
    });
  }

  private imageDevices(mappings: readonly BlockDeviceMappingInput[]): ImageBlockDevice[] {
    const devices: ImageBlockDevice[] = [];
    for (const d of mappings) {
      let size = d.volumeSize;
      if (d.snapshotId !== undefined) {
        const snap = this.requireSnapshots([d.snapshotId])[0]!;
        if (size !== undefined && size < snap.volumeSize) {
          throw new AwsApiError('InvalidBlockDeviceMapping', `Volume of size ${size}GB is smaller than snapshot '${snap.snapshotId}', expect size >= ${snap.volumeSize}GB`);
        }
        size ??= snap.volumeSize;
      }
      devices.push({
        deviceName: d.deviceName,
        snapshotId: d.snapshotId,
        volumeSize: size,
        deleteOnTermination: d.deleteOnTermination ?? true,
        volumeType: d.volumeType ?? 'gp2',
        virtualName: d.virtualName,
        noDevice: d.noDevice ?? false,
      });
    }
    return devices;
  }

  /**
   * Images the instance's attached volumes. Without `noReboot` the instance is rebooted for a consistent
   * snapshot (it stays `running`; the reboot is an event the harness can watch).
   */
  createImage(input: {
    instanceId: string;
    name: string;
    description?: string | undefined;
    noReboot: boolean;
    tags?: ReadonlyArray<readonly [string, string]> | undefined;
  }): Image {
    this.ctx.sync();
    const instance = this.requireInstances([input.instanceId])[0]!;
    if (instance.state !== 'running' && instance.state !== 'stopped') {
      throw new AwsApiError('IncorrectInstanceState', `The instance '${instance.instanceId}' is not in a state from which it can be imaged (${instance.state}).`);
    }
    this.checkImageName(input.name);
    if (input.tags !== undefined) checkTagKeys(input.tags.map(([k]) => k));
    const imageId = this.ctx.ids.next('ami');
    if (!input.noReboot && instance.state === 'running') {
      instance.lastRebootAtMs = this.ctx.now();
      this.ctx.emit('instance-rebooted', instance.instanceId, `for CreateImage ${imageId}, down for ${this.timings.rebootMs} ms`);
    }
    const devices: ImageBlockDevice[] = [];
    for (const d of instance.blockDeviceMappings) {
      const volume = this.volumes.get(d.volumeId);
      if (volume === undefined) continue;
      const snap = this.snapshotVolume(volume, `Created by CreateImage(${instance.instanceId}) for ${imageId} from ${volume.volumeId}`, []);
      devices.push({
        deviceName: d.deviceName,
        snapshotId: snap.snapshotId,
        volumeSize: volume.size,
        deleteOnTermination: d.deleteOnTermination,
        volumeType: volume.volumeType,
        virtualName: undefined,
        noDevice: false,
      });
    }
    return this.addImage({
      imageId,
      name: input.name,
      description: input.description,
      architecture: instance.architecture,
      rootDeviceName: instance.rootDeviceName,
      virtualizationType: 'hvm',
      enaSupport: true,
      blockDeviceMappings: devices,
      sourceInstanceId: instance.instanceId,
      tags: input.tags ?? [],
    });
  }

  private addImage(spec: Omit<Image, 'state' | 'ownerId' | 'ownerAlias' | 'creationDateMs' | 'isPublic' | 'tags'> & { tags: ReadonlyArray<readonly [string, string]> }): Image {
    const image: Image = {
      ...spec,
      state: 'pending',
      ownerId: this.ctx.accountId,
      ownerAlias: undefined,
      creationDateMs: this.ctx.now(),
      isPublic: false,
      tags: new Map(spec.tags.map(([k, v]) => [k, v])),
    };
    this.images.set(image.imageId, image);
    this.settleImages();
    return image;
  }

  /** A pending image becomes available once every snapshot it maps has completed. */
  private settleImages(): void {
    for (const image of this.images.values()) {
      if (image.state !== 'pending') continue;
      const ready = image.blockDeviceMappings.every((d) => d.snapshotId === undefined || this.snapshots.get(d.snapshotId)?.state === 'completed');
      if (ready) {
        image.state = 'available';
        this.ctx.emit('image-available', image.imageId, image.name);
      }
    }
  }

  private checkImageName(name: string): void {
    if (!AMI_NAME.test(name)) {
      throw new AwsApiError(
        'InvalidAMIName.Malformed',
        `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, spaces, '(', ')', '[', ']', '.', '/', '-', ''', '@' and '_'`,
      );
    }
    for (const image of this.images.values()) {
      if (image.ownerId === this.ctx.accountId && image.name === name) {
        throw new AwsApiError('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${image.imageId}`);
      }
    }
  }

  describeImages(input: { imageIds: readonly string[]; owners: readonly string[]; filters: readonly Filter[] }): Image[] {
    this.ctx.sync();
    const base = input.imageIds.length > 0 ? this.requireImages(input.imageIds) : [...this.images.values()];
    const owned = input.owners.length === 0 ? base : base.filter((i) => this.ownedBy(i.ownerId, i.ownerAlias, input.owners));
    return applyFilters(owned, input.filters, IMAGE_FILTERS);
  }

  deregisterImage(imageId: string): void {
    this.ctx.sync();
    const image = this.requireImages([imageId])[0]!;
    if (image.ownerId !== this.ctx.accountId) {
      throw new AwsApiError('UnauthorizedOperation', `You are not authorized to deregister ${imageId}.`);
    }
    this.images.delete(imageId);
  }

  private ownedBy(ownerId: string, ownerAlias: string | undefined, owners: readonly string[]): boolean {
    return owners.some((o) => (o === 'self' ? ownerId === this.ctx.accountId : o === ownerId || o === ownerAlias));
  }

  // ---------------------------------------------------------------- launch templates, subnets

  createLaunchTemplate(input: {
    name: string;
    imageId?: string | undefined;
    instanceType?: string | undefined;
    securityGroupIds?: readonly string[] | undefined;
    keyName?: string | undefined;
    tags?: ReadonlyArray<readonly [string, string]> | undefined;
  }): LaunchTemplate {
    this.ctx.sync();
    if (!/^[a-zA-Z0-9().\-/_]{3,128}$/.test(input.name)) {
      throw invalidParameterValue(`Launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.'`);
    }
    for (const t of this.launchTemplates.values()) {
      if (t.launchTemplateName === input.name) {
        throw new AwsApiError('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`);
      }
    }
    if (input.imageId !== undefined) this.requireImages([input.imageId]);
    const template: LaunchTemplate = {
      launchTemplateId: this.ctx.ids.next('lt'),
      launchTemplateName: input.name,
      createTimeMs: this.ctx.now(),
      imageId: input.imageId,
      instanceType: input.instanceType,
      securityGroupIds: [...(input.securityGroupIds ?? [])],
      keyName: input.keyName,
      tags: new Map(input.tags ?? []),
    };
    this.launchTemplates.set(template.launchTemplateId, template);
    return template;
  }

  /** A launch template by id or name; `undefined` when there is none. */
  findLaunchTemplate(idOrName: { id?: string | undefined; name?: string | undefined }): LaunchTemplate | undefined {
    if (idOrName.id !== undefined) return this.launchTemplates.get(idOrName.id);
    for (const t of this.launchTemplates.values()) if (t.launchTemplateName === idOrName.name) return t;
    return undefined;
  }

  describeLaunchTemplates(input: { ids: readonly string[]; names: readonly string[]; filters: readonly Filter[] }): LaunchTemplate[] {
    this.ctx.sync();
    let base = [...this.launchTemplates.values()];
    if (input.ids.length > 0) {
      const missing = input.ids.filter((id) => !this.launchTemplates.has(id));
      if (missing.length > 0) {
        throw new AwsApiError('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${missing[0]}, does not exist.`);
      }
      base = base.filter((t) => input.ids.includes(t.launchTemplateId));
    }
    if (input.names.length > 0) {
      if (input.names.some((n) => !base.some((t) => t.launchTemplateName === n))) {
        throw new AwsApiError('InvalidLaunchTemplateName.NotFoundException', 'At least one of the launch templates specified in the request does not exist.');
      }
      base = base.filter((t) => input.names.includes(t.launchTemplateName));
    }
    return applyFilters(base, input.filters, LAUNCH_TEMPLATE_FILTERS);
  }

  describeSubnets(subnetIds: readonly string[], filters: readonly Filter[]): Subnet[] {
    this.ctx.sync();
    for (const id of subnetIds) {
      if (id !== this.subnet.subnetId) throw new AwsApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    }
    return applyFilters([this.subnet], filters, SUBNET_FILTERS);
  }

  /** Free addresses left in the subnet (DescribeSubnets' availableIpAddressCount). */
  get availableAddressCount(): number {
    return this.cidr.size - 5 - this.addressOwner.size;
  }

  // ---------------------------------------------------------------- tags

  private taggable(resourceId: string): { tags: Map<string, string>; type: string } {
    const prefix = resourceId.split('-')[0] ?? '';
    const pattern = ID_PATTERNS[prefix];
    if (pattern === undefined || !pattern.test(resourceId)) throw new AwsApiError('InvalidID', `The ID '${resourceId}' is not valid`);
    const found = this.lookupTaggable(prefix, resourceId);
    if (found === undefined) throw notFound(prefix, resourceId);
    return found;
  }

  private lookupTaggable(prefix: string, id: string): { tags: Map<string, string>; type: string } | undefined {
    const withType = (r: { tags: Map<string, string> } | undefined, type: string) => (r === undefined ? undefined : { tags: r.tags, type });
    switch (prefix) {
      case 'i':
        return withType(this.instances.get(id), 'instance');
      case 'vol':
        return withType(this.volumes.get(id), 'volume');
      case 'snap':
        return withType(this.snapshots.get(id), 'snapshot');
      case 'ami':
        return withType(this.images.get(id), 'image');
      case 'eni':
        return withType(this.networkInterfaces.get(id), 'network-interface');
      case 'lt':
        return withType(this.launchTemplates.get(id), 'launch-template');
      case 'subnet':
        return id === this.subnet.subnetId ? { tags: this.subnet.tags, type: 'subnet' } : undefined;
      default:
        return undefined;
    }
  }

  createTags(resourceIds: readonly string[], tags: ReadonlyArray<readonly [string, string]>): void {
    this.ctx.sync();
    checkTagKeys(tags.map(([k]) => k));
    const targets = resourceIds.map((id) => this.taggable(id));
    for (const t of targets) {
      const keys = new Set([...t.tags.keys(), ...tags.map(([k]) => k)]);
      if (keys.size > MAX_TAGS_PER_RESOURCE) {
        throw new AwsApiError('TagLimitExceeded', `The maximum number of Tags for a resource has been reached (${MAX_TAGS_PER_RESOURCE}).`);
      }
    }
    for (const t of targets) for (const [k, v] of tags) t.tags.set(k, v);
  }

  /** Removes tags by key; a tag given with a value is removed only when the value matches. */
  deleteTags(resourceIds: readonly string[], tags: ReadonlyArray<{ key: string; value: string | undefined }>): void {
    this.ctx.sync();
    checkTagKeys(tags.map((t) => t.key));
    const targets = resourceIds.map((id) => this.taggable(id));
    for (const t of targets) {
      if (tags.length === 0) {
        for (const k of [...t.tags.keys()]) if (!k.startsWith('aws:')) t.tags.delete(k);
        continue;
      }
      for (const { key, value } of tags) if (value === undefined || t.tags.get(key) === value) t.tags.delete(key);
    }
  }

  describeTags(filters: readonly Filter[]): { resourceId: string; resourceType: string; key: string; value: string }[] {
    this.ctx.sync();
    const rows: { resourceId: string; resourceType: string; key: string; value: string }[] = [];
    const add = (resourceId: string, resourceType: string, tags: Map<string, string>) => {
      for (const [key, value] of [...tags].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) rows.push({ resourceId, resourceType, key, value });
    };
    for (const i of this.instances.values()) add(i.instanceId, 'instance', i.tags);
    for (const v of this.volumes.values()) add(v.volumeId, 'volume', v.tags);
    for (const s of this.snapshots.values()) if (s.ownerId === this.ctx.accountId) add(s.snapshotId, 'snapshot', s.tags);
    for (const im of this.images.values()) if (im.ownerId === this.ctx.accountId) add(im.imageId, 'image', im.tags);
    for (const e of this.networkInterfaces.values()) add(e.networkInterfaceId, 'network-interface', e.tags);
    for (const t of this.launchTemplates.values()) add(t.launchTemplateId, 'launch-template', t.tags);
    add(this.subnet.subnetId, 'subnet', this.subnet.tags);
    return applyFilters(rows, filters, TAG_FILTERS);
  }

  // ---------------------------------------------------------------- lookups

  requireInstances(ids: readonly string[]): Instance[] {
    return requireAll(ids, 'i', this.instances, (missing) =>
      missing.length === 1
        ? new AwsApiError('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`)
        : new AwsApiError('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`),
    );
  }

  requireVolumes(ids: readonly string[]): Volume[] {
    return requireAll(ids, 'vol', this.volumes, (missing) =>
      new AwsApiError('InvalidVolume.NotFound', missing.length === 1 ? `The volume '${missing[0]}' does not exist.` : `The volumes '${missing.join(', ')}' do not exist.`),
    );
  }

  requireSnapshots(ids: readonly string[]): Snapshot[] {
    return requireAll(ids, 'snap', this.snapshots, (missing) =>
      new AwsApiError('InvalidSnapshot.NotFound', missing.length === 1 ? `The snapshot '${missing[0]}' does not exist.` : `The snapshots '${missing.join(', ')}' do not exist.`),
    );
  }

  requireImages(ids: readonly string[]): Image[] {
    return requireAll(ids, 'ami', this.images, (missing) => new AwsApiError('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`));
  }

  requireNetworkInterface(id: string): NetworkInterface {
    return requireAll([id], 'eni', this.networkInterfaces, (missing) =>
      new AwsApiError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${missing[0]}' does not exist`),
    )[0]!;
  }

  // ---------------------------------------------------------------- filter tables

  readonly instanceFilters: FilterTable<Instance> = {
    resource: 'instance',
    tags: (i) => i.tags,
    fields: {
      'instance-id': (i) => i.instanceId,
      'instance-state-name': (i) => i.state,
      'instance-state-code': (i) => String(INSTANCE_STATE_CODES[i.state]),
      'instance-type': (i) => i.instanceType,
      'image-id': (i) => i.imageId,
      'private-ip-address': (i) => (i.state === 'terminated' ? undefined : i.privateIpAddress),
      'private-dns-name': (i) => privateDnsName(i.privateIpAddress, this.ctx.region),
      'network-interface.addresses.private-ip-address': (i) => {
        const eni = this.networkInterfaces.get(i.networkInterfaceId);
        return eni === undefined ? [] : [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses];
      },
      'network-interface.network-interface-id': (i) => i.networkInterfaceId,
      'subnet-id': (i) => i.subnetId,
      'vpc-id': (i) => i.vpcId,
      'availability-zone': (i) => i.availabilityZone,
      'reservation-id': (i) => i.reservationId,
      'key-name': (i) => i.keyName,
      'launch-index': (i) => String(i.amiLaunchIndex),
      'architecture': (i) => i.architecture,
      'root-device-name': (i) => i.rootDeviceName,
      'root-device-type': () => 'ebs',
      'instance.group-id': (i) => i.securityGroupIds,
      'block-device-mapping.volume-id': (i) => i.blockDeviceMappings.map((d) => d.volumeId),
      'block-device-mapping.device-name': (i) => i.blockDeviceMappings.map((d) => d.deviceName),
      'owner-id': () => this.ctx.accountId,
    },
  };

  private readonly snapshotFilters: FilterTable<Snapshot> = {
    resource: 'snapshot',
    tags: (s) => s.tags,
    fields: {
      description: (s) => s.description,
      'snapshot-id': (s) => s.snapshotId,
      'volume-id': (s) => s.volumeId,
      'volume-size': (s) => String(s.volumeSize),
      status: (s) => s.state,
      'owner-id': (s) => s.ownerId,
      'owner-alias': (s) => s.ownerAlias,
      progress: (s) => this.snapshotProgress(s),
      'start-time': (s) => new Date(s.startTimeMs).toISOString(),
      encrypted: (s) => String(s.encrypted),
    },
  };
}

const VOLUME_FILTERS: FilterTable<Volume> = {
  resource: 'volume',
  tags: (v) => v.tags,
  fields: {
    'volume-id': (v) => v.volumeId,
    status: (v) => v.state,
    size: (v) => String(v.size),
    'snapshot-id': (v) => v.snapshotId,
    'availability-zone': (v) => v.availabilityZone,
    'volume-type': (v) => v.volumeType,
    encrypted: (v) => String(v.encrypted),
    'attachment.instance-id': (v) => v.attachment?.instanceId,
    'attachment.device': (v) => v.attachment?.device,
    'attachment.status': (v) => v.attachment?.state,
    'attachment.delete-on-termination': (v) => (v.attachment === undefined ? undefined : String(v.attachment.deleteOnTermination)),
    'create-time': (v) => new Date(v.createTimeMs).toISOString(),
  },
};

const IMAGE_FILTERS: FilterTable<Image> = {
  resource: 'image',
  tags: (i) => i.tags,
  fields: {
    'image-id': (i) => i.imageId,
    name: (i) => i.name,
    description: (i) => i.description,
    state: (i) => i.state,
    architecture: (i) => i.architecture,
    'owner-id': (i) => i.ownerId,
    'owner-alias': (i) => i.ownerAlias,
    'is-public': (i) => String(i.isPublic),
    'image-type': () => 'machine',
    'root-device-name': (i) => i.rootDeviceName,
    'root-device-type': () => 'ebs',
    'virtualization-type': (i) => i.virtualizationType,
    'block-device-mapping.snapshot-id': (i) => i.blockDeviceMappings.flatMap((d) => (d.snapshotId === undefined ? [] : [d.snapshotId])),
    'block-device-mapping.device-name': (i) => i.blockDeviceMappings.map((d) => d.deviceName),
    'source-instance-id': (i) => i.sourceInstanceId,
  },
};

const TAG_FILTERS: FilterTable<{ resourceId: string; resourceType: string; key: string; value: string }> = {
  resource: 'tag',
  fields: {
    key: (t) => t.key,
    value: (t) => t.value,
    'resource-id': (t) => t.resourceId,
    'resource-type': (t) => t.resourceType,
  },
};

const LAUNCH_TEMPLATE_FILTERS: FilterTable<LaunchTemplate> = {
  resource: 'launch-template',
  tags: (t) => t.tags,
  fields: {
    'launch-template-name': (t) => t.launchTemplateName,
    'create-time': (t) => new Date(t.createTimeMs).toISOString(),
  },
};

const SUBNET_FILTERS: FilterTable<Subnet> = {
  resource: 'subnet',
  tags: (s) => s.tags,
  fields: {
    'subnet-id': (s) => s.subnetId,
    'vpc-id': (s) => s.vpcId,
    'cidr-block': (s) => s.cidrBlock,
    'availability-zone': (s) => s.availabilityZone,
    state: () => 'available',
  },
};

/** `ip-10-0-1-23.ec2.internal` (us-east-1) or `ip-10-0-1-23.<region>.compute.internal`. */
export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

function macOf(hex: string): string {
  // A locally administered unicast address, as AWS hands out (0x02 first octet).
  const h = `02${hex}`.slice(0, 12);
  return h.match(/../g)!.join(':');
}

function checkTagKeys(keys: readonly string[]): void {
  for (const k of keys) {
    if (k.length === 0 || k.length > 128) throw invalidParameterValue(`Tag key must be between 1 and 128 characters: '${k}'`);
    if (k.toLowerCase().startsWith('aws:')) {
      throw invalidParameterValue(`Tag keys starting with 'aws:' are reserved for internal use`);
    }
  }
}

function notFound(prefix: string, id: string): AwsApiError {
  switch (prefix) {
    case 'i':
      return new AwsApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    case 'vol':
      return new AwsApiError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    case 'snap':
      return new AwsApiError('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
    case 'ami':
      return new AwsApiError('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
    case 'eni':
      return new AwsApiError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
    case 'lt':
      return new AwsApiError('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`);
    case 'subnet':
      return new AwsApiError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
    default:
      return new AwsApiError('InvalidID', `The ID '${id}' is not valid`);
  }
}

function malformed(prefix: string, id: string): AwsApiError {
  switch (prefix) {
    case 'i':
      return new AwsApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
    case 'ami':
      return new AwsApiError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
    case 'eni':
      return new AwsApiError('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
    case 'vol':
      return invalidParameterValue(`Value (${id}) for parameter volumes is invalid. Expected: 'vol-...'.`);
    case 'snap':
      return invalidParameterValue(`Value (${id}) for parameter snapshotId is invalid. Expected: 'snap-...'.`);
    default:
      return new AwsApiError('InvalidID', `The ID '${id}' is not valid`);
  }
}

/** Every id well-formed and present, or the first malformed one / all missing ones in one error, as EC2 reports. */
function requireAll<T>(ids: readonly string[], prefix: string, map: ReadonlyMap<string, T>, missingError: (missing: string[]) => AwsApiError): T[] {
  const pattern = ID_PATTERNS[prefix]!;
  for (const id of ids) if (!pattern.test(id)) throw malformed(prefix, id);
  const missing = ids.filter((id) => !map.has(id));
  if (missing.length > 0) throw missingError([...new Set(missing)]);
  return [...new Set(ids)].map((id) => map.get(id)!);
}

/** The image's mappings with RunInstances' overrides applied by device name. */
function mergeBlockDevices(image: readonly ImageBlockDevice[], overrides: readonly BlockDeviceMappingInput[]): ImageBlockDevice[] {
  const byDevice = new Map<string, ImageBlockDevice>(image.map((d) => [d.deviceName, d]));
  for (const o of overrides) {
    const base = byDevice.get(o.deviceName);
    byDevice.set(o.deviceName, {
      deviceName: o.deviceName,
      snapshotId: o.snapshotId ?? base?.snapshotId,
      volumeSize: o.volumeSize ?? base?.volumeSize,
      deleteOnTermination: o.deleteOnTermination ?? base?.deleteOnTermination ?? true,
      volumeType: o.volumeType ?? base?.volumeType ?? 'gp2',
      virtualName: o.virtualName,
      noDevice: o.noDevice ?? false,
    });
  }
  return [...byDevice.values()];
}
