import { describe, expect, it } from 'vitest';
import { AutoScalingModel, DEFAULT_AUTOSCALING_TIMINGS, type AutoScalingContext, type Ec2Port, type InstanceStateName } from './group-model.ts';

/** A port whose instances start running at once, and a context whose time the test does not move. */
function setup() {
  const states = new Map<string, InstanceStateName>([['i-a', 'running'], ['i-b', 'running'], ['i-stopped', 'stopped']]);
  let n = 0;
  const port: Ec2Port = {
    subnet: { subnetId: 'subnet-1', availabilityZone: 'z-1a' },
    availabilityZones: ['z-1a'],
    hasImage: () => true,
    findLaunchTemplate: () => undefined,
    launchTemplate: () => undefined,
    runInstance: () => {
      const instanceId = `i-new${n++}`;
      states.set(instanceId, 'pending');
      return { instanceId, instanceType: 't' };
    },
    instanceState: (id) => states.get(id),
    terminateInstances: (ids) => ids.forEach((id) => states.set(id, 'terminated')),
    onInstanceState: () => {},
  };
  const ctx: AutoScalingContext = { accountId: '1', region: 'r', ids: { uuid: (l = 'u') => `${l}-${n++}` }, now: () => 0, sync: () => {}, after: () => () => {}, emit: () => {} };
  const model = new AutoScalingModel(ctx, port, DEFAULT_AUTOSCALING_TIMINGS);
  model.createLaunchConfiguration({ name: 'lc', imageId: 'ami-1', instanceType: 't' });
  model.createAutoScalingGroup({ name: 'g', minSize: 0, maxSize: 3, desiredCapacity: 0, availabilityZones: ['z-1a'], launchConfigurationName: 'lc' });
  return model;
}

describe('AttachInstances', () => {
  it('adds running instances in service and raises the desired capacity by their number, launching nothing', () => {
    const model = setup();
    model.attachInstances('g', ['i-a', 'i-b']);
    const g = model.requireGroup('g');
    expect(g.desiredCapacity).toBe(2);
    expect([...g.instances.values()].map((m) => [m.instanceId, m.lifecycleState])).toEqual([['i-a', 'InService'], ['i-b', 'InService']]);
  });

  it('refuses instances past the maximum, already in a group, or not running', () => {
    const model = setup();
    model.attachInstances('g', ['i-a']);
    expect(() => model.attachInstances('g', ['i-a'])).toThrowError(expect.objectContaining({ code: 'ValidationError', message: expect.stringContaining('already part of an Auto Scaling group') }));
    expect(() => model.attachInstances('g', ['i-stopped'])).toThrowError(expect.objectContaining({ code: 'ValidationError', message: expect.stringContaining('not in a running state') }));
    expect(() => model.attachInstances('g', ['i-b', 'x', 'y'])).toThrowError(expect.objectContaining({ message: expect.stringContaining('would exceed it') }));
    expect(model.requireGroup('g').desiredCapacity).toBe(1);
  });
});
