import { describe, expect, it } from 'vitest';
import { Build, buildIdOfNomadJob, containerIndexOfNomadJob, type Workflow } from './build.ts';
import type { JobTemplate } from './workload/types.ts';

describe('Build', () => {
  it('leads back from its Nomad job id to its build number', () => {
    const template = { parallelism: 1 } as JobTemplate;
    const workflow = { webhook: { template: 2 } } as Workflow;
    for (const id of [1, 255, 504_874, 2 ** 40 + 3]) {
      const build = new Build(id, workflow, template, 0, { failsOnItsOwn: false, taskDurationsMs: [1] });
      expect(build.nomadJobId).toMatch(new RegExp(`^[0-9a-f]{24}-0-build-acme-repo-3-${id}$`));
      expect(buildIdOfNomadJob(build.nomadJobId)).toBe(id);
    }
    expect(buildIdOfNomadJob('build-1')).toBe(-1);
  });

  it('has one Nomad job per container, as the seeds say (parallelism 10 runs 10 jobs), each leading back to its index', () => {
    const build = new Build(7, { webhook: { template: 0 } } as Workflow, { parallelism: 10 } as JobTemplate, 0, { failsOnItsOwn: false, taskDurationsMs: Array(10).fill(1) });
    build.assignTasks({ tasks: 10, resourceClass: { name: 'medium', cpuMilli: 2000, memoryMb: 4096 } as never, cpuMhz: 5000, memoryMb: 4096, vm: undefined });
    const ids = Array.from({ length: build.tasksTotal }, (_, i) => build.nomadJobIdOf(i));
    expect(new Set(ids).size).toBe(10);
    expect(ids.map(containerIndexOfNomadJob)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ids.map(buildIdOfNomadJob)).toEqual(Array(10).fill(7));
    expect(build.nomadJobIdOf(0)).toBe(build.nomadJobId);
    expect(containerIndexOfNomadJob('build-1')).toBe(-1);
    expect(containerIndexOfNomadJob('000000000000000000000007-x-build')).toBe(-1);
  });
});
