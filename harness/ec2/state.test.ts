import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { DEFAULT_EC2_TIMINGS, type Instance } from './ec2-model.ts';
import { Ec2State } from './state.ts';

const T = DEFAULT_EC2_TIMINGS;

function setup(seed = 1) {
  const clock = new ManualClock();
  const state = new Ec2State({ clock, seed });
  const ami = state.ec2.baseImageId;
  const run = (extra: Partial<Parameters<typeof state.ec2.runInstances>[0]> = {}): Instance =>
    state.ec2.runInstances({ imageId: ami, minCount: 1, maxCount: 1, ...extra }).instances[0]!;
  const stateOf = (id: string) => {
    state.sync();
    return state.ec2.instances.get(id)?.state;
  };
  return { clock, state, ami, run, stateOf };
}

describe('instance state transitions, driven by the injected clock', () => {
  it('pending → running after bootMs, and not a millisecond earlier', () => {
    const { clock, run, stateOf } = setup();
    const i = run();
    expect(i.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(i.privateIpAddress).toMatch(/^10\.0\.\d{1,3}\.\d{1,3}$/);
    clock.advance(T.bootMs - 1);
    expect(stateOf(i.instanceId)).toBe('pending');
    clock.advance(1);
    expect(stateOf(i.instanceId)).toBe('running');
  });

  it('running → stopping → stopped → pending → running, keeping the private IP', () => {
    const { clock, state, run, stateOf } = setup();
    const i = run();
    clock.advance(T.bootMs);
    expect(state.ec2.stopInstances([i.instanceId])).toEqual([{ instanceId: i.instanceId, previousState: 'running', currentState: 'stopping' }]);
    clock.advance(T.stopMs);
    expect(stateOf(i.instanceId)).toBe('stopped');
    expect(state.ec2.instances.get(i.instanceId)?.stateReason?.code).toBe('Client.UserInitiatedShutdown');
    expect(state.ec2.startInstances([i.instanceId])[0]?.currentState).toBe('pending');
    clock.advance(T.bootMs);
    expect(stateOf(i.instanceId)).toBe('running');
    expect(state.ec2.instances.get(i.instanceId)?.privateIpAddress).toBe(i.privateIpAddress);
  });

  it('refuses transitions EC2 refuses, with IncorrectInstanceState', () => {
    const { clock, state, run } = setup();
    const i = run();
    expect(() => state.ec2.stopInstances([i.instanceId])).toThrowError(expect.objectContaining({ code: 'IncorrectInstanceState' }));
    clock.advance(T.bootMs);
    state.ec2.terminateInstances([i.instanceId]);
    expect(() => state.ec2.startInstances([i.instanceId])).toThrowError(expect.objectContaining({ code: 'IncorrectInstanceState' }));
    // Terminating twice is not an error: EC2 reports the current state again.
    expect(state.ec2.terminateInstances([i.instanceId])[0]).toMatchObject({ previousState: 'shutting-down', currentState: 'shutting-down' });
  });

  it('terminate: shutting-down holds the address; terminated releases it and deletes the root volume; gone after an hour', () => {
    const { clock, state, run, stateOf } = setup();
    const i = run({ privateIpAddress: '10.0.12.34' });
    const volumeId = i.blockDeviceMappings[0]!.volumeId;
    clock.advance(T.bootMs);
    state.ec2.terminateInstances([i.instanceId]);
    expect(stateOf(i.instanceId)).toBe('shutting-down');
    expect(() => run({ privateIpAddress: '10.0.12.34' })).toThrowError(expect.objectContaining({ code: 'InvalidIPAddress.InUse' }));
    clock.advance(T.terminateMs);
    expect(stateOf(i.instanceId)).toBe('terminated');
    expect(state.ec2.volumes.has(volumeId)).toBe(false);
    expect(state.ec2.describeInstances([i.instanceId], [])[0]?.instances[0]?.state).toBe('terminated');
    expect(run({ privateIpAddress: '10.0.12.34' }).privateIpAddress).toBe('10.0.12.34');
    clock.advance(T.terminatedVisibleMs);
    expect(() => state.ec2.describeInstances([i.instanceId], [])).toThrowError(expect.objectContaining({ code: 'InvalidInstanceID.NotFound' }));
  });

  it('checks a requested private IP against the subnet and the addresses AWS reserves', () => {
    const { run } = setup();
    expect(() => run({ privateIpAddress: '10.1.0.5' })).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(() => run({ privateIpAddress: '10.0.0.2' })).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(() => run({ privateIpAddress: '10.0.255.255' })).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(() => run({ privateIpAddress: '10.0.0.300' })).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(() => run({ privateIpAddress: '10.0.0.9', maxCount: 2 })).toThrowError(expect.objectContaining({ code: 'InvalidParameterCombination' }));
  });
});

describe('snapshots and images', () => {
  it('a snapshot is pending with growing progress, then completed at 100%', () => {
    const { clock, state, run } = setup();
    const i = run();
    const volume = state.ec2.volumes.get(i.blockDeviceMappings[0]!.volumeId)!;
    const snap = state.ec2.createSnapshot({ volumeId: volume.volumeId, description: 'CircleCI Services box Backup taken at now' });
    const durationMs = T.snapshotBaseMs + T.snapshotPerGibMs * volume.size;
    expect(snap).toMatchObject({ state: 'pending', volumeSize: 8, ownerId: '123456789012' });
    expect(state.ec2.snapshotProgress(snap)).toBe('0%');
    clock.advance(durationMs / 2);
    state.sync();
    expect(state.ec2.snapshotProgress(snap)).toBe('50%');
    clock.advance(durationMs / 2);
    state.sync();
    expect(snap.state).toBe('completed');
    expect(state.ec2.snapshotProgress(snap)).toBe('100%');
  });

  it('an image registered from a pending snapshot becomes available when the snapshot completes', () => {
    const { clock, state, run } = setup();
    const i = run();
    const snap = state.ec2.createSnapshot({ volumeId: i.blockDeviceMappings[0]!.volumeId });
    const image = state.ec2.registerImage({ name: 'CircleCI-restore-1', blockDeviceMappings: [{ deviceName: '/dev/sda1', snapshotId: snap.snapshotId }] });
    expect(image.state).toBe('pending');
    expect(() => run({ imageId: image.imageId })).toThrowError(expect.objectContaining({ code: 'InvalidAMIID.Unavailable' }));
    clock.advance(snap.completesAtMs - snap.startTimeMs);
    state.sync();
    expect(image.state).toBe('available');
    const restored = run({ imageId: image.imageId });
    expect(state.ec2.volumes.get(restored.blockDeviceMappings[0]!.volumeId)?.snapshotId).toBe(snap.snapshotId);
  });

  it('RegisterImage validates the root mapping, the name and the volume size', () => {
    const { state, run } = setup();
    const snap = state.ec2.createSnapshot({ volumeId: run().blockDeviceMappings[0]!.volumeId });
    const mapping = [{ deviceName: '/dev/sda1', snapshotId: snap.snapshotId }];
    expect(() => state.ec2.registerImage({ name: 'root-elsewhere', rootDeviceName: '/dev/xvda', blockDeviceMappings: mapping })).toThrowError(expect.objectContaining({ code: 'InvalidBlockDeviceMapping' }));
    expect(() => state.ec2.registerImage({ name: 'ab', blockDeviceMappings: mapping })).toThrowError(expect.objectContaining({ code: 'InvalidAMIName.Malformed' }));
    expect(() => state.ec2.registerImage({ name: 'small', blockDeviceMappings: [{ ...mapping[0]!, volumeSize: 4 }] })).toThrowError(expect.objectContaining({ code: 'InvalidBlockDeviceMapping' }));
    state.ec2.registerImage({ name: 'twice', blockDeviceMappings: mapping });
    expect(() => state.ec2.registerImage({ name: 'twice', blockDeviceMappings: mapping })).toThrowError(expect.objectContaining({ code: 'InvalidAMIName.Duplicate' }));
    expect(() => state.ec2.deleteSnapshot(snap.snapshotId)).toThrowError(expect.objectContaining({ code: 'InvalidSnapshot.InUse' }));
  });

  it('CreateImage snapshots every attached volume; without NoReboot the instance is rebooted (an event), with it not', () => {
    const { clock, state, run } = setup();
    const i = run({ blockDeviceMappings: [{ deviceName: '/dev/sdf', volumeSize: 100, deleteOnTermination: false }] });
    clock.advance(T.bootMs);
    const quiet = state.ec2.createImage({ instanceId: i.instanceId, name: 'services-noreboot', noReboot: true });
    expect(quiet.blockDeviceMappings.map((d) => d.deviceName)).toEqual(['/dev/sda1', '/dev/sdf']);
    expect(state.events.filter((e) => e.kind === 'instance-rebooted')).toEqual([]);
    const loud = state.ec2.createImage({ instanceId: i.instanceId, name: 'services-reboot', noReboot: false });
    expect(state.events.filter((e) => e.kind === 'instance-rebooted').map((e) => e.resourceId)).toEqual([i.instanceId]);
    const snapId = loud.blockDeviceMappings[0]!.snapshotId!;
    expect(state.ec2.snapshots.get(snapId)?.description).toBe(`Created by CreateImage(${i.instanceId}) for ${loud.imageId} from ${i.blockDeviceMappings[0]!.volumeId}`);
    expect(state.ec2.instances.get(i.instanceId)?.state).toBe('running');
    clock.advance(T.snapshotBaseMs + 100 * T.snapshotPerGibMs);
    state.sync();
    expect(loud.state).toBe('available');
  });

  it('a volume not deleted on termination is left available', () => {
    const { clock, state, run } = setup();
    const i = run({ blockDeviceMappings: [{ deviceName: '/dev/sdf', volumeSize: 100, deleteOnTermination: false }] });
    const data = i.blockDeviceMappings.find((d) => d.deviceName === '/dev/sdf')!.volumeId;
    clock.advance(T.bootMs);
    state.ec2.terminateInstances([i.instanceId]);
    clock.advance(T.terminateMs);
    state.sync();
    expect(state.ec2.volumes.get(data)).toMatchObject({ state: 'available', attachment: undefined });
  });
});

describe('secondary private IPs', () => {
  it('AllowReassignment moves a secondary IP from another instance; without it the IP is in use; a primary never moves', () => {
    const { state, run } = setup();
    const a = run();
    const b = run();
    const { assigned } = state.ec2.assignPrivateIpAddresses({ networkInterfaceId: a.networkInterfaceId, privateIpAddresses: ['10.0.99.99'], allowReassignment: false });
    expect(assigned).toEqual(['10.0.99.99']);
    const moveWithout = () => state.ec2.assignPrivateIpAddresses({ networkInterfaceId: b.networkInterfaceId, privateIpAddresses: ['10.0.99.99'], allowReassignment: false });
    expect(moveWithout).toThrowError(expect.objectContaining({ code: 'PrivateIpAddressInUse' }));
    state.ec2.assignPrivateIpAddresses({ networkInterfaceId: b.networkInterfaceId, privateIpAddresses: ['10.0.99.99'], allowReassignment: true });
    expect(state.ec2.networkInterfaces.get(a.networkInterfaceId)?.secondaryPrivateIpAddresses).toEqual([]);
    expect(state.ec2.networkInterfaces.get(b.networkInterfaceId)?.secondaryPrivateIpAddresses).toEqual(['10.0.99.99']);
    expect(state.events.some((e) => e.kind === 'private-ip-moved' && e.detail.startsWith('10.0.99.99'))).toBe(true);
    expect(() =>
      state.ec2.assignPrivateIpAddresses({ networkInterfaceId: b.networkInterfaceId, privateIpAddresses: [a.privateIpAddress], allowReassignment: true }),
    ).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
  });

  it('checks everything before changing anything', () => {
    const { state, run } = setup();
    const a = run();
    expect(() =>
      state.ec2.assignPrivateIpAddresses({ networkInterfaceId: a.networkInterfaceId, privateIpAddresses: ['10.0.50.50', '192.168.0.1'], allowReassignment: true }),
    ).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(state.ec2.networkInterfaces.get(a.networkInterfaceId)?.secondaryPrivateIpAddresses).toEqual([]);
  });
});

describe('tags', () => {
  it('refuses aws: keys and more than 50 tags per resource', () => {
    const { state, run } = setup();
    const i = run();
    expect(() => state.ec2.createTags([i.instanceId], [['aws:foo', 'x']])).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    const many = Array.from({ length: 51 }, (_, n) => [`k${n}`, 'v'] as const);
    expect(() => state.ec2.createTags([i.instanceId], many)).toThrowError(expect.objectContaining({ code: 'TagLimitExceeded' }));
    expect(() => state.ec2.createTags(['sg-12345678'], [['a', 'b']])).toThrowError(expect.objectContaining({ code: 'InvalidID' }));
  });
});

describe('determinism', () => {
  it('the same seed draws the same ids and addresses; another seed does not', () => {
    const ids = (seed: number) => {
      const { run } = setup(seed);
      return [run(), run(), run()].map((i) => [i.instanceId, i.privateIpAddress, i.blockDeviceMappings[0]!.volumeId]);
    };
    expect(ids(7)).toEqual(ids(7));
    expect(ids(7)).not.toEqual(ids(8));
  });

  it('creating volumes does not shift instance ids (one stream per prefix)', () => {
    const a = setup(3);
    const b = setup(3);
    b.state.ec2.createSnapshot({ volumeId: b.run().blockDeviceMappings[0]!.volumeId });
    a.run();
    expect(a.run().instanceId).toBe(b.run().instanceId);
  });
});

describe('invariants under random operations (model-based)', () => {
  type Op =
    | { kind: 'run'; count: number }
    | { kind: 'terminate' | 'stop' | 'start' | 'assign'; pick: number }
    | { kind: 'wait'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('run' as const), count: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constantFrom('terminate' as const, 'stop' as const, 'start' as const, 'assign' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60_000 }) }),
  );

  it('addresses are never shared, terminated instances hold none, attached volumes belong to live instances', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
        const { clock, state, ami } = setup(seed);
        for (const o of ops) {
          const all = [...state.ec2.instances.values()];
          const target = o.kind === 'run' || o.kind === 'wait' ? undefined : all[o.pick % Math.max(1, all.length)];
          try {
            if (o.kind === 'run') state.ec2.runInstances({ imageId: ami, minCount: o.count, maxCount: o.count });
            else if (o.kind === 'wait') clock.advance(o.ms);
            else if (target === undefined) continue;
            else if (o.kind === 'terminate') state.ec2.terminateInstances([target.instanceId]);
            else if (o.kind === 'stop') state.ec2.stopInstances([target.instanceId]);
            else if (o.kind === 'start') state.ec2.startInstances([target.instanceId]);
            else state.ec2.assignPrivateIpAddresses({ networkInterfaceId: target.networkInterfaceId, privateIpAddresses: [], secondaryPrivateIpAddressCount: 1, allowReassignment: false });
          } catch (e) {
            // Refusals are part of the contract; anything else is a bug.
            expect((e as { code?: string }).code).toMatch(/^(IncorrectInstanceState|InvalidNetworkInterfaceID\.NotFound|PrivateIpAddressLimitExceeded)$/);
          }
          state.sync();
          const seen = new Set<string>();
          for (const eni of state.ec2.networkInterfaces.values()) {
            for (const ip of [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses]) {
              expect(seen.has(ip)).toBe(false);
              seen.add(ip);
            }
          }
          for (const i of state.ec2.instances.values()) {
            if (i.state === 'terminated') expect(state.ec2.networkInterfaces.has(i.networkInterfaceId)).toBe(false);
          }
          for (const v of state.ec2.volumes.values()) {
            if (v.attachment !== undefined) expect(state.ec2.instances.get(v.attachment.instanceId)?.state).not.toBe('terminated');
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
