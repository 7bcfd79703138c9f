import { describe, expect, it } from 'vitest';
import { clientTags } from '../../sim/metrics/client-agent.ts';
import { METRICS } from '../../sim/metrics/metric-names.ts';
import { Simulation } from '../../sim/engine/simulation.ts';
import { NomadApiState } from '../nomad/api-state.ts';
import { SimulatedTaskRunner } from '../nomad/task-runner.ts';
import { ManualClock } from './clock.ts';
import { AVAILABLE_CPU, GAUGE_NAMESPACE, NomadClients, PENDING_JOBS } from './nomad-clients.ts';
import { Ec2State } from './state.ts';
import { cloudwatchOutput, publishFlush } from './telegraf-output.ts';

const cpu = (host: string, drain: boolean, status: string) => `${METRICS.clientCpuAvailable}#${clientTags(host, drain, status)}`;

describe("telegraf's [[outputs.cloudwatch]] for the stack's gauges", () => {
  it('publishes pending jobs as received and the free cpu of the clients ready and not draining, summed', () => {
    const flush = {
      [METRICS.jobsPending]: 4,
      [METRICS.jobsRunning]: 2,
      [cpu('ip-10-0-0-1', false, 'ready')]: 2500,
      [cpu('ip-10-0-0-2', true, 'ready')]: 7000,
      [cpu('ip-10-0-0-3', false, 'down')]: 9000,
      [cpu('ip-10-0-0-4', false, 'ready')]: 1500,
      [`${METRICS.clientPollFailure}#host:ip-10-0-0-3`]: 1,
    };
    expect(cloudwatchOutput(flush)).toEqual([
      { metricName: PENDING_JOBS, unit: 'Count', value: 4 },
      { metricName: AVAILABLE_CPU, unit: 'None', value: 4000 },
    ]);
  });

  it('has no datum for a gauge the flush did not carry, and 0 free cpu when no client is in service', () => {
    expect(cloudwatchOutput({})).toEqual([]);
    // nomad-metrics down: telegraf flushes on, with nothing of it.
    expect(cloudwatchOutput({ 'some.other.gauge': 3 })).toEqual([]);
    expect(cloudwatchOutput({ [cpu('ip-10-0-0-1', true, 'ready')]: 8000 })).toEqual([{ metricName: AVAILABLE_CPU, unit: 'None', value: 0 }]);
  });

  it("puts a flush's data into the endpoint's CloudWatch at the model's time, and nothing for an empty flush", () => {
    const clock = new ManualClock();
    const state = new Ec2State({ clock, seed: 1 });
    const t0 = clock.nowMs();
    publishFlush(state, { [METRICS.jobsPending]: 7 });
    clock.advance(60_000);
    expect(publishFlush(state, {})).toEqual([]);
    const id = { namespace: GAUGE_NAMESPACE, metricName: PENDING_JOBS, dimensions: [] };
    expect(state.cloudwatch.statistic(id, t0, t0 + 60_000, 'Maximum')).toBe(7);
    expect(state.cloudwatch.statistic(id, t0 + 60_000, t0 + 120_000, 'Maximum')).toBeUndefined();
  });
});

describe("NomadClients' gauges: direct, or left to telegraf", () => {
  const published = (gauges: 'direct' | 'telegraf') => {
    const clock = new ManualClock();
    const state = new Ec2State({ clock, seed: 1 });
    const nomad = new NomadApiState({ seed: 1, clients: [], clock: new Simulation(), runner: new SimulatedTaskRunner({ startDelayMs: 100 }), version: '0.9.3', reservedCpuMilli: 2000, reservedMemoryMb: 4096 });
    const image = [...state.ec2.images.values()][0]!.imageId;
    state.autoscaling.createLaunchConfiguration({ name: 'lc', imageId: image, instanceType: 'm5.2xlarge' });
    state.autoscaling.createAutoScalingGroup({ name: 'g', minSize: 0, maxSize: 2, desiredCapacity: 0, launchConfigurationName: 'lc', availabilityZones: [state.ec2.subnet.availabilityZone], tags: [] });
    const clients = new NomadClients(state, nomad, { groupName: 'g', client: { cpus: 4, memoryGb: 8 }, gauges });
    const t0 = state.nowMs();
    clock.advance(3 * 60_000);
    state.sync();
    clients.dispose();
    return state.cloudwatch.list({ namespace: GAUGE_NAMESPACE, dimensions: [] }).filter((id) => state.cloudwatch.statistic(id, t0, state.nowMs(), 'SampleCount') !== undefined).map((id) => id.metricName).sort();
  };

  it('direct (the EC2 endpoint alone) puts pending jobs and available cpu every minute; telegraf puts neither', () => {
    expect(published('direct')).toEqual([AVAILABLE_CPU, PENDING_JOBS].sort());
    expect(published('telegraf')).toEqual([]);
  });
});
