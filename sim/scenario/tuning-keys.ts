import type { SettledScenario } from './settled.ts';

/** A tuning key a scenario wrote, by its path in the file. */
export type TuningKey =
  | 'autoscaling'
  | 'cost'
  | 'topology.scheduler'
  | 'topology.nomad_clients.instance_type'
  | 'topology.nomad_clients.hour_usd'
  | 'topology.vm_service.boot_time'
  | 'topology.vm_service.daily_cycle_at'
  | 'workload.jobs[].docker_layer_caching';

/**
 * The tuning keys a scenario wrote (`autoscaling`, `cost`, a non-default scheduler, an instance type or price,
 * vm-service's boot time and daily cycle, a job's Docker Layer Caching).
 * The simulation acts on them; runtimes that do not yet (the live replay, the DR rehearsal) refuse each one
 * rather than ignore it, from this one list.
 */
export function tuningKeysWritten(s: SettledScenario): TuningKey[] {
  const nc = s.topology.nomadClients;
  const keys: TuningKey[] = [];
  if (s.autoscaling !== undefined) keys.push('autoscaling');
  if (s.cost.written) keys.push('cost');
  if (s.topology.scheduler !== 'binpack') keys.push('topology.scheduler');
  if (nc.instanceType !== undefined) keys.push('topology.nomad_clients.instance_type');
  if (nc.priceSource === 'nomad_clients.hour_usd') keys.push('topology.nomad_clients.hour_usd');
  const vm = s.topology.vmService;
  if (vm.bootTime !== undefined) keys.push('topology.vm_service.boot_time');
  if (vm.dailyCycleWritten) keys.push('topology.vm_service.daily_cycle_at');
  if (s.workload.jobs.some((j) => j.dockerLayerCaching === true)) keys.push('workload.jobs[].docker_layer_caching');
  return keys;
}
