import { describe, expect, it } from 'vitest';
import { resourceClassKey, resourceClassTable, splitJob } from './task-split.ts';
import type { SettledResourceClass } from '../scenario/settled.ts';

const classes = resourceClassTable([
  { name: 'medium', executor: 'docker', cpuMilli: 2000, memoryMb: 4096 },
  { name: 'medium', executor: 'machine', cpuMilli: 1000, memoryMb: 512 },
  { name: 'tiny', executor: 'docker', cpuMilli: 300, memoryMb: 256 },
  { name: 'tiny', executor: 'docker', cpuMilli: 500, memoryMb: 1024 },
] satisfies SettledResourceClass[]);

describe('splitJob', () => {
  it('one task per unit of parallelism, each with the resource class, and the VM its executor needs', () => {
    expect(splitJob({ executor: 'machine', resourceClass: 'medium', parallelism: 3 }, classes)).toEqual({ tasks: 3, resourceClass: classes['machine:medium'], cpuMhz: 2500, memoryMb: 512, vm: 'machine' });
    expect(splitJob({ executor: 'docker', resourceClass: 'medium', parallelism: 1 }, classes)).toMatchObject({ tasks: 1, cpuMhz: 5000, memoryMb: 4096, vm: undefined });
  });

  it('a remote Docker job runs in a Docker class and asks for a remote engine', () => {
    expect(resourceClassKey('remote_docker', 'medium')).toBe('docker:medium');
    expect(splitJob({ executor: 'remote_docker', resourceClass: 'medium', parallelism: 2 }, classes)).toMatchObject({ tasks: 2, memoryMb: 4096, vm: 'remote_docker' });
  });

  it("rounds CPU up to Nomad's MHz, and a later class of the same key overrides (the scenario's topology.resource_classes)", () => {
    expect(splitJob({ executor: 'docker', resourceClass: 'tiny', parallelism: 1 }, classes)).toMatchObject({ cpuMhz: 1250, memoryMb: 1024 });
    const odd = resourceClassTable([{ name: 'odd', executor: 'docker', cpuMilli: 333, memoryMb: 100 }]);
    expect(splitJob({ executor: 'docker', resourceClass: 'odd', parallelism: 1 }, odd)).toMatchObject({ cpuMhz: 833 });
  });

  it('names the unknown class, executor included', () => {
    expect(splitJob({ executor: 'machine', resourceClass: 'tiny', parallelism: 1 }, classes)).toBe('unknown resource class machine:tiny');
  });
});
