import { describe, expect, it } from 'vitest';
import { QueryParams } from './query.ts';

describe('QueryParams (EC2 style)', () => {
  const p = QueryParams.parse(
    'Action=DescribeInstances&Version=2016-11-15&InstanceId.2=i-b&InstanceId.1=i-a&Filter.1.Name=tag%3AName&Filter.1.Value.1=circleci_*&Filter.1.Value.2=x&Filter.2.Name=instance-state-name&Filter.2.Value.1=running&Description=CircleCI+Services+box&BlockDeviceMapping.1.DeviceName=%2Fdev%2Fsda1&BlockDeviceMapping.1.Ebs.SnapshotId=snap-1&MinCount=2&NoReboot=true',
    'ec2',
  );

  it('reads scalars, decoding + as a space', () => {
    expect(p.str('Action')).toBe('DescribeInstances');
    expect(p.str('Description')).toBe('CircleCI Services box');
    expect(p.int('MinCount')).toBe(2);
    expect(p.bool('NoReboot')).toBe(true);
    expect(p.str('Nothing')).toBeUndefined();
  });

  it('reads flattened lists in index order', () => {
    expect(p.list('InstanceId')).toEqual(['i-a', 'i-b']);
    expect(p.filters()).toEqual([
      { name: 'tag:Name', values: ['circleci_*', 'x'] },
      { name: 'instance-state-name', values: ['running'] },
    ]);
  });

  it('reads nested structures through scoped views', () => {
    const [bdm] = p.structs('BlockDeviceMapping');
    expect(bdm?.required('DeviceName')).toBe('/dev/sda1');
    expect(bdm?.sub('Ebs')?.str('SnapshotId')).toBe('snap-1');
    expect(bdm?.sub('Nope')).toBeUndefined();
  });

  it('answers a missing parameter with MissingParameter and a bad number with InvalidParameterValue', () => {
    expect(() => p.required('VolumeId')).toThrowError(expect.objectContaining({ code: 'MissingParameter', message: 'The request must contain the parameter VolumeId' }));
    const bad = QueryParams.parse('MinCount=two', 'ec2');
    expect(() => bad.int('MinCount')).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
    expect(() => QueryParams.parse('MinCount=0', 'ec2').int('MinCount', { min: 1 })).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
  });
});

describe('QueryParams (Auto Scaling style)', () => {
  const p = QueryParams.parse(
    'Action=CreateAutoScalingGroup&AvailabilityZones.member.1=us-east-1a&AvailabilityZones.member.2=us-east-1b&Tags.member.1.Key=Name&Tags.member.1.Value=nomad&Tags.member.1.PropagateAtLaunch=true&TerminationPolicies=&StartTime=2020-01-21T14%3A00%3A00Z',
    'member',
  );

  it('reads member lists, structures and timestamps', () => {
    expect(p.list('AvailabilityZones')).toEqual(['us-east-1a', 'us-east-1b']);
    const [tag] = p.structs('Tags');
    expect([tag?.str('Key'), tag?.str('Value'), tag?.bool('PropagateAtLaunch')]).toEqual(['Name', 'nomad', true]);
    expect(p.time('StartTime')).toBe(Date.UTC(2020, 0, 21, 14));
  });

  it('reads an empty serialised list (`TerminationPolicies=`) as empty', () => {
    expect(p.list('TerminationPolicies')).toEqual([]);
    expect(p.has('TerminationPolicies')).toBe(true);
  });

  it('answers a missing parameter with ValidationError, as Auto Scaling does', () => {
    expect(() => p.required('AutoScalingGroupName')).toThrowError(
      expect.objectContaining({
        code: 'ValidationError',
        message: "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null",
      }),
    );
  });
});
