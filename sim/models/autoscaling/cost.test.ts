import { describe, expect, it } from 'vitest';
import { costPerDay, TimeIntegral } from './cost.ts';
import { priceForSize } from './instance-types.ts';
import { Twin } from '../../twin.ts';
import { buildReport } from '../../report/build-report.ts';
import { parseScenario, ScenarioError } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';

const ctx = fixtureContext();
const profile = loadProfile('2.19.6');
const HOUR = 3_600_000;

function report(yaml: string) {
  const twin = new Twin(parseScenario(yaml, 'cost.yaml', ctx), profile);
  twin.run();
  return { report: buildReport(twin), endMs: twin.sim.nowMs };
}

/** An idle fleet: the arrival rate makes a build in the 2 h improbable (none with this seed). */
const idle = (clients: string, extra = ''): string => `name: idle
seed: 1
duration: 2h
topology: { nomad_clients: ${clients} }
workload:
  arrivals: { kind: poisson, rate_per_hour: 0.001 }
  jobs: [{ duration: 5m }]
${extra}`;

describe('costPerDay', () => {
  it('prices machine-hours, vm-service instance-hours and waiting, scaled to a day (hand-computed)', () => {
    // 12 h run: 10 clients at $0.40 all along = 48 $ → 96 $/day; 3 VMs for 2 h at $0.096 = 0.576 $ → 1.152 $/day;
    // 30 min of queue time at $200/h = 100 $ → 200 $/day.
    const c = costPerDay({ spanMs: 12 * HOUR, clientMs: 10 * 12 * HOUR, clientHourUsd: 0.4, vmMs: 3 * 2 * HOUR, vmHourUsd: 0.096, queueMs: HOUR / 2, developerHourUsd: 200 });
    expect(c).toEqual({ total_per_day: 297.15, machines_per_day: 96, vm_service_per_day: 1.15, waiting_per_day: 200 });
  });

  it('refuses an empty span', () => {
    expect(() => costPerDay({ spanMs: 0, clientMs: 0, clientHourUsd: 1, vmMs: 0, vmHourUsd: 1, queueMs: 0, developerHourUsd: 1 })).toThrow(/span must be positive/);
  });
});

describe('TimeIntegral', () => {
  it('integrates a step function and refuses time going backwards', () => {
    const t = new TimeIntegral();
    t.set(0, 2);
    t.set(1000, 5);
    expect(t.valueAt(3000)).toBe(2 * 1000 + 5 * 2000);
    expect(() => t.set(500, 1)).toThrow(/backwards/);
  });
});

describe('instance types and the report cost', () => {
  it('prices clients by instance type: 10 × m5.2xlarge at $0.384 = $92.16 a day, nothing waiting', () => {
    const { report: r } = report(idle('{ count: 10, instance_type: m5.2xlarge }'));
    expect(r.builds.triggered).toBe(0);
    expect(r.capacity.usable_cpu_milli_per_client).toBe(6000);
    expect(r.cost).toEqual({ total_per_day: 92.16, machines_per_day: 92.16, vm_service_per_day: 0, waiting_per_day: 0 });
  });

  it('takes hour_usd over the list price, and the cheapest listed type of the size otherwise', () => {
    expect(report(idle('{ count: 4, instance_type: c5.4xlarge, hour_usd: 0.5 }')).report.cost!.machines_per_day).toBe(48);
    // 16 vCPU / 32 GB is c5.4xlarge ($0.68): 2 × 24 × 0.68 = 32.64.
    expect(report(idle('{ count: 2, cpus: 16, memory_gb: 32 }')).report.cost!.machines_per_day).toBe(32.64);
    expect(priceForSize(12, 48)).toEqual({ hourUsd: 0.576, source: "12 vCPU at m5.2xlarge's price per vCPU" });
  });

  it('prices preallocated vm-service instances held all along', () => {
    const yaml = idle('{ count: 1 }', 'cost: { vm_instance_hour_usd: 0.1 }').replace('nomad_clients: { count: 1 }', 'nomad_clients: { count: 1 }, vm_service: { preallocated_machine: 3 }');
    // 3 instances × 24 h × $0.10 = $7.20 a day.
    expect(report(yaml).report.cost!.vm_service_per_day).toBe(7.2);
  });

  it('follows the fleet size: instances are billed from launch, replacements and scale-ups alike', () => {
    // A terminated client is replaced at once (billed while it boots): the fleet's instance count stays 10.
    const replaced = report(idle('{ count: 10, instance_type: m4.2xlarge }', 'faults: [{ at: 1h, action: terminate_instance, target: nomad_client, count: 2 }]'));
    expect(replaced.report.cost!.machines_per_day).toBe(96);
    // 2 clients, 4 more launched at 01:00 by a scheduled action: 2 × end + 4 × (end − 1 h) instance-ms.
    const scaled = report(idle('{ count: 2, instance_type: m4.2xlarge }', 'autoscaling: { min: 2, max: 6, policies: [{ kind: scheduled, cron: "0 1 * * *", desired: 6 }] }'));
    const end = scaled.endMs;
    const expected = ((2 * end + 4 * (end - HOUR)) / HOUR) * 0.4 * ((24 * HOUR) / end);
    expect(scaled.report.cost!.machines_per_day).toBe(Math.round(expected * 100) / 100);
    expect(scaled.report.autoscaling!.launched).toBe(4);
  });

  it('prices the waiting linearly in developer_hour_usd', () => {
    const busy = (price: number) => `name: busy
seed: 2
duration: 1h
topology: { nomad_clients: { count: 1 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs: [{ duration: 10m }]
cost: { developer_hour_usd: ${price} }
`;
    const a = report(busy(100)).report.cost!.waiting_per_day;
    const b = report(busy(300)).report.cost!.waiting_per_day;
    expect(a).toBeGreaterThan(0);
    expect(Math.abs(b - 3 * a)).toBeLessThanOrEqual(0.02);
  });

  it('refuses an instance type with cpus, an unknown type and one too small for a client', () => {
    const refuse = (clients: string) => {
      try {
        parseScenario(idle(clients), 'cost.yaml', ctx);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refuse('{ count: 1, instance_type: m5.2xlarge, cpus: 8 }')).toMatch(/either instance_type or cpus/);
    expect(refuse('{ count: 1, instance_type: m9.huge }')).toMatch(/instance_type/);
    expect(refuse('{ count: 1, instance_type: m5.large }')).toMatch(/too small for a Nomad client/);
  });
});
