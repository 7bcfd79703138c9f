import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTEXT, workflowConfig } from './config.ts';
import { readBuildConfig } from '../../../sim/domain/build-config.ts';
import type { PlannedJob, PlannedWorkflow } from '../../../sim/models/workload/replay-plan.ts';

const job = fc.record({
  // Some jobs' tasks all run as long, others' differ (the build's own draws).
  tasks: fc.integer({ min: 1, max: 50 }).chain((p) => fc.oneof(fc.integer({ min: 1, max: 10_000_000 }).map((d) => Array.from({ length: p }, () => d)), fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: p, maxLength: p }))),
  executor: fc.constantFrom('docker' as const, 'machine' as const, 'remote_docker' as const),
  resourceClass: fc.constantFrom('small', 'medium', 'large'),
  fails: fc.boolean(),
  artifacts: fc.integer({ min: 0, max: 5 }),
  testResults: fc.boolean(),
  usesContexts: fc.boolean(),
});

describe('workflowConfig', () => {
  it('is read back by picard-dispatcher job by job, in workflow order', () => {
    fc.assert(
      fc.property(fc.array(job, { minLength: 1, maxLength: 5 }), fc.constantFrom('build', 'deploy-and-test'), (jobs, name) => {
        const planned: PlannedJob[] = jobs.map(({ tasks, ...j }, i) => ({ ...j, name: jobs.length === 1 ? name : `${name}-${i + 1}`, cpuMilli: 2000, memoryMb: 4096, parallelism: tasks.length, durationMs: Math.max(...tasks), taskDurationsMs: tasks }));
        const w: PlannedWorkflow = { seq: 1, key: 1, atMs: 0, source: 'push', template: 0, templateName: name, jobs: planned };
        const text = workflowConfig(w);
        planned.forEach((j, i) => {
          const cfg = readBuildConfig(text, i);
          // A remote Docker job is a Docker job with a `setup_remote_docker` step.
          const executor = j.executor === 'machine' ? 'machine' : 'docker';
          expect(cfg).toEqual({
            jobName: j.name,
            jobsTotal: planned.length,
            parallelism: j.parallelism,
            durationMs: j.durationMs,
            taskDurationsMs: j.taskDurationsMs,
            executor,
            remoteDocker: j.executor === 'remote_docker',
            contexts: j.usesContexts ? [CONTEXT] : [],
            resourceClass: j.resourceClass,
            fails: j.fails,
            artifacts: j.artifacts,
            testResults: j.testResults,
          });
        });
      }),
      { numRuns: 200 },
    );
  });

  it('reads a v0 config without workflows: the largest parallelism and the top-level duration', () => {
    const cfg = readBuildConfig('x-twin-duration-ms: 500\njobs:\n  a: { parallelism: 2 }\n  b: { parallelism: 3 }\n');
    expect(cfg).toMatchObject({ jobName: 'a', jobsTotal: 2, parallelism: 3, durationMs: 500, executor: 'docker', resourceClass: 'medium', fails: false, artifacts: 0, testResults: false });
  });
});
