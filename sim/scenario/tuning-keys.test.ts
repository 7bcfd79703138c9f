import { describe, expect, it } from 'vitest';
import { parseScenario } from './parse.ts';
import { tuningKeysWritten } from './tuning-keys.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';

const ctx = fixtureContext();
const BASE = `name: t
duration: 1h
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs:
    - { duration: 5m }
`;

describe('tuningKeysWritten', () => {
  it('lists nothing for a scenario without tuning keys (the defaults are not written)', () => {
    expect(tuningKeysWritten(parseScenario(BASE, 't.yaml', ctx))).toEqual([]);
  });

  it('lists every tuning key the file wrote', () => {
    const text = `${BASE}topology: { scheduler: spread, nomad_clients: { count: 2, instance_type: m5.2xlarge, hour_usd: 0.5 } }
autoscaling: { min: 1, max: 3 }
cost: { developer_hour_usd: 100 }
`;
    expect(tuningKeysWritten(parseScenario(text, 't.yaml', ctx))).toEqual(['autoscaling', 'cost', 'topology.scheduler', 'topology.nomad_clients.instance_type', 'topology.nomad_clients.hour_usd']);
  });

  it('lists vm-service\'s boot time and daily cycle, and Docker Layer Caching, which only the simulation models', () => {
    const text = `name: t
duration: 1h
topology: { vm_service: { preallocated_machine: 1, boot_time: 2m, daily_cycle_at: "00:00" } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs:
    - { executor: machine, duration: 5m, docker_layer_caching: true }
`;
    expect(tuningKeysWritten(parseScenario(text, 't.yaml', ctx))).toEqual(['topology.vm_service.boot_time', 'topology.vm_service.daily_cycle_at', 'workload.jobs[].docker_layer_caching']);
    expect(tuningKeysWritten(parseScenario(text.replace(', boot_time: 2m, daily_cycle_at: "00:00"', '').replace(', docker_layer_caching: true', ''), 't.yaml', ctx))).toEqual([]);
  });
});
