import { describe, expect, it } from 'vitest';
import { defaultResourceClasses, scheduleMessage } from './picard-dispatcher.ts';
import type { RunMessage } from './schema.ts';
import { readBuildConfig } from '../../../sim/domain/build-config.ts';
import { splitJob } from '../../../sim/domain/task-split.ts';
import { CPU_MHZ_PER_CORE } from '../../../sim/models/nomad/cluster-state.ts';
import { DEFAULTS } from '../../../sim/scenario/settle.ts';
import { parseScenario } from '../../../sim/scenario/parse.ts';
import { fixtureContext } from '../../scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { workflowConfig } from '../replay/config.ts';
import { buildJob, buildJobs } from './schedulerer.ts';
import { parseJobRegistration } from '../../nomad/job-spec.ts';

const msg: RunMessage = { buildId: 1, repo: 'acme/repo-1', sha: 'abc' } as RunMessage;

/** Every class of the default profile's fixture, as `executor:name`. */
function fixtureClasses(): { executor: 'docker' | 'machine'; name: string }[] {
  const rc = loadProfile(DEFAULTS.version).resource_classes;
  return [{ executor: 'docker' as const, name: rc.default.name }, ...rc.example.map((c) => ({ executor: c.executor, name: c.name }))];
}

describe("twin up's picard-dispatcher and the simulation place the same resources", () => {
  it('for every resource class of the fixture', () => {
    const classes = fixtureClasses();
    expect(classes.length).toBeGreaterThan(4);
    // A scenario with one job of each class, settled as `twin run` settles it (fixture + overrides).
    const jobs = classes.map((c) => `    - { executor: ${c.executor}, resource_class: ${c.name}, parallelism: 2, duration: 1m }`).join('\n');
    const scenario = parseScenario(`name: classes\nduration: 1h\ntopology:\n  nomad_clients: { count: 2, cpus: 16, memory_gb: 64 }\nworkload:\n  arrivals: { kind: poisson, rate_per_hour: 1 }\n  jobs:\n${jobs}\n`, 'classes.yaml', fixtureContext());
    const live = defaultResourceClasses();
    for (const [i, t] of scenario.workload.jobs.entries()) {
      const sim = splitJob(t, scenario.topology.resourceClasses);
      if (typeof sim === 'string') throw new Error(sim);
      // twin up reads the class from the build's config.yml, as the replay pushes it.
      const text = workflowConfig({ seq: 1, atMs: 0, source: 'push', template: i, templateName: 'j', key: 1, jobs: [{ name: 'j', durationMs: 1000, taskDurationsMs: [1000, 1000], parallelism: t.parallelism, executor: t.executor, resourceClass: t.resourceClass, cpuMilli: 0, memoryMb: 0, fails: false, artifacts: 0, testResults: false, usesContexts: false }] });
      const out = scheduleMessage(msg, readBuildConfig(text), live);
      if (typeof out === 'string') throw new Error(`${t.executor}:${t.resourceClass}: ${out}`);
      const where = `${t.executor}:${t.resourceClass}`;
      // What twin up's Nomad API reserves for schedulerer's job, against what the simulation's fleet registers
      // for the same build (`{ tasks, cpuMilli, memoryMb }` of its split).
      // One Nomad job of count 1 per container (the seeds' parallelism), each reserving the class's size.
      const specs = buildJobs(out).map((job) => parseJobRegistration({ Job: job }).spec);
      const spec = specs[0]!;
      expect(specs.every((s) => s.count === 1 && s.cpuMilli === spec.cpuMilli && s.memoryMb === spec.memoryMb)).toBe(true);
      expect({ where, count: specs.length, cpuMilli: spec.cpuMilli, memoryMb: spec.memoryMb, vm: out.vm }).toEqual({
        where,
        count: sim.tasks,
        cpuMilli: sim.resourceClass.cpuMilli,
        memoryMb: sim.resourceClass.memoryMb,
        vm: sim.vm,
      });
      expect(sim.tasks).toBe(2);
    }
  });

  it('machine:medium is the outer task of the fixture: 1 CPU / 512 MB, not the VM size', () => {
    const out = scheduleMessage(msg, readBuildConfig('jobs:\n  a: { machine: true, resource_class: medium }\n'), defaultResourceClasses());
    expect(out).toMatchObject({ cpuMhz: CPU_MHZ_PER_CORE, memoryMb: 512, vm: 'machine' });
  });

  it('fails a build whose class is unknown, with the reason', () => {
    expect(scheduleMessage(msg, readBuildConfig('jobs:\n  a: { docker: [], resource_class: huge }\n'), defaultResourceClasses())).toBe('unknown resource class docker:huge');
  });

  it('a setup_remote_docker step asks vm-service for a remote Docker engine', () => {
    const out = scheduleMessage(msg, readBuildConfig('jobs:\n  a: { docker: [], steps: [checkout, setup_remote_docker] }\n'), defaultResourceClasses());
    expect(out).toMatchObject({ vm: 'remote_docker', memoryMb: 4096 });
  });

  it("carries each task's own duration to Nomad's job when the build's tasks differ, and none when they do not", () => {
    const out = scheduleMessage(msg, readBuildConfig('jobs:\n  a: { docker: [], parallelism: 3, x-twin-duration-ms: [500, 900, 700] }\n'), defaultResourceClasses());
    if (typeof out === 'string') throw new Error(out);
    expect(out).toMatchObject({ durationMs: 900, taskDurationsMs: [500, 900, 700], parallelism: 3 });
    expect(buildJobs(out).map((j) => j.Meta.duration_ms)).toEqual(['500', '900', '700']);
    const same = scheduleMessage(msg, readBuildConfig('jobs:\n  a: { docker: [], parallelism: 3, x-twin-duration-ms: 800 }\n'), defaultResourceClasses());
    if (typeof same === 'string') throw new Error(same);
    expect(same.taskDurationsMs).toBeUndefined();
    expect(buildJobs(same).map((j) => j.Meta.duration_ms)).toEqual(['800', '800', '800']);
  });
});
