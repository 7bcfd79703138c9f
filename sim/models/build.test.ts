import { describe, expect, it } from 'vitest';
import { Build, buildIdOfNomadJob, type Workflow } from './build.ts';
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
});
