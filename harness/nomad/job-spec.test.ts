import { describe, expect, it } from 'vitest';
import { CPU_MHZ_PER_CORE } from '../../sim/models/nomad/index.ts';
import { NomadHttpError, parseJobRegistration } from './job-spec.ts';
import { milliToMhz, mhzToMilli } from './shapes.ts';

const job = (over: Record<string, unknown> = {}, group: Record<string, unknown> = {}) => ({
  Job: {
    ID: 'build-1',
    Type: 'batch',
    Datacenters: ['us-east-1'],
    TaskGroups: [{ Name: 'build', Count: 2, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: 5000, MemoryMB: 4096 } }], ...group }],
    ...over,
  },
});

function refusal(body: unknown, pathJobId?: string): [number, string] {
  try {
    parseJobRegistration(body, pathJobId);
  } catch (err) {
    if (err instanceof NomadHttpError) return [err.status, err.message];
    throw err;
  }
  throw new Error('accepted');
}

describe('parseJobRegistration', () => {
  it('maps a CircleCI-like batch job to the scheduler spec, CPU MHz to millicores', () => {
    const r = parseJobRegistration(job());
    expect(r.spec).toEqual({ id: 'build-1', count: 2, cpuMilli: 2000, memoryMb: 4096, priority: 50, datacenter: 'us-east-1' });
    expect(CPU_MHZ_PER_CORE).toBe(2500);
  });

  it("applies Nomad's defaults once, at the boundary", () => {
    const r = parseJobRegistration({ Job: { ID: 'j', Type: 'batch', Datacenters: ['us-east-1'], TaskGroups: [{ Name: 'g', Tasks: [{ Name: 't', Driver: 'docker' }] }] } });
    expect(r.job).toMatchObject({ ID: 'j', Name: 'j', Namespace: 'default', Region: 'global', Priority: 50, Datacenters: ['us-east-1'], AllAtOnce: false });
    expect(r.job.TaskGroups[0]).toMatchObject({ Name: 'g', Count: 1, Tasks: [{ Resources: { CPU: 100, MemoryMB: 300 } }] });
    expect(r.spec).toEqual({ id: 'j', count: 1, cpuMilli: 40, memoryMb: 300, priority: 50, datacenter: 'us-east-1' });
  });

  it('refuses a job without datacenters with 0.9.3\'s 500 (schedulerer\'s jobs had none)', () => {
    expect(refusal(job({ Datacenters: undefined }))).toEqual([500, '1 error(s) occurred:\n\n* Missing job datacenters']);
    expect(refusal(job({ Datacenters: [] }))).toEqual([500, '1 error(s) occurred:\n\n* Missing job datacenters']);
  });

  it('sums the tasks of the group, and rounds CPU up so no task gets less than it asked', () => {
    const r = parseJobRegistration(
      job({}, { Tasks: [{ Name: 'a', Driver: 'docker', Resources: { CPU: 1001, MemoryMB: 100 } }, { Name: 'b', Driver: 'docker', Resources: { CPU: 1, MemoryMB: 28 } }] }),
    );
    expect(r.spec.cpuMilli).toBe(Math.ceil((1002 * 1000) / 2500));
    expect(r.spec.memoryMb).toBe(128);
  });

  it('reads a ${node.class} constraint and one datacenter into the spec; other constraints are kept', () => {
    const r = parseJobRegistration(
      job(
        { Datacenters: ['us-east-1'], Constraints: [{ LTarget: '${attr.kernel.name}', RTarget: 'linux', Operand: '=' }] },
        { Constraints: [{ LTarget: '${node.class}', RTarget: 'linux-64bit', Operand: '=' }] },
      ),
    );
    expect(r.spec).toMatchObject({ datacenter: 'us-east-1', nodeClass: 'linux-64bit' });
    expect(r.job.Constraints).toHaveLength(1);
  });

  it('merges job, group and task Meta for the task runner, inner wins', () => {
    const r = parseJobRegistration(
      job({ Meta: { duration_ms: '10', a: 'job' } }, { Meta: { a: 'group' }, Tasks: [{ Name: 't', Driver: 'docker', Meta: { b: 'task' } }] }),
    );
    expect(r.meta).toEqual({ duration_ms: '10', a: 'group', b: 'task' });
  });

  it("refuses what Nomad refuses, with Nomad's text", () => {
    expect(refusal({})).toEqual([400, 'Job must be specified']);
    expect(refusal({ Job: { Type: 'batch' } })).toEqual([400, "Job ID hasn't been provided"]);
    expect(refusal(job(), 'other')).toEqual([400, 'Job ID does not match name']);
    expect(refusal(job({ Priority: 101 }))).toEqual([400, 'Job priority must be between [1, 100]']);
    expect(refusal(job({ TaskGroups: [] }))).toEqual([400, 'Missing job task groups']);
    expect(refusal(job({}, { Tasks: [] }))).toEqual([400, 'Task group build: Missing tasks for task group']);
    expect(refusal(job({}, { Tasks: [{ Name: 't' }] }))).toEqual([400, 'Task t: Missing task driver']);
    expect(refusal(job({}, { Tasks: [{ Name: 't', Driver: 'docker', Resources: { MemoryMB: 5 } }] }))[1]).toContain('minimum MemoryMB value is 10');
  });

  it('refuses, saying so, what the twin does not model', () => {
    expect(refusal(job({ Type: 'service' }))[1]).toContain('batch jobs only');
    expect(refusal({ Job: { ID: 'x', TaskGroups: [] } })[1]).toContain('Job type "service"');
    const two = job();
    two.Job.TaskGroups.push({ ...two.Job.TaskGroups[0]!, Name: 'second' });
    expect(refusal(two)[1]).toContain('one task group per job');
    expect(refusal(job({ Datacenters: ['a', 'b'] }))[1]).toContain('one datacenter');
    expect(refusal(job({}, { Count: 0 }))[1]).toContain('Count must be a positive integer');
    expect(refusal(job({}, { Constraints: [{ LTarget: '${node.class}', RTarget: 'x', Operand: '!=' }] }))[1]).toContain('only models');
  });

  it('converts between MHz and millicores consistently with the scheduler gauges', () => {
    for (const milli of [1000, 2000, 4000, 500]) expect(mhzToMilli(milliToMhz(milli))).toBe(milli);
    expect(mhzToMilli(1)).toBe(1);
  });
});
