import { describe, expect, it } from 'vitest';
import { Twin } from '../../twin.ts';
import { buildReport } from '../../report/build-report.ts';
import { parseScenario, ScenarioError } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';

const ctx = fixtureContext();
const profile = loadProfile('2.19.6');

function run(yaml: string) {
  const twin = new Twin(parseScenario(yaml, 'vm.yaml', ctx), profile);
  twin.run();
  return buildReport(twin);
}

/** Machine jobs, some with Docker Layer Caching, on a vm-service with `pre` preallocated machine instances. */
const machineJobs = (pre: number, extra = '') => `name: vm
seed: 5
duration: 1d
topology:
  nomad_clients: { count: 6 }
  vm_service: { preallocated_machine: ${pre}${extra} }
workload:
  arrivals: { kind: poisson, rate_per_hour: 12 }
  jobs:
    - { executor: machine, duration: 6m, docker_layer_caching: true }
    - { executor: machine, duration: 6m }
`;

describe('vm-service capacity', () => {
  it('runs Docker Layer Caching jobs on preallocated instances without their cache, and on demand with it', () => {
    const pre = run(machineJobs(4)).vm_service;
    expect(pre.dlc_jobs).toBeGreaterThan(50);
    // Preallocated instances are handed out first: most DLC jobs get one and lose their cache.
    expect(pre.dlc_without_cache).toBeGreaterThan(pre.dlc_jobs! / 2);
    const onDemand = run(machineJobs(0)).vm_service;
    expect(onDemand.dlc_jobs).toBe(pre.dlc_jobs);
    expect(onDemand.dlc_without_cache).toBe(0);
    expect(onDemand.preallocated_used).toBe(0);
  });

  it('makes jobs wait for the boot on demand, and preallocation removes the wait at the price of idle instance-hours', () => {
    const onDemand = run(machineJobs(0, ', boot_time: 4m'));
    const pre = run(machineJobs(4, ', boot_time: 4m'));
    expect(onDemand.vm_service.mean_wait_ms).toBe(240_000);
    expect(pre.vm_service.mean_wait_ms).toBeLessThan(60_000);
    // Four instances idle all day cost more instance-hours than the boots they save.
    expect(pre.vm_service.instance_hours!).toBeGreaterThan(onDemand.vm_service.instance_hours! + 24);
    expect(pre.cost!.vm_service_per_day).toBeGreaterThan(onDemand.cost!.vm_service_per_day);
    expect(pre.queue_time_ms.mean).toBe(onDemand.queue_time_ms.mean);
    expect(pre.start_delay_ms.mean).toBeLessThan(onDemand.start_delay_ms.mean - 150_000);
  });

  it('cycles the idle preallocated instances once a day at daily_cycle_at', () => {
    const quiet = machineJobs(3, ', daily_cycle_at: "03:00"').replace('rate_per_hour: 12', 'rate_per_hour: 0.001').replace('duration: 1d', 'duration: 2d');
    const r = run(quiet).vm_service;
    // Two cycles (day 1 and day 2, 03:00) of three idle instances, each replaced by a boot.
    expect(r.preallocated_cycled).toBe(6);
    expect(r.instances_launched).toBe(6);
    expect(r.instances_terminated).toBe(6);
  });

  it('refuses docker_layer_caching on a job that gets no vm-service instance', () => {
    const bad = machineJobs(0).replace('{ executor: machine, duration: 6m, docker_layer_caching: true }', '{ executor: docker, duration: 6m, docker_layer_caching: true }');
    expect(() => parseScenario(bad, 'vm.yaml', ctx)).toThrow(ScenarioError);
    try {
      parseScenario(bad, 'vm.yaml', ctx);
    } catch (e) {
      expect((e as ScenarioError).issues[0]).toMatchObject({ line: 10, field: 'workload.jobs[0].docker_layer_caching' });
      expect((e as ScenarioError).issues[0]!.message).toContain('set executor to machine or remote_docker');
    }
  });
});
